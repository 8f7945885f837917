package loop

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/gam-native/gam-native/bindings"
	"github.com/gam-native/gam-native/data"
	"github.com/gam-native/gam-native/progress"
)

// TestMain lets the test binary act as a run process that the resume test can SIGKILL.
func TestMain(m *testing.M) {
	if dir := os.Getenv("GAM_LOOP_CHILD"); dir != "" {
		os.Exit(childRun(dir, os.Getenv("GAM_LOOP_CHILD_JOB")))
	}
	os.Exit(m.Run())
}

// childInterrupted is childRun's exit status when a SIGTERM ended the run.
const childInterrupted = 7

func childRun(dir, jobPath string) int {
	progress.Quiet = os.Getenv("GAM_LOOP_CHILD_LOG") == ""
	e, err := bindings.Open(os.Getenv("GAM_ENGINE"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	var r *Runner
	if _, err := os.Stat(filepath.Join(dir, StateFile)); err == nil {
		r, err = Resume(e, dir)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 3
		}
	} else {
		job, err := LoadJob(jobPath)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 4
		}
		if r, err = Prepare(e, job, dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 5
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	if err := r.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		if errors.Is(err, context.Canceled) {
			return childInterrupted
		}
		return 6
	}
	return 0
}

func startChild(t *testing.T, dir, job string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "GAM_LOOP_CHILD="+dir, "GAM_LOOP_CHILD_JOB="+job)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// TestKilledRunResumesWithoutLosingImages SIGKILLs a run at random moments, resumes it each time,
// and checks that every image accepted before a kill is in the final manifest exactly once.
func TestKilledRunResumesWithoutLosingImages(t *testing.T) {
	testEngine(t)
	job := writeJob(t, tinyJob)
	dir := filepath.Join(t.TempDir(), "run")
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	seen := map[string]bool{}
	kills := 0
	for attempt := 0; attempt < 6; attempt++ {
		cmd := startChild(t, dir, job)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		wait := time.Duration(3+rng.IntN(12)) * time.Second
		if kills >= 2 {
			wait = 10 * time.Minute // enough kills: let it finish
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("run failed: %v", err)
			}
			attempt = 99
		case <-time.After(wait):
			_ = cmd.Process.Signal(syscall.SIGKILL)
			<-done
			kills++
			t.Logf("killed after %v", wait)
		}
		if recs, err := data.ReadManifestRecords(filepath.Join(dir, "accepted", "manifest.jsonl")); err == nil {
			for _, r := range recs {
				seen[r.Path] = true
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "report.json")); err != nil {
		t.Fatalf("the resumed run did not finish: %v", err)
	}
	recs, err := data.ReadManifestRecords(filepath.Join(dir, "accepted", "manifest.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	// The images of rolled-back targets moved out of accepted/, with their records.
	rolled, err := data.ReadManifestIfAny(filepath.Join(dir, rolledBackDir, "manifest.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	recs = append(recs, rolled...)
	count := map[string]int{}
	for _, r := range recs {
		count[r.Path]++
	}
	for p := range seen {
		if count[p] != 1 {
			t.Fatalf("image %s accepted before a kill appears %d times in the final manifest", p, count[p])
		}
	}
	for p, n := range count {
		if n != 1 {
			t.Fatalf("image %s appears %d times", p, n)
		}
	}
	t.Logf("%d kills, %d images seen before kills, %d in the final manifest", kills, len(seen), len(recs))
	checkRunFolder(t, dir, 2)
}
