package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gam-native/gam-native/bindings"
	"github.com/gam-native/gam-native/data"
	"github.com/gam-native/gam-native/internal/testmodels"
)

// TestMain lets the test binary act as the CLI (GAM_CLI_ARGS, arguments joined by newlines), so
// that a test can signal a real gam-native process.
func TestMain(m *testing.M) {
	if args := os.Getenv("GAM_CLI_ARGS"); args != "" {
		os.Args = append([]string{"gam-native"}, strings.Split(args, "\n")...)
		// A process this one starts as itself (run's shard processes, os.Executable) runs as
		// the CLI with the arguments it is given.
		os.Unsetenv("GAM_CLI_ARGS")
		os.Setenv("GAM_CLI_CHILD", "1")
		main()
		os.Exit(0)
	}
	if os.Getenv("GAM_CLI_CHILD") == "1" {
		os.Args[0] = "gam-native"
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func cliCmd(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "GAM_CLI_ARGS="+strings.Join(args, "\n"))
	return cmd
}

func manifestLines(t *testing.T, dir string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "manifest.jsonl"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return b
}

// TestSIGTERMToGenerate is issue 27's second item-1 test: `gam-native generate` sent SIGTERM in
// the middle of its work exits 143, not 0, keeps what it had accepted, and the same command run
// again completes the quotas: its manifest then equals an uninterrupted run's.
func TestSIGTERMToGenerate(t *testing.T) {
	e := cliEngine(t)
	tmp := t.TempDir()
	gen, screen := trainedTestModels(t, e)
	e.Close()
	var targets []string
	for c := 0; c < 10; c++ {
		targets = append(targets, fmt.Sprintf(`{"id": "c%d", "class": %d, "class_name": %q, "count": 100}`, c, c, data.FashionMNISTClasses[c]))
	}
	planPath := filepath.Join(tmp, "plan.json")
	os.WriteFile(planPath, []byte(`{"format": "gam.plan/v1", "targets": [`+strings.Join(targets, ", ")+`]}`), 0o644)
	cfgPath := filepath.Join(tmp, "job.toml")
	os.WriteFile(cfgPath, []byte("[generate]\nbatch_size = 16\nconf_threshold = 0.0\nprob_threshold = 0.0\nmax_attempts = 4\n"), 0o644)
	args := func(out string) []string {
		return []string{"generate", "--plan", planPath, "--out", out, "--config", cfgPath, "--seed", "5", "-q",
			"--generator", gen, "--screen", screen, "--allow-shortfall"}
	}

	ref := filepath.Join(tmp, "ref")
	if out, err := cliCmd(args(ref)...).CombinedOutput(); err != nil {
		t.Fatalf("uninterrupted generate: %v\n%s", err, out)
	}
	want := manifestLines(t, ref)
	total := bytes.Count(want, []byte("\n"))
	if total < 300 {
		t.Fatalf("the uninterrupted run accepted %d images: too few to interrupt", total)
	}

	out := filepath.Join(tmp, "out")
	cmd := cliCmd(args(out)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var at int
	var werr error
	for deadline := time.Now().Add(10 * time.Minute); ; {
		select {
		case werr = <-done:
			t.Fatalf("generate ended (%v) before it could be interrupted\n%s", werr, stderr.String())
		case <-time.After(5 * time.Millisecond):
		}
		if at = bytes.Count(manifestLines(t, out), []byte("\n")); at > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no image after 10 minutes")
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	werr = <-done
	var ee *exec.ExitError
	if !errors.As(werr, &ee) || ee.ExitCode() != exitSIGTERM {
		t.Fatalf("generate after SIGTERM: %v; want exit status %d\n%s", werr, exitSIGTERM, stderr.String())
	}
	if !strings.Contains(stderr.String(), "interrupted") {
		t.Fatalf("stderr does not say it was interrupted:\n%s", stderr.String())
	}
	kept := bytes.Count(manifestLines(t, out), []byte("\n"))
	if kept >= total {
		t.Fatalf("the SIGTERMed run accepted all %d images: it was not interrupted", kept)
	}
	if b, err := cliCmd(args(out)...).CombinedOutput(); err != nil {
		t.Fatalf("generate again: %v\n%s", err, b)
	}
	if got := manifestLines(t, out); !bytes.Equal(got, want) {
		t.Fatalf("after the rerun the manifest has %d lines and differs from the uninterrupted run's %d", bytes.Count(got, []byte("\n")), total)
	}
	t.Logf("SIGTERM after %d images (%d kept at exit), %d after the rerun, as uninterrupted", at, kept, total)
}

// trainedTestModels returns the trained generator and screen every package's tests share
// (internal/testmodels: trained once, cached under the build folder).
func trainedTestModels(t *testing.T, e *bindings.Engine) (gen, screen string) {
	t.Helper()
	p := testmodels.Trained(t, e)
	return p.Generator, p.Screen
}
