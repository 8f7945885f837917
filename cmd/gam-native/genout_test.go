package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGenerateOutChecks (issue 22, item 4): what generate may do with an existing --out, decided
// before any file is touched, and where its review queue goes.
func TestGenerateOutChecks(t *testing.T) {
	dir := t.TempDir()
	rec := genRecord{Format: genRecordFormat, Inputs: map[string]string{"plan": "p1", "seed": "5"}}
	withRecord := filepath.Join(dir, "gen")
	os.MkdirAll(withRecord, 0o755)
	b, _ := json.Marshal(rec)
	os.WriteFile(filepath.Join(withRecord, genRecordName), b, 0o644)
	other := filepath.Join(dir, "other")
	os.MkdirAll(other, 0o755)
	os.WriteFile(filepath.Join(other, "notes.txt"), nil, 0o644)
	empty := filepath.Join(dir, "empty")
	os.MkdirAll(empty, 0o755)
	os.WriteFile(filepath.Join(empty, ".lock"), nil, 0o644)
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o644)
	seed6 := genRecord{Format: genRecordFormat, Inputs: map[string]string{"plan": "p1", "seed": "6"}}
	for _, c := range []struct {
		desc    string
		out     string
		want    genRecord
		resumes bool
		err     string
	}{
		{"a new folder", filepath.Join(dir, "new"), rec, false, ""},
		{"an empty folder (but for the lock)", empty, rec, false, ""},
		{"the same inputs: resumed", withRecord, rec, true, ""},
		{"another seed: refused, naming it", withRecord, seed6, false, "its seed differ"},
		{"a folder of other files", other, rec, false, "not empty and holds no generate.json"},
		{"a file", file, rec, false, "not a folder"},
	} {
		t.Run(c.desc, func(t *testing.T) {
			old, err := checkGenerateOut(c.out, c.want)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), c.out) {
					t.Fatalf("err = %v, want one naming %s and saying %q", err, c.out, c.err)
				}
				return
			}
			if err != nil || (old != nil) != c.resumes {
				t.Fatalf("old %v, err %v; want a resume: %v", old, err, c.resumes)
			}
		})
	}
	wd, _ := os.Getwd()
	for _, c := range []struct {
		out, root string
		outside   bool
	}{
		{"gen", defaultReviewRoot("gen"), true},
		{".", defaultReviewRoot("."), true},
		{"gen/", defaultReviewRoot("gen/"), true},
		{"gen", "gen/review", false},
		{"gen", "gen", false},
		{".", "..review", false}, // a folder named "..review" inside "."
	} {
		if got := outside(c.out, c.root); got != c.outside {
			t.Errorf("outside(%q, %q) = %v, want %v", c.out, c.root, got, c.outside)
		}
	}
	if got, want := defaultReviewRoot("."), wd+".review"; got != want {
		t.Errorf("defaultReviewRoot(\".\") = %q, want %q", got, want)
	}
}

// TestReviewApplyRefusesAQueueFolder: `review apply OUT.review` (a queue, not a dataset) is refused
// rather than making a dataset inside the queue.
func TestReviewApplyRefusesAQueueFolder(t *testing.T) {
	q := t.TempDir()
	os.WriteFile(filepath.Join(q, "classes.json"), []byte(`["a", "b"]`), 0o644)
	_, err := capture(t, "review", "apply", q)
	if err == nil || !strings.Contains(err.Error(), "is a review queue") {
		t.Fatalf("review apply QUEUE: %v", err)
	}
	if _, err := os.Stat(filepath.Join(q, "accepted")); !os.IsNotExist(err) {
		t.Fatal("apply made a dataset inside the queue")
	}
}
