package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// round0Job trains the target long enough (8 epochs of ~3,000 images) that a signal lands in the
// middle of r0/train.
const round0Job = `name = "sigterm"
seed = 4
device = "cpu"
[data]
source = "fashion-mnist"
scenario = "long-tail"
train_limit = 3000
test_limit = 300
[data.scenario_params]
val_per_class = 20
imbalance_factor = 10
[generator_training]
epochs = 1
[screen_training]
epochs = 1
[target_training]
epochs = 8
[plan]
budget = 40
cap = 20
[generate]
batch_size = 16
conf_threshold = 0.0
prob_threshold = 0.1
max_attempts = 10
[loop]
rounds = 1
patience = 0
`

func runState(dir string) map[string]bool {
	var st struct {
		Done map[string]bool `json:"done"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil || json.Unmarshal(b, &st) != nil {
		return nil
	}
	return st.Done
}

// TestSIGTERMDuringRound0Training (issue 22, item 5): `run` sent SIGTERM while it trains the
// round-0 target exits 143 within 10 s (training checks the context between batches) without
// recording r0/train, and `run --resume` then completes with the same test figures (test.json)
// and accepted images as a run that was never interrupted.
func TestSIGTERMDuringRound0Training(t *testing.T) {
	cliEngine(t).Close()
	tmp := t.TempDir()
	job := writeFile(t, filepath.Join(tmp, "job.toml"), round0Job)
	ref := filepath.Join(tmp, "ref")
	if b, err := cliCmd("run", "--config", job, "--dir", ref, "-q").CombinedOutput(); err != nil {
		t.Fatalf("the uninterrupted run: %v\n%s", err, b)
	}
	dir := filepath.Join(tmp, "run")
	cmd := cliCmd("run", "--config", job, "--dir", dir, "-q")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// The set-up is recorded; r0/train runs next.
	for deadline := time.Now().Add(5 * time.Minute); !runState(dir)["setup/screen"]; time.Sleep(20 * time.Millisecond) {
		select {
		case err := <-done:
			t.Fatalf("the run ended (%v) before its set-up was done\n%s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("no set-up in 5 minutes")
		}
	}
	time.Sleep(500 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	sent := time.Now()
	var werr error
	select {
	case werr = <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("the run went on for 10 s after SIGTERM\n%s", out.String())
	}
	took := time.Since(sent)
	if code := exitStatus(t, werr); code != exitSIGTERM {
		t.Fatalf("after SIGTERM the run exited %d, want %d\n%s", code, exitSIGTERM, out.String())
	}
	st := runState(dir)
	if st["r0/train"] {
		t.Fatalf("r0/train had finished before the SIGTERM: the test wants it in the middle of training (state %v)", st)
	}
	if !strings.Contains(out.String(), "--resume "+dir) {
		t.Errorf("the interrupted run does not say how to continue:\n%s", out.String())
	}
	t.Logf("SIGTERM during r0/train: exited %d after %v", exitSIGTERM, took.Round(time.Millisecond))
	if b, err := cliCmd("run", "--resume", dir, "-q").CombinedOutput(); err != nil {
		t.Fatalf("run --resume: %v\n%s", err, b)
	}
	// The figures: test and validation metrics of every round, and the images (the tiny set-up may
	// accept none; then both manifests are empty).
	for _, f := range []struct {
		name     string
		nonEmpty bool
	}{{"test.json", true}, {"rounds/r0/metrics.json", true}, {"rounds/r1/metrics.json", true}, {"accepted/manifest.jsonl", false}} {
		a, _ := os.ReadFile(filepath.Join(ref, f.name))
		b, _ := os.ReadFile(filepath.Join(dir, f.name))
		if (f.nonEmpty && len(a) == 0) || !bytes.Equal(a, b) {
			t.Errorf("%s after the resume (%d bytes) differs from the uninterrupted run's (%d bytes)", f.name, len(b), len(a))
		}
	}
}
