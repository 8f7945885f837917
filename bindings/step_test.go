package bindings

import (
	"slices"
	"strings"
	"testing"
)

// The step is sample -> screen forward -> fused screen in one call: its images, verdicts and
// probabilities must be those of the three calls made one by one, for a full batch and a short one.
func TestStepMatchesSeparateCalls(t *testing.T) {
	e, g, s := zooGenScreen(t)
	const batch = 32
	// Asking for a graph on the CPU runs eagerly and says why.
	st := ok(e.NewStep(g, s, batch, 0, true))
	defer st.Close()
	var accepts int
	for _, n := range []int{batch, 7, batch} {
		z := ok(e.Randn(1, uint64(n), int64(n), int64(g.Meta.LatentDim)))
		ys := make([]int64, n)
		for i := range ys {
			ys[i] = int64(i % 10)
		}
		y := ok(e.FromI64(ys, int64(n)))
		x, verdict, prob, err := st.Run(z, y, nil)
		noErr(t, err)
		want := ok(g.Sample(z, y, nil))
		logits := ok(s.Forward(want))
		wv, wp, _, err := e.Screen(logits, y, nil, 0, 0)
		noErr(t, err)
		if d := maxDiff(ok(want.F32()), ok(x.F32())); d != 0 {
			t.Fatalf("n=%d: step images differ from sample by %v", n, d)
		}
		if !slices.Equal(verdict, ok(wv.I64())) {
			t.Fatalf("n=%d: verdicts %v, want %v", n, verdict, ok(wv.I64()))
		}
		if d := maxDiff(prob, ok(wp.F32())); d != 0 {
			t.Fatalf("n=%d: probabilities differ by %v", n, d)
		}
		for _, v := range verdict {
			if Verdict(v) == VerdictAccept {
				accepts++
			}
		}
		CloseAll(z, y, x, want, logits, wv, wp)
	}
	if accepts == 0 {
		t.Fatal("no row accepted: the comparison did not cover the accept verdict")
	}
	stats := ok(st.Stats())
	if stats.Eager != 3 || stats.Replays != 0 {
		t.Fatalf("stats %+v: want 3 eager runs on the CPU", stats)
	}
	if !strings.Contains(stats.Fallback, "CUDA") {
		t.Fatalf("fallback %q should say that graphs need CUDA", stats.Fallback)
	}
	plain := ok(e.NewStep(g, s, batch, 0.5, false))
	defer plain.Close()
	if f := ok(plain.Stats()).Fallback; f != "" {
		t.Fatalf("a step without a graph asked for reports fallback %q", f)
	}
}

func TestStepRefusesBadArguments(t *testing.T) {
	e, g, s := zooGenScreen(t)
	for _, c := range []struct {
		name      string
		g, s      *Model
		batch     int
		threshold float32
		want      string
	}{
		{"batch 0", g, s, 0, 0.5, "batch must be >= 1"},
		{"threshold", g, s, 8, 1.5, "prob_threshold must lie in [0, 1]"},
		{"roles swapped", s, g, 8, 0.5, "is not a generator"},
	} {
		if _, err := e.NewStep(c.g, c.s, c.batch, c.threshold, false); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", c.name, err, c.want)
		}
	}
	st := ok(e.NewStep(g, s, 4, 0.5, false))
	defer st.Close()
	z := ok(e.Randn(1, 1, 2, int64(g.Meta.LatentDim)))
	bad := ok(e.FromI64([]int64{3, 11}, 2))
	defer CloseAll(z, bad)
	if _, _, _, err := st.Run(z, bad, nil); err == nil || !strings.Contains(err.Error(), "labels outside") {
		t.Fatalf("bad labels: got %v", err)
	}
}
