package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gam-native/gam-native/internal/tmpfs"
)

const fullDiskJob = `name = "full"
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
[target_training]
epochs = 1
[plan]
budget = 400
cap = 200
[generate]
batch_size = 16
conf_threshold = 0.0
prob_threshold = 0.1
review_band = 0.3
max_attempts = 10
[loop]
rounds = 1
patience = 0
`

// fill takes all the free space of the file system at dir with one file (written until ENOSPC,
// as the run writes meanwhile), and returns its path. It is called off the test's goroutine, so
// it returns an error instead of failing the test.
func fill(dir string) (string, error) {
	p := filepath.Join(dir, "filler")
	f, err := os.Create(p)
	if err != nil {
		return p, err
	}
	defer f.Close()
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err == nil && st.Bavail > 16 {
		// Most of it at once; the rest below.
		unix.Fallocate(int(f.Fd()), 0, 0, int64(st.Bavail-16)*st.Bsize)
	}
	buf := make([]byte, 4096)
	for {
		if _, err := f.WriteAt(buf, must64(f.Seek(0, io.SeekEnd))); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return p, nil
			}
			return p, err
		}
	}
}

func must64(v int64, _ error) int64 { return v }

// unnamedPNGs lists the PNGs under dir that no record of dir/manifestName names (leaving out the
// folder skip).
func unnamedPNGs(t *testing.T, dir, manifestName, skip string) []string {
	t.Helper()
	named := map[string]bool{}
	if b, err := os.ReadFile(filepath.Join(dir, manifestName)); err == nil {
		for _, l := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
			var r struct{ Path string }
			if len(l) > 0 && json.Unmarshal(l, &r) == nil {
				named[r.Path] = true
			}
		}
	}
	var out []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && p == skip {
			return filepath.SkipDir
		}
		rel, _ := filepath.Rel(dir, p)
		if !d.IsDir() && strings.HasSuffix(p, ".png") && !named[filepath.ToSlash(rel)] {
			out = append(out, rel)
		}
		return nil
	})
	return out
}

// checkRunFolder fails the test for a temporary file or an unrecorded PNG in the run folder.
func checkRunFolder(t *testing.T, when, root, run string) {
	t.Helper()
	if tmp := tmpfs.Temporaries(t, root); len(tmp) > 0 {
		t.Errorf("%s: temporary files left: %v", when, tmp)
	}
	for _, d := range []struct{ dir, manifest string }{{"accepted", "manifest.jsonl"}, {"review", "pending.jsonl"}} {
		if left := unnamedPNGs(t, filepath.Join(run, d.dir), d.manifest, ""); len(left) > 0 {
			t.Errorf("%s: PNGs in %s that %s does not name: %v", when, d.dir, d.manifest, left)
		}
	}
}

// TestFullDiskIsACleanError is issue 27's item-2 acceptance test. A run on a 2 MiB tmpfs fails at
// the generator's save (the cVAE is 5 MB) with exit 1, not 2 (SIGABRT from std::terminate), and
// an error that names the path and says the disk is full; no temporary file is left. With space
// freed, --resume goes on; a disk filled again in the middle of r1/generate is exit 1 once more, with
// no PNG left that no record names; with space freed again, --resume completes the run, and the
// folder holds no temporary file and no unrecorded PNG.
func TestFullDiskIsACleanError(t *testing.T) {
	cliEngine(t).Close()
	root := tmpfs.Mount(t, 2<<20)
	job := filepath.Join(t.TempDir(), "job.toml")
	if err := os.WriteFile(job, []byte(fullDiskJob), 0o644); err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(root, "run")

	b, err := cliCmd("run", "--config", job, "--dir", run, "-q").CombinedOutput()
	out := string(b)
	if code := exitStatus(t, err); code != exitError {
		t.Fatalf("run on a 2 MiB disk exited %d, want %d:\n%s", code, exitError, out)
	}
	gen := filepath.Join(run, "models", "generator.pt")
	if !strings.Contains(out, gen) || !strings.Contains(strings.ToLower(out), "no space left on device") {
		t.Fatalf("the error does not name %s and say the disk is full:\n%s", gen, out)
	}
	if strings.Contains(out, "terminate") || strings.Contains(out, "SIGABRT") || len(out) > 2000 {
		t.Fatalf("not a clean error:\n%s", out)
	}
	t.Logf("2 MiB: %s", strings.TrimSpace(out))
	checkRunFolder(t, "after the save failed", root, run)

	// Space freed; the disk fills again in the middle of round 1's generation.
	tmpfs.Resize(t, root, 256<<20)
	cmd := cliCmd("run", "--resume", run)
	pr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The disk fills once round 1's first image is on it: in the middle of the generation.
	var log strings.Builder
	filledc := make(chan string, 1)
	atGenerate := make(chan struct{})
	go func() {
		defer close(filledc)
		select {
		case <-atGenerate:
		case <-time.After(10 * time.Minute):
			return
		}
		for deadline := time.Now().Add(5 * time.Minute); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
			m1, _ := filepath.Glob(filepath.Join(run, "accepted", "*", "r1_*.png"))
			m2, _ := filepath.Glob(filepath.Join(run, "accepted", "*", "*", "r1_*.png"))
			if len(m1)+len(m2) > 0 {
				p, err := fill(root)
				if err != nil {
					p = "error: " + err.Error()
				}
				filledc <- p
				return
			}
		}
	}()
	sc := bufio.NewScanner(pr)
	seen := false
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
		if !seen && strings.Contains(sc.Text(), "== r1/generate") {
			seen = true
			close(atGenerate)
		}
	}
	io.Copy(io.Discard, pr)
	err = cmd.Wait()
	filled := <-filledc
	if filled == "" || strings.HasPrefix(filled, "error: ") {
		t.Fatalf("the disk was not filled in round 1 (%s; the run: %v):\n%s", filled, err, log.String())
	}
	if code := exitStatus(t, err); code != exitError {
		t.Fatalf("the run with a disk full in r1/generate exited %d, want %d:\n%s", code, exitError, log.String())
	}
	tail := log.String()[max(0, log.Len()-600):]
	if !strings.Contains(tail, run) || !strings.Contains(strings.ToLower(tail), "no space left on device") {
		t.Fatalf("the error does not name a path under %s and say the disk is full:\n%s", run, tail)
	}
	if !strings.Contains(tail, "r1/generate") {
		t.Errorf("the disk filled in round 1's generation, but the error is not r1/generate's:\n%s", tail)
	}
	t.Logf("full in r1/generate: %s", strings.TrimSpace(tail[strings.LastIndex(strings.TrimSpace(tail), "\n")+1:]))
	os.Remove(filled)
	checkRunFolder(t, "after the generation failed", root, run)

	if b, err := cliCmd("run", "--resume", run, "-q").CombinedOutput(); err != nil {
		t.Fatalf("resume with space freed: %v\n%s", err, b)
	}
	if _, err := os.Stat(filepath.Join(run, "report.json")); err != nil {
		t.Fatalf("no report after the resume: %v", err)
	}
	checkRunFolder(t, "after the resume", root, run)
}
