package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGenerateAgainSweepsWhatAKillLeft (issue 27, item 2): the same generate run again removes
// what a killed attempt leaves in OUT (a PNG of the round that no record names, a temporary file)
// and leaves the records and their images as they were.
func TestGenerateAgainSweepsWhatAKillLeft(t *testing.T) {
	e := cliEngine(t)
	tmp := t.TempDir()
	gen, screen := trainedTestModels(t, e)
	e.Close()
	cfg := writeFile(t, filepath.Join(tmp, "job.toml"), lenientJob)
	planPath := tenTargetPlan(t, tmp, 3)
	out := filepath.Join(tmp, "gen")
	args := []string{"generate", "--plan", planPath, "--out", out, "--config", cfg, "--seed", "5", "--generator", gen, "--screen", screen, "--allow-shortfall"}
	if b, err := cliCmd(append(args, "-q")...).CombinedOutput(); err != nil {
		t.Fatalf("generate: %v\n%s", err, b)
	}
	want := manifestLines(t, out)
	pngs, _ := filepath.Glob(filepath.Join(out, "*", "r1_*.png"))
	if len(pngs) == 0 {
		t.Fatal("no image generated")
	}
	folder := filepath.Dir(pngs[0])
	orphan, temp, other := filepath.Join(folder, "r1_c0_999999.png"), filepath.Join(folder, ".r1_c0_000000.png.tmp1a2b"), filepath.Join(folder, "r2_c0_000000.png")
	for _, p := range []string{orphan, temp, other} {
		writeFile(t, p, "left by a kill")
	}
	b, err := cliCmd(args...).CombinedOutput()
	if err != nil {
		t.Fatalf("generate again: %v\n%s", err, b)
	}
	if !strings.Contains(string(b), "removed 2 image(s) and temporary file(s)") {
		t.Errorf("the rerun does not say what it removed:\n%s", b)
	}
	for p, kept := range map[string]bool{orphan: false, temp: false, other: true, pngs[0]: true} {
		if _, err := os.Stat(p); (err == nil) != kept {
			t.Errorf("%s: exists = %v after the rerun, want %v", p, err == nil, kept)
		}
	}
	if got := manifestLines(t, out); !bytes.Equal(got, want) {
		t.Errorf("the manifest changed on the rerun")
	}
}
