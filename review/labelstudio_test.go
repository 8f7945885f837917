package review

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// lsAnnotate edits an exported task as Label Studio's export would show
// it after a reviewer's work: an id, and an annotation with a choices
// result (or a skip).
func lsAnnotate(task map[string]any, id int, choice string, cancelled bool) {
	task["id"] = id
	result := []any{}
	if choice != "" {
		result = append(result, map[string]any{
			"id": "r" + choice, "from_name": LSFromName, "to_name": LSToName, "type": "choices", "origin": "manual",
			"value": map[string]any{"choices": []string{choice}},
		})
	}
	task["annotations"] = []any{map[string]any{
		"id": 1000 + id, "completed_by": 7, "result": result, "was_cancelled": cancelled,
		"ground_truth": false, "created_at": "2025-03-09T21:52:49.513742Z", "updated_at": "2025-03-09T22:16:08.746926Z",
		"lead_time": 4.2, "task": id, "project": 3,
	}}
	task["total_annotations"] = 1
	task["project"] = 3
}

func TestLabelStudioRoundTrip(t *testing.T) {
	dir := makeRun(t, 6)
	tasksPath := filepath.Join(t.TempDir(), "tasks.json")
	n, err := ExportLS(dir, tasksPath, "http://ls.example/data/")
	must(t, err)
	if n != 6 {
		t.Fatalf("exported %d tasks, want 6", n)
	}
	var tasks []map[string]any
	b, _ := os.ReadFile(tasksPath)
	must(t, json.Unmarshal(b, &tasks))

	type edit struct {
		choice    string
		cancelled bool
	}
	// Keyed by the intended class: each test class appears once in 6 images.
	edits := map[string]edit{
		testClasses[0]: {choice: testClasses[0]}, // accept
		testClasses[1]: {choice: "coat"},         // relabel
		testClasses[2]: {choice: LSRejectName},   // reject by choice
		testClasses[3]: {cancelled: true},        // skipped: reject
		testClasses[4]: {choice: testClasses[4]}, // accept
		// testClasses[5]: no annotation, stays pending
	}
	want := map[string]Decision{}
	for i, task := range tasks {
		d := task["data"].(map[string]any)
		path, intended := d["gam_path"].(string), d["intended_class"].(string)
		if !strings.HasPrefix(d["image"].(string), "http://ls.example/data/images/") {
			t.Errorf("task %d: image URL %q", i, d["image"])
		}
		pred := task["predictions"].([]any)[0].(map[string]any)
		res := pred["result"].([]any)[0].(map[string]any)
		if got := res["value"].(map[string]any)["choices"].([]any)[0]; got != intended || res["type"] != "choices" {
			t.Errorf("task %d: prediction %v, want the intended class %q", i, res, intended)
		}
		if _, ok := pred["score"].(float64); !ok {
			t.Errorf("task %d: prediction has no score", i)
		}
		e, ok := edits[intended]
		if !ok {
			continue
		}
		lsAnnotate(task, i+1, e.choice, e.cancelled)
		switch {
		case e.cancelled || e.choice == LSRejectName:
			want[path] = Decision{Decision: Reject, Class: intended}
		case e.choice == intended:
			want[path] = Decision{Decision: Accept, Class: intended}
		default:
			want[path] = Decision{Decision: Relabel, Class: e.choice}
		}
	}
	exportPath := filepath.Join(t.TempDir(), "export.json")
	b, _ = json.MarshalIndent(tasks, "", " ")
	must(t, os.WriteFile(exportPath, b, 0o644))

	res, err := ImportLS(dir, exportPath, "")
	must(t, err)
	again, err := ImportLS(dir, exportPath, "")
	must(t, err)
	got, err := LoadDecisions(dir)
	must(t, err)

	tests := []struct {
		desc string
		ok   bool
	}{
		{"import counts two accepts, two rejects, one relabel, one unreviewed", res == ImportResult{Accepted: 2, Rejected: 2, Relabeled: 1, Unreviewed: 1}},
		{"a second import of the same export writes nothing", again.Unchanged == 5 && again.Accepted+again.Rejected+again.Relabeled == 0},
		{"five decisions in the log", len(got) == 5},
	}
	for p, w := range want {
		d := got[p]
		tests = append(tests, struct {
			desc string
			ok   bool
		}{"decision for " + p + " is " + w.Decision + " " + w.Class,
			d.Decision == w.Decision && d.Class == w.Class && d.Reviewer == "label-studio:user-7" && d.Time == "2025-03-09T22:16:08Z"})
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			if !tc.ok {
				t.Fatalf("import %+v, again %+v, decisions %+v", res, again, got)
			}
		})
	}
}

func TestImportLSRefusesBadExports(t *testing.T) {
	dir := makeRun(t, 2)
	p := queueRecord(0).Path
	ann := `"annotations":[{"result":[{"from_name":"choice","to_name":"image","type":"choices","value":{"choices":["%s"]}}],"was_cancelled":false}]`
	tests := []struct{ desc, export, wantErr string }{
		{"not an array", `{"data":{}}`, "array of tasks"},
		{"task without gam_path", `[{"data":{"image":"x"},` + strings.Replace(ann, "%s", "coat", 1) + `}]`, "gam_path"},
		{"image not in the queue", `[{"data":{"image":"x","gam_path":"images/other.png"},` + strings.Replace(ann, "%s", "coat", 1) + `}]`, "not in the review queue"},
		{"choice that is no class", `[{"data":{"image":"x","gam_path":"` + p + `"},` + strings.Replace(ann, "%s", "hat", 1) + `}]`, "neither a class"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "export.json")
			must(t, os.WriteFile(f, []byte(tc.export), 0o644))
			_, err := ImportLS(dir, f, "ann")
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
			}
			if ds, _ := LoadDecisions(dir); len(ds) != 0 {
				t.Fatalf("a refused import wrote %d decisions", len(ds))
			}
		})
	}
}

func TestLabelConfig(t *testing.T) {
	cfg := LabelConfig(testClasses)
	for _, want := range []string{`name="` + LSFromName + `"`, `toName="` + LSToName + `"`, `value="$image"`, `<Choice value="reject"/>`, `<Choice value="ankle boot"/>`} {
		if !strings.Contains(cfg, want) {
			t.Errorf("config lacks %s:\n%s", want, cfg)
		}
	}
}
