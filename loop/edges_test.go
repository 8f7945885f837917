package loop

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gam-native/gam-native/generate"
	"github.com/gam-native/gam-native/internal/dirlock"
	"github.com/gam-native/gam-native/plan"
)

// TestReportPrintsValuesForPeople (issue 22, item 6): report.md's sample-grid lines say
// "rejected label 45, dup 3", not Go's map[dup:3 label:45]; the rollback log line says
// "coat -0.70", not [{coat -0.7000000000000001}].
func TestReportPrintsValuesForPeople(t *testing.T) {
	rep := &Report{Classes: []string{"coat"}, Rounds: []RoundEntry{{}, {Round: 1, Generation: &generate.Result{
		Targets: []generate.TargetResult{{ID: "coat", Quota: 50, Accepted: 2, Rejected: map[string]int{"label": 45, "dup": 3}}}}}}}
	md := markdown(rep)
	if strings.Contains(md, "map[") || !strings.Contains(md, "rejected label 45, dup 3") {
		t.Fatalf("report.md's grid line:\n%s", md)
	}
	if got := harmsText([]plan.Harm{{Class: "coat", Delta: -0.7000000000000001}, {Class: "shirt", Delta: 0.05}}); got != "coat -0.70, shirt +0.05" {
		t.Fatalf("harmsText = %q", got)
	}
}

// TestRoundsZeroIsSetUpOnly (issue 22, item 5): loop.rounds = 0 is accepted and means the
// set-up only: models/generator.pt and models/screen.pt, no target trained.
func TestRoundsZeroIsSetUpOnly(t *testing.T) {
	body := strings.Replace(tinyJob, "[loop]\nrounds = 2", "[loop]\nrounds = 0", 1)
	job, err := ParseJob("rounds0.toml", []byte(body))
	if err != nil {
		t.Fatalf("loop.rounds = 0 refused: %v", err)
	}
	if _, err := ParseJob("neg.toml", []byte(strings.Replace(tinyJob, "rounds = 2", "rounds = -1", 1))); err == nil {
		t.Fatal("loop.rounds = -1 accepted")
	}
	e := testEngine(t)
	dir := filepath.Join(t.TempDir(), "run")
	r, err := Prepare(e, job, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"models/generator.pt", "models/screen.pt"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "models", "target_r0.pt")); !os.IsNotExist(err) {
		t.Fatalf("a set-up-only run trained the target: %v", err)
	}
}

// TestTrainModelsWritesGeneratorAndScreen (issue 22, item 5): TrainModels, behind
// `gam-native train-models`, writes DIR/generator.pt and DIR/screen.pt, trained (they differ
// from the zoo's files), and nothing of a run.
func TestTrainModelsWritesGeneratorAndScreen(t *testing.T) {
	e := testEngine(t)
	job, err := ParseJob("tiny.toml", []byte(tinyJob))
	if err != nil {
		t.Fatal(err)
	}
	job.GeneratorTraining.Epochs, job.ScreenTraining.Epochs = 1, 1
	dir := filepath.Join(t.TempDir(), "models")
	if err := TrainModels(context.Background(), e, job, dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"generator.pt", "screen.pt", "setup/generator.json", "setup/screen.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"state.json", "job.toml", "models"} {
		if _, err := os.Stat(filepath.Join(dir, f)); !os.IsNotExist(err) {
			t.Fatalf("train-models wrote %s", f)
		}
	}
}

// TestRunFolderIsLocked (issue 22, item 7): a run folder is held by its Runner; a second
// Prepare or Resume on it is refused with the holder's pid, and the first runs on untouched.
func TestRunFolderIsLocked(t *testing.T) {
	e := testEngine(t)
	job, err := ParseJob("tiny.toml", []byte(strings.Replace(tinyJob, "[loop]\nrounds = 2", "[loop]\nrounds = 0", 1)))
	if err != nil {
		t.Fatal(err)
	}
	job.GeneratorTraining.Epochs, job.ScreenTraining.Epochs = 1, 1
	dir := filepath.Join(t.TempDir(), "run")
	r, err := Prepare(e, job, dir)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, StateFile))
	var he *dirlock.HeldError
	if _, err := Resume(e, dir); !errors.As(err, &he) || he.PID != os.Getpid() {
		t.Fatalf("Resume of a held folder: %v; want the lock error naming pid %d", err, os.Getpid())
	}
	if _, err := Prepare(e, job, dir); err == nil {
		t.Fatal("Prepare of a held folder succeeded")
	}
	if after, _ := os.ReadFile(filepath.Join(dir, StateFile)); string(after) != string(before) {
		t.Fatal("the refused second runner changed state.json")
	}
	if err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	r.Close()
	r2, err := Resume(e, dir)
	if err != nil {
		t.Fatalf("Resume after Close: %v", err)
	}
	r2.Close()
	if _, err := os.Stat(filepath.Join(dir, dirlock.Name)); !os.IsNotExist(err) {
		t.Fatalf("the lock file is left after Close: %v", err)
	}
}
