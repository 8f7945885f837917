package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/gam-native/gam-native/bindings"
	"github.com/gam-native/gam-native/data"
	"github.com/gam-native/gam-native/internal/dirlock"
	"github.com/gam-native/gam-native/internal/testengine"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// cliEngine skips (or, with GAM_REQUIRE_ENGINE=1, fails) a test without the engine, the zoo or
// Fashion-MNIST; it returns the engine open.
func cliEngine(t *testing.T) *bindings.Engine {
	t.Helper()
	return testengine.WithFashionMNIST(t)
}

// tenTargetPlan writes a gam.plan/v1 file asking count images of each of the 10 classes.
func tenTargetPlan(t *testing.T, dir string, count int) string {
	t.Helper()
	var targets []string
	for c := 0; c < 10; c++ {
		targets = append(targets, fmt.Sprintf(`{"id": "c%d", "class": %d, "class_name": %q, "count": %d}`, c, c, data.FashionMNISTClasses[c], count))
	}
	p := filepath.Join(dir, "plan.json")
	if err := os.WriteFile(p, []byte(`{"format": "gam.plan/v1", "targets": [`+strings.Join(targets, ", ")+`]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func exitStatus(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	t.Fatal(err)
	return -1
}

// TestVersionNamesTheCommit (issue 22, item 6): --version prints the version and the commit.
func TestVersionNamesTheCommit(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26", Main: debug.Module{Version: "v1.2.3"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"}, {Key: "vcs.modified", Value: "true"}, {Key: "vcs.time", Value: "2026-12-03T18:00:00Z"}}}
	if got, want := versionOf(bi), "v1.2.3, commit 0123456789abcdef0123456789abcdef01234567+modified (uncommitted changes) of 2026-12-03T18:00:00Z, go1.26"; got != want {
		t.Fatalf("versionOf = %q, want %q", got, want)
	}
	if got := versionOf(&debug.BuildInfo{GoVersion: "go1.26"}); !strings.Contains(got, "commit unknown") {
		t.Fatalf("versionOf without vcs settings = %q", got)
	}
	out, err := capture(t, "--version")
	if err != nil || !strings.Contains(out, "gam-native version ") || !strings.Contains(out, "commit ") {
		t.Fatalf("--version: %v\n%s", err, out)
	}
}

// TestEveryCommandHasAnExample (issue 22, item 6): the --help of every command and subcommand
// (review, review export-ls and review import-ls among them) shows an example.
func TestEveryCommandHasAnExample(t *testing.T) {
	var walk func(prefix string, cs []*cli.Command)
	walk = func(prefix string, cs []*cli.Command) {
		for _, c := range cs {
			if c.Name == "help" {
				continue // urfave/cli adds it to a command (shared by every newApp) once that command has run
			}
			name := strings.TrimSpace(prefix + " " + c.Name)
			if !strings.Contains(c.Description, "Example") || !strings.Contains(c.Description, "gam-native "+name) {
				t.Errorf("gam-native %s --help has no example", name)
			}
			walk(name, c.Subcommands)
		}
	}
	walk("", newApp().Commands)
}

// TestGenerateRefusesUntrainedZooModels (issue 22, item 5): generate with its defaults (the
// zoo's untrained models) is an error that says how to train them, before --out exists.
func TestGenerateRefusesUntrainedZooModels(t *testing.T) {
	dir := t.TempDir()
	p, out := tenTargetPlan(t, dir, 5), filepath.Join(dir, "out")
	for _, args := range [][]string{
		{"generate", "--plan", p, "--out", out},
		{"generate", "--plan", p, "--out", out, "--generator", p, "--screen", "zoo:screen"},
	} {
		_, err := capture(t, args...)
		if err == nil || !strings.Contains(err.Error(), "untrained") || !strings.Contains(err.Error(), "gam-native train-models --config job.toml --out") ||
			!strings.Contains(err.Error(), "--allow-untrained") {
			t.Fatalf("%v: %v; want the error that says how to train the models", args, err)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Fatal("--out was created for refused models")
		}
	}
}

// TestGenerateShortfallExits3 (issue 22, item 5): a generate that fills fewer images than a
// target's count writes them, says so, and exits 3; with --allow-shortfall it exits 0.
func TestGenerateShortfallExits3(t *testing.T) {
	e := cliEngine(t)
	tmp := t.TempDir()
	gen, screen := trainedTestModels(t, e)
	e.Close()
	planPath := tenTargetPlan(t, tmp, 30)
	cfg := filepath.Join(tmp, "job.toml")
	// One try per image asked: any rejection leaves its target short.
	os.WriteFile(cfg, []byte("[generate]\nbatch_size = 16\nprob_threshold = 0.9\nmax_attempts = 1\n"), 0o644)
	args := func(out string, more ...string) []string {
		return append([]string{"generate", "--plan", planPath, "--out", out, "--config", cfg, "--seed", "5", "-q", "--generator", gen, "--screen", screen}, more...)
	}
	cmd := cliCmd(args(filepath.Join(tmp, "short"))...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if code := exitStatus(t, cmd.Run()); code != exitShortfall || !strings.Contains(stderr.String(), "short of the plan's counts") {
		t.Fatalf("a short generate exited %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitShortfall, stdout.String(), stderr.String())
	}
	if n := bytes.Count(manifestLines(t, filepath.Join(tmp, "short")), []byte("\n")); n == 0 || n >= 300 {
		t.Fatalf("the short generate wrote %d images: want some, fewer than the 300 asked", n)
	}
	if strings.Contains(stdout.String(), "map[") {
		t.Fatalf("the summary prints a Go map:\n%s", stdout.String())
	}
	// The allowed run also writes a metrics file (issue 25): Prometheus text format whose accepted
	// images sum to the manifest's lines.
	prom := filepath.Join(tmp, "gam.prom")
	allowed := filepath.Join(tmp, "allowed")
	if out, err := cliCmd(append([]string{"--log-format", "json"}, args(allowed, "--allow-shortfall", "--metrics-file", prom)...)...).CombinedOutput(); err != nil {
		t.Fatalf("generate --allow-shortfall: %v\n%s", err, out)
	}
	f, err := os.Open(prom)
	if err != nil {
		t.Fatalf("--metrics-file: %v", err)
	}
	defer f.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(f)
	if err != nil {
		t.Fatalf("--metrics-file is not Prometheus text format: %v", err)
	}
	sum := 0.0
	for _, m := range mfs["gam_accepted_images"].GetMetric() {
		sum += m.GetGauge().GetValue()
	}
	if n := bytes.Count(manifestLines(t, allowed), []byte("\n")); int(sum) != n || n == 0 {
		t.Errorf("gam_accepted_images sums to %v, the manifest has %d lines", sum, n)
	}
	for _, name := range []string{"gam_rejected_images", "gam_accepted_images_per_second", "gam_stage_duration_seconds", "gam_last_success_timestamp_seconds"} {
		if len(mfs[name].GetMetric()) == 0 {
			t.Errorf("--metrics-file has no %s", name)
		}
	}
}

// startHolder starts the CLI with args and waits until dir/.lock holds its pid.
func startHolder(t *testing.T, dir string, args ...string) (*exec.Cmd, *bytes.Buffer, chan error) {
	t.Helper()
	cmd := cliCmd(args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	want := fmt.Sprint(cmd.Process.Pid)
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(5 * time.Millisecond) {
		if b, _ := os.ReadFile(filepath.Join(dir, dirlock.Name)); strings.TrimSpace(string(b)) == want {
			return cmd, &out, done
		}
		select {
		case err := <-done:
			t.Fatalf("%v ended (%v) before it held %s\n%s", args, err, dir, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v did not lock %s in 2 minutes", args, dir)
		}
	}
}

// TestTwoGeneratesOnOneOut (issue 22, item 7): a second generate into the --out of a running
// one exits 1 naming the first's pid, writes nothing, and the first completes untouched (its
// manifest equals that of a generate that ran alone).
func TestTwoGeneratesOnOneOut(t *testing.T) {
	e := cliEngine(t)
	tmp := t.TempDir()
	gen, screen := trainedTestModels(t, e)
	e.Close()
	planPath := tenTargetPlan(t, tmp, 30)
	cfg := filepath.Join(tmp, "job.toml")
	os.WriteFile(cfg, []byte("[generate]\nbatch_size = 16\nconf_threshold = 0.0\nprob_threshold = 0.0\n"), 0o644)
	args := func(out string) []string {
		return []string{"generate", "--plan", planPath, "--out", out, "--config", cfg, "--seed", "5", "-q", "--generator", gen, "--screen", screen, "--allow-shortfall"}
	}
	ref := filepath.Join(tmp, "ref")
	if out, err := cliCmd(args(ref)...).CombinedOutput(); err != nil {
		t.Fatalf("generate alone: %v\n%s", err, out)
	}
	out := filepath.Join(tmp, "out")
	first, firstOut, done := startHolder(t, out, args(out)...)
	b, err := cliCmd(args(out)...).CombinedOutput()
	if code := exitStatus(t, err); code != exitError || !strings.Contains(string(b), fmt.Sprintf("in use by process %d", first.Process.Pid)) {
		t.Fatalf("the second generate exited %d, want %d with the lock error naming pid %d:\n%s", code, exitError, first.Process.Pid, b)
	}
	if err := <-done; err != nil {
		t.Fatalf("the first generate: %v\n%s", err, firstOut.String())
	}
	if got, want := manifestLines(t, out), manifestLines(t, ref); !bytes.Equal(got, want) || len(want) == 0 {
		t.Fatalf("the first generate's manifest (%d bytes) differs from a lone run's (%d bytes)", len(got), len(want))
	}
	if _, err := os.Stat(filepath.Join(out, dirlock.Name)); !os.IsNotExist(err) {
		t.Fatalf("the lock file is left after generate: %v", err)
	}
}

// TestSecondRunOnOneFolder (issue 22, item 7): `run --resume DIR` while a run holds DIR exits 1
// naming the holder's pid; the first run completes.
func TestSecondRunOnOneFolder(t *testing.T) {
	cliEngine(t).Close()
	tmp := t.TempDir()
	job := filepath.Join(tmp, "job.toml")
	os.WriteFile(job, []byte(`name = "lock"
seed = 3
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
epochs = 2
[screen_training]
epochs = 2
[loop]
rounds = 0
`), 0o644)
	dir := filepath.Join(tmp, "run")
	first, firstOut, done := startHolder(t, dir, "run", "--config", job, "--dir", dir, "-q")
	b, err := cliCmd("run", "--resume", dir, "-q").CombinedOutput()
	if code := exitStatus(t, err); code != exitError || !strings.Contains(string(b), fmt.Sprintf("in use by process %d", first.Process.Pid)) {
		t.Fatalf("the second run exited %d, want %d with the lock error naming pid %d:\n%s", code, exitError, first.Process.Pid, b)
	}
	if err := <-done; err != nil {
		t.Fatalf("the first run: %v\n%s", err, firstOut.String())
	}
	if !strings.Contains(firstOut.String(), "set-up only") {
		t.Fatalf("the first run's output:\n%s", firstOut.String())
	}
	for _, f := range []string{"models/generator.pt", "models/screen.pt"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	// Free again: a resume of the finished set-up-only run has nothing left to do.
	if b, err := cliCmd("run", "--resume", dir, "-q").CombinedOutput(); err != nil {
		t.Fatalf("run --resume after the first ended: %v\n%s", err, b)
	}
}

// TestTrainModelsCommand (issue 22, item 5): `gam-native train-models --config job.toml --out
// DIR` writes DIR/generator.pt and DIR/screen.pt, which generate then takes.
func TestTrainModelsCommand(t *testing.T) {
	cliEngine(t).Close()
	tmp := t.TempDir()
	job := filepath.Join(tmp, "job.toml")
	os.WriteFile(job, []byte("device = \"cpu\"\n[data]\nsource = \"fashion-mnist\"\ntrain_limit = 2000\n[generator_training]\nepochs = 1\n[screen_training]\nepochs = 1\n[generate]\nbatch_size = 16\nconf_threshold = 0.0\nprob_threshold = 0.0\n"), 0o644)
	models := filepath.Join(tmp, "models")
	// In processes of their own: the engine library is opened once per process.
	out, err := cliCmd("train-models", "--config", job, "--out", models, "-q").Output()
	if err != nil {
		t.Fatalf("train-models: %v\n%s", err, out)
	}
	for _, f := range []string{"generator.pt", "screen.pt"} {
		if !strings.Contains(string(out), filepath.Join(models, f)) {
			t.Fatalf("train-models does not name %s:\n%s", f, out)
		}
	}
	p := tenTargetPlan(t, tmp, 2)
	if b, err := cliCmd("generate", "--plan", p, "--out", filepath.Join(tmp, "gen"), "--config", job, "-q", "--allow-shortfall",
		"--generator", filepath.Join(models, "generator.pt"), "--screen", filepath.Join(models, "screen.pt")).CombinedOutput(); err != nil {
		t.Fatalf("generate with the trained models: %v\n%s", err, b)
	}
}
