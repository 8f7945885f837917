package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGenerateRefusesABatchThatCannotFit (issue 27, item 3): generate.batch_size = 100,000,000
// is refused with the key, the bytes it needs and the largest batch that fits, exit 1 and no
// --out, not a Go "fatal error: out of memory" once the first batch is built.
func TestGenerateRefusesABatchThatCannotFit(t *testing.T) {
	cliEngine(t).Close()
	dir := t.TempDir()
	p, out, cfg := tenTargetPlan(t, dir, 5), filepath.Join(dir, "out"), filepath.Join(dir, "job.toml")
	if err := os.WriteFile(cfg, []byte("[generate]\nbatch_size = 100000000\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := cliCmd("generate", "--plan", p, "--out", out, "--config", cfg, "--allow-untrained", "-q").CombinedOutput()
	if code := exitStatus(t, err); code != exitError {
		t.Fatalf("exit %d, want %d:\n%s", code, exitError, b)
	}
	for _, w := range []string{"generate.batch_size = 100000000", "needs about", "want at most"} {
		if !strings.Contains(string(b), w) {
			t.Errorf("the error does not say %q:\n%s", w, b)
		}
	}
	if strings.Contains(string(b), "fatal error") || strings.Contains(string(b), "goroutine") {
		t.Errorf("a Go runtime crash:\n%.400s", b)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Error("--out exists after the refusal")
	}
}
