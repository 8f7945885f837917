package loop

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gam-native/gam-native/data"
	"github.com/gam-native/gam-native/generate"
)

// interruptJob is the tiny job with small generation batches, so that round 1's generation takes
// several batches and an interruption can land between them.
var interruptJob = strings.Replace(tinyJob, "[generate]\n", "[generate]\nbatch_size = 16\n", 1)

// cancelAfter cancels the run once round `round` has accepted `after` images.
type cancelAfter struct {
	generate.Sink
	after  int
	n      *int
	cancel context.CancelFunc
}

func (s cancelAfter) Accept(c *generate.Candidate) error {
	if err := s.Sink.Accept(c); err != nil {
		return err
	}
	if *s.n++; *s.n == s.after {
		s.cancel()
	}
	return nil
}

func readOr(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return b
}

// sameResults compares what a run leaves that an interruption could change: the accepted and
// pending manifests, the test figures and the state (timings and surplus batches differ between
// any two runs, so stage JSON files are not compared).
func sameResults(t *testing.T, want, got string) {
	t.Helper()
	for _, f := range []string{"accepted/manifest.jsonl", "review/pending.jsonl", "test.json"} {
		a, b := readOr(t, filepath.Join(want, f)), readOr(t, filepath.Join(got, f))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs from the uninterrupted run's (%d vs %d bytes)", f, len(b), len(a))
		}
	}
	sw, err := loadState(want)
	if err != nil {
		t.Fatal(err)
	}
	sg, err := loadState(got)
	if err != nil {
		t.Fatal(err)
	}
	if sw.Spent != sg.Spent || sw.BestRound != sg.BestRound || sw.BestBA != sg.BestBA {
		t.Errorf("state: spent %d, best round %d (%.4f); uninterrupted: %d, %d (%.4f)", sg.Spent, sg.BestRound, sg.BestBA, sw.Spent, sw.BestRound, sw.BestBA)
	}
}

func round1Records(t *testing.T, dir string) int {
	t.Helper()
	recs, err := data.ReadManifestRecords(filepath.Join(dir, "accepted", "manifest.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	rolled, err := data.ReadManifestIfAny(filepath.Join(dir, rolledBackDir, "manifest.jsonl")) // moved out by a rollback
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range append(recs, rolled...) {
		if r.Provenance != nil && r.Provenance.Round == 1 {
			n++
		}
	}
	return n
}

// TestInterruptedGenerationIsRedoneOnResume is issue 27's item 1: a run interrupted in the middle
// of r1/generate (a context cancelled in process, then a SIGTERM to a run process) does not record
// the stage as done, and --resume finishes it: the final manifest, review queue and test figures
// equal those of an uninterrupted run.
func TestInterruptedGenerationIsRedoneOnResume(t *testing.T) {
	e := testEngine(t)
	jobPath := writeJob(t, interruptJob)
	job, err := LoadJob(jobPath)
	if err != nil {
		t.Fatal(err)
	}
	ref := filepath.Join(t.TempDir(), "ref")
	r, err := Prepare(e, job, ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	refR1 := round1Records(t, ref)
	if refR1 < 4 {
		t.Fatalf("the uninterrupted run accepted %d images in round 1: too few to interrupt in between", refR1)
	}

	t.Run("context cancelled after some images", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "run")
		r, err := Prepare(e, job, dir)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		seen := 0
		r.wrapSink = func(n int, s generate.Sink) generate.Sink {
			if n != 1 {
				return s
			}
			return cancelAfter{Sink: s, after: refR1 / 3, n: &seen, cancel: cancel}
		}
		err = r.Run(ctx)
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "r1/generate") {
			t.Fatalf("interrupted run: %v; want an error naming r1/generate and wrapping context.Canceled", err)
		}
		st, err := loadState(dir)
		if err != nil {
			t.Fatal(err)
		}
		if st.Done["r1/generate"] || st.Done["r1/train"] || !st.Done["r1/plan"] {
			t.Fatalf("state after the interruption: %v; want r1/plan done, r1/generate not", st.Done)
		}
		part := round1Records(t, dir)
		if part < refR1/3 || part >= refR1 {
			t.Fatalf("interrupted round 1 left %d records, want between %d and %d", part, refR1/3, refR1-1)
		}
		r.Close() // the folder's lock: Resume takes it again
		r2, err := Resume(e, dir)
		if err != nil {
			t.Fatal(err)
		}
		defer r2.Close()
		if err := r2.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Logf("round 1: %d images before the cancel, %d after resume, %d uninterrupted", part, round1Records(t, dir), refR1)
		sameResults(t, ref, dir)
	})

	t.Run("SIGTERM at r1/generate", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "run")
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "GAM_LOOP_CHILD="+dir, "GAM_LOOP_CHILD_JOB="+jobPath, "GAM_LOOP_CHILD_LOG=1")
		pr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var log strings.Builder
		sent := make(chan time.Time, 1)
		go func() {
			sc := bufio.NewScanner(pr)
			for sc.Scan() {
				log.WriteString(sc.Text() + "\n")
				if strings.Contains(sc.Text(), "== r1/generate") {
					_ = cmd.Process.Signal(syscall.SIGTERM)
					sent <- time.Now()
				}
			}
			io.Copy(io.Discard, pr)
		}()
		err = cmd.Wait()
		var at time.Time
		select {
		case at = <-sent:
		default:
			t.Fatalf("the run never reached r1/generate: %v\n%s", err, log.String())
		}
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != childInterrupted {
			t.Fatalf("run after SIGTERM: %v; want exit status %d (interrupted)\n%s", err, childInterrupted, log.String())
		}
		t.Logf("ended %v after the SIGTERM", time.Since(at).Round(time.Millisecond))
		st, err := loadState(dir)
		if err != nil {
			t.Fatal(err)
		}
		if st.Done["r1/generate"] {
			t.Fatalf("r1/generate recorded as done after a SIGTERM in it")
		}
		part := round1Records(t, dir)
		resume := startChild(t, dir, jobPath)
		if err := resume.Wait(); err != nil {
			t.Fatalf("resume: %v", err)
		}
		t.Logf("round 1: %d images at the SIGTERM, %d after resume, %d uninterrupted", part, round1Records(t, dir), refR1)
		sameResults(t, ref, dir)
	})
}
