package review

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// docJSON is the JSON blocks of docs/review.md that contain want.
func docJSON(want string) [][]byte {
	var out [][]byte
	b, _ := os.ReadFile("../docs/review.md")
	for _, m := range regexp.MustCompile("(?s)```json\n(.*?)```").FindAllSubmatch(b, -1) {
		if bytes.Contains(m[1], []byte(want)) {
			out = append(out, m[1])
		}
	}
	return out
}

func decisionSeeds(f *testing.F) [][]byte {
	seeds := docJSON(`"decision"`)
	for _, d := range []Decision{
		{Path: "images/c4/r1_t0_000004.png", Decision: Accept, Label: 4, Class: "coat", Reviewer: "ana", Time: "2026-11-26T10:00:00Z"},
		{Path: "images/c1/r1_t1_000001.png", Decision: Relabel, Label: 4, Class: "coat", Reviewer: "label-studio:user-7", Time: "2026-11-26T10:00:01Z"},
		{Path: "images/c2/r1_t2_000002.png", Decision: Reject, Label: 2, Class: "pullover", Reviewer: "bo", Time: "2026-11-26T10:00:02Z"},
	} {
		b, err := json.Marshal(d)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	return append(seeds, []byte(`{"path":"../x.png","decision":"accept","label":1,"class":"trouser","reviewer":"a","time":"2026-11-26T10:00:00Z"}`),
		[]byte(`{"path":"images/a.png","decision":"accept"} {}`))
}

// FuzzParseDecision (issue 22, item 7): any line of decisions.jsonl is a valid decision or an
// error, never a panic; a decision read is the same decision after being written again.
func FuzzParseDecision(f *testing.F) {
	for _, s := range decisionSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		d, err := parseDecision(line)
		if err != nil {
			return
		}
		if err := d.Validate(); err != nil {
			t.Fatalf("parseDecision accepted an invalid decision: %v", err)
		}
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		again, err := parseDecision(b)
		if err != nil || again != d {
			t.Fatalf("a decision written and read again: %+v, %v; want %+v", again, err, d)
		}
	})
}

// FuzzResolvedDecisions (issue 22, item 7): any decisions.jsonl beside a review queue resolves
// or is an error, never a panic; what it accepts are queue images with a class of the run.
func FuzzResolvedDecisions(f *testing.F) {
	var lines [][]byte
	for _, s := range decisionSeeds(f) {
		f.Add(append(s, '\n'))
		lines = append(lines, s)
	}
	f.Add(append(bytes.Join(lines, []byte("\n")), '\n'))
	f.Add([]byte(`{"path":"images/c4/r1_t1_000004.png","decision":"relabel","label":99,"class":"x","reviewer":"a","time":"2026-11-26T10:00:00Z"}` + "\n"))
	run := makeRun(f, 6)
	queue, err := readQueue(run)
	if err != nil {
		f.Fatal(err)
	}
	inQueue := map[string]bool{}
	for _, r := range queue {
		inQueue[r.Path] = true
		f.Add([]byte(`{"path":"` + r.Path + `","decision":"accept","label":` + string(rune('0'+r.Label)) + `,"class":"` + r.Class + `","reviewer":"a","time":"2026-11-26T10:00:00Z"}` + "\n"))
	}
	path := filepath.Join(run, ReviewDir, DecisionsName)
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		acc, _, err := Resolved(run, nil)
		if err != nil {
			return
		}
		for _, r := range acc {
			if r.Label < 0 || int(r.Label) >= len(testClasses) || r.Class != testClasses[r.Label] {
				t.Fatalf("accepted %s with label %d class %q: not a class of the run", r.Path, r.Label, r.Class)
			}
		}
	})
}

// lsExportSeeds are Label Studio exports of run's queue: every kind of annotation the import
// knows (accept, relabel, reject, skipped, none), and docs/review.md's examples.
func lsExportSeeds(f *testing.F, run string) [][]byte {
	tasksPath := filepath.Join(f.TempDir(), "tasks.json")
	if _, err := ExportLS(run, tasksPath, "http://ls.example/data/"); err != nil {
		f.Fatal(err)
	}
	b, err := os.ReadFile(tasksPath)
	if err != nil {
		f.Fatal(err)
	}
	seeds := append(docJSON(`"annotations"`), b, []byte(`[]`), []byte(`[{"data": {"image": "x"}}]`))
	var tasks []map[string]any
	if err := json.Unmarshal(b, &tasks); err != nil {
		f.Fatal(err)
	}
	for i, task := range tasks {
		switch i % 5 {
		case 0:
			lsAnnotate(task, i+1, task["data"].(map[string]any)["intended_class"].(string), false)
		case 1:
			lsAnnotate(task, i+1, "coat", false)
		case 2:
			lsAnnotate(task, i+1, LSRejectName, false)
		case 3:
			lsAnnotate(task, i+1, "", true)
		}
	}
	annotated, err := json.Marshal(tasks)
	if err != nil {
		f.Fatal(err)
	}
	return append(seeds, annotated)
}

// FuzzImportLS (issue 22, item 7): any file given to `review import-ls` is imported or refused
// with an error, never a panic; an import accounts for every task, and the decisions it
// appends read back.
func FuzzImportLS(f *testing.F) {
	run := makeRun(f, 6)
	for _, s := range lsExportSeeds(f, run) {
		f.Add(s)
	}
	export := filepath.Join(f.TempDir(), "export.json")
	decisions := filepath.Join(run, ReviewDir, DecisionsName)
	f.Fuzz(func(t *testing.T, b []byte) {
		os.Remove(decisions) // each input is imported into a run without decisions
		if err := os.WriteFile(export, b, 0o644); err != nil {
			t.Fatal(err)
		}
		res, err := ImportLS(run, export, "")
		if err != nil {
			return
		}
		var tasks []json.RawMessage
		if err := json.Unmarshal(b, &tasks); err != nil {
			t.Fatalf("imported a file that is not an array: %v", err)
		}
		if n := res.Accepted + res.Rejected + res.Relabeled + res.Unreviewed + res.Unchanged; n != len(tasks) {
			t.Fatalf("import accounts for %d of %d tasks: %+v", n, len(tasks), res)
		}
		ds, err := LoadDecisions(run)
		if err != nil {
			t.Fatalf("the decisions an import wrote do not read back: %v", err)
		}
		for _, d := range ds {
			if int(d.Label) >= len(testClasses) || d.Class != testClasses[d.Label] {
				t.Fatalf("import wrote %+v: not a class of the run", d)
			}
		}
	})
}
