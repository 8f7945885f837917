package review

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadDecisions(t *testing.T) {
	line := func(path, dec string) string {
		return `{"path":"` + path + `","decision":"` + dec + `","label":1,"class":"trouser","reviewer":"ann","time":"2025-01-02T03:04:05Z"}` + "\n"
	}
	tests := []struct {
		desc    string
		content string
		want    map[string]string
		wantErr string
	}{
		{"missing file is no decisions", "", map[string]string{}, ""},
		{"latest line per path wins", line("a.png", Accept) + line("b.png", Reject) + line("a.png", Reject), map[string]string{"a.png": Reject, "b.png": Reject}, ""},
		{"torn last line is ignored", line("a.png", Accept) + `{"path":"b.png","deci`, map[string]string{"a.png": Accept}, ""},
		{"complete last line without newline is ignored (never acknowledged)", line("a.png", Accept) + strings.TrimSuffix(line("b.png", Accept), "\n"), map[string]string{"a.png": Accept}, ""},
		{"corrupt middle line is an error", line("a.png", Accept) + "garbage\n" + line("b.png", Accept), nil, ":2:"},
		{"unknown decision is an error", line("a.png", "maybe"), nil, "decision"},
		{"escaping path is an error", line("../a.png", Accept), nil, "inside review/"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			dir := t.TempDir()
			must(t, os.MkdirAll(filepath.Join(dir, ReviewDir), 0o755))
			if tc.content != "" {
				must(t, os.WriteFile(filepath.Join(dir, ReviewDir, DecisionsName), []byte(tc.content), 0o644))
			}
			ds, err := LoadDecisions(dir)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			must(t, err)
			if len(ds) != len(tc.want) {
				t.Fatalf("got %d decisions, want %d: %+v", len(ds), len(tc.want), ds)
			}
			for p, d := range tc.want {
				if ds[p].Decision != d {
					t.Errorf("%s: %q, want %q", p, ds[p].Decision, d)
				}
			}
		})
	}
}

func TestAppendCutsTornTail(t *testing.T) {
	dir := makeRun(t, 2)
	p := filepath.Join(dir, ReviewDir, DecisionsName)
	must(t, os.WriteFile(p, []byte(`{"path":"x.png","decis`), 0o644))
	d := Decision{Path: queueRecord(0).Path, Decision: Accept, Label: 0, Class: testClasses[0], Reviewer: "ann", Time: now()}
	must(t, AppendDecisions(dir, d))
	b, _ := os.ReadFile(p)
	if strings.Contains(string(b), "x.png") || strings.Count(string(b), "\n") != 1 {
		t.Fatalf("torn tail not cut: %q", b)
	}
}

func TestPendingAndResolved(t *testing.T) {
	dir := makeRun(t, 6)
	p := func(i int) string { return queueRecord(i).Path }
	ds := []Decision{
		{Path: p(0), Decision: Accept, Label: 0, Class: testClasses[0]},
		{Path: p(1), Decision: Reject, Label: 1, Class: testClasses[1]},
		{Path: p(2), Decision: Relabel, Label: 4, Class: "coat"},
		{Path: p(3), Decision: Accept, Label: 3, Class: testClasses[3]},
		{Path: p(3), Decision: Relabel, Label: 6, Class: "shirt"}, // changed mind
		{Path: "images/gone.png", Decision: Accept, Label: 0, Class: testClasses[0]},
	}
	for i := range ds {
		ds[i].Reviewer, ds[i].Time = "ann", now()
	}
	must(t, AppendDecisions(dir, ds...))

	pending, err := Pending(dir)
	must(t, err)
	if len(pending) != 2 {
		t.Fatalf("pending = %d records, want 2", len(pending))
	}
	if pending[0].Provenance.ScreenProb > pending[1].Provenance.ScreenProb {
		t.Errorf("pending not most-uncertain first: %v then %v", pending[0].Provenance.ScreenProb, pending[1].Provenance.ScreenProb)
	}
	acc, rej, err := Resolved(dir, nil)
	must(t, err)
	want := map[string]struct {
		label  int64
		class  string
		review string
	}{
		p(0): {0, testClasses[0], ReviewAccepted},
		p(2): {4, "coat", ReviewRelabeled},
		p(3): {6, "shirt", ReviewRelabeled},
	}
	tests := []struct {
		desc string
		ok   bool
	}{
		{"three accepted or relabeled records", len(acc) == 3},
		{"one rejected path", len(rej) == 1 && rej[0] == p(1)},
	}
	for _, r := range acc {
		w, found := want[r.Path]
		tests = append(tests, struct {
			desc string
			ok   bool
		}{"record " + r.Path + " carries its final class and review", found && r.Label == w.label && r.Class == w.class && r.Provenance.Review == w.review && r.Validate() == nil})
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			if !tc.ok {
				t.Fatalf("accepted %+v rejected %v", acc, rej)
			}
		})
	}
}
