package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/gam-native/gam-native/data"
	"github.com/gam-native/gam-native/review"
)

// TestRunResumeAppliesReview (issue 22, item 3): decisions made after a run finished reach its
// dataset with `run --resume` (before: it added none): accepted/ then holds the accepted image
// in its class's folder, with provenance.review, and the rejected one not at all.
func TestRunResumeAppliesReview(t *testing.T) {
	cliEngine(t).Close()
	tmp := t.TempDir()
	job := writeFile(t, filepath.Join(tmp, "job.toml"), strings.NewReplacer("epochs = 8", "epochs = 1",
		"max_attempts = 10\n", "max_attempts = 10\nreview_band = 0.3\n").Replace(round0Job))
	dir := filepath.Join(tmp, "run")
	if b, err := cliCmd("run", "--config", job, "--dir", dir, "-q").CombinedOutput(); err != nil {
		t.Fatalf("run: %v\n%s", err, b)
	}
	pending, err := review.Pending(dir)
	if err != nil || len(pending) < 2 {
		t.Fatalf("%d images for review (%v): want 2 at least", len(pending), err)
	}
	before, err := data.ReadManifestIfAny(filepath.Join(dir, "accepted", data.ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	if err := review.AppendDecisions(dir,
		review.Decision{Path: pending[0].Path, Decision: review.Accept, Reviewer: "ann", Time: "2026-12-04T02:00:00Z"},
		review.Decision{Path: pending[1].Path, Decision: review.Reject, Reviewer: "ann", Time: "2026-12-04T02:00:00Z"}); err != nil {
		t.Fatal(err)
	}
	b, err := cliCmd("run", "--resume", dir, "-q").CombinedOutput()
	if err != nil || !strings.Contains(string(b), "review: 1 accepted, 0 relabeled") {
		t.Fatalf("run --resume of the finished run: %v\n%s", err, b)
	}
	after, err := data.ReadManifestRecords(filepath.Join(dir, "accepted", data.ManifestName))
	if err != nil || len(after) != len(before)+1 {
		t.Fatalf("accepted/ has %d records after the resume (%v), %d before: want one more", len(after), err, len(before))
	}
	r := after[len(after)-1]
	if r.Provenance == nil || r.Provenance.Review != review.ReviewAccepted || r.Class != pending[0].Class ||
		r.Path != data.ClassFolder(r.Class)+"/"+filepath.Base(pending[0].Path) {
		t.Fatalf("the reviewed record: %+v", r)
	}
}
