package bindings

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// closeTo fails t when a and b differ in length or by more than tol anywhere.
func closeTo(t *testing.T, what string, a, b []float32, tol float64) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%s: %d values against %d", what, len(a), len(b))
	}
	for i := range a {
		if d := math.Abs(float64(a[i] - b[i])); !(d <= tol) {
			t.Fatalf("%s: value %d is %v optimized, %v not (tolerance %g)", what, i, a[i], b[i], tol)
		}
	}
}

// both runs f with m's inference copy on and then off, and returns the two outputs.
func both(t *testing.T, m *Model, f func() *Tensor) (on, off []float32) {
	t.Helper()
	for _, opt := range []bool{true, false} {
		active, why, err := m.Optimize(opt)
		noErr(t, err)
		if active != opt {
			t.Fatalf("%s: Optimize(%v) left the inference copy active=%v (%s)", m.Path, opt, active, why)
		}
		x := f()
		v := ok(x.F32())
		x.Close()
		if opt {
			on = v
		} else {
			off = v
		}
	}
	_, _, err := m.Optimize(true)
	noErr(t, err)
	return on, off
}

// TestOptimizedInferenceMatches: every zoo model's inference copy (frozen, oneDNN) is built on the
// CPU and gives the model's own outputs to float rounding, for every inference method; after a
// training step the copy is rebuilt from the new parameters (a stale copy would give the old
// outputs); train mode runs the model itself.
func TestOptimizedInferenceMatches(t *testing.T) {
	e := testEngine(t)
	const n = 32
	rng := rand.New(rand.NewPCG(1, 2))
	px := make([]float32, n*28*28)
	for i := range px {
		px[i] = rng.Float32()
	}
	x := ok(e.FromF32(px, n, 1, 28, 28))
	defer x.Close()
	labels := make([]int64, n)
	for i := range labels {
		labels[i] = int64(i % 10)
	}
	y := ok(e.FromI64(labels, n))
	defer y.Close()
	const tol = 1e-4

	for _, name := range []string{"screen.pt", "cnn.pt"} {
		c := ok(e.LoadModel(zooFile(t, name), RoleClassifier))
		on, off := both(t, c, func() *Tensor { return ok(c.Forward(x)) })
		closeTo(t, name+" forward", on, off, tol)
		if c.Meta.HasEmbed {
			on, off = both(t, c, func() *Tensor { return ok(c.Embed(x)) })
			closeTo(t, name+" embed", on, off, tol)
		}
		// A NaN pixel stays NaN in its row's logits (oneDNN's max-pool would drop it).
		nanPx := append([]float32(nil), px...)
		nanPx[100] = float32(math.NaN())
		xn := ok(e.FromF32(nanPx, n, 1, 28, 28))
		ln := ok(c.Forward(xn))
		lv := ok(ln.F32())
		ln.Close()
		xn.Close()
		if k := c.Meta.NumClasses; !math.IsNaN(float64(lv[0])) || math.IsNaN(float64(lv[k])) {
			t.Errorf("%s: a NaN pixel in image 0 gave logits %v (image 1: %v), want NaN in row 0 only", name, lv[:k], lv[k:2*k])
		}
		before := on
		tr := ok(c.NewTrainer(0.05, 0))
		ok(tr.StepClassifier(x, y, nil, nil))
		tr.Close()
		on, off = both(t, c, func() *Tensor { return ok(c.Forward(x)) })
		closeTo(t, name+" forward after a training step", on, off, tol)
		moved := false
		for i := range on {
			moved = moved || math.Abs(float64(on[i]-before[i])) > 1e-3
		}
		if !moved {
			t.Errorf("%s: a training step at lr 0.05 left the optimized forward where it was", name)
		}
		noErr(t, c.SetTrain(true))
		if active, _, err := c.Optimize(true); err != nil || active {
			t.Errorf("%s: in train mode the inference copy is active=%v (%v)", name, active, err)
		}
		noErr(t, c.SetTrain(false))
		// A step on NaN images makes the weights NaN: no copy then (oneDNN would hide the NaN).
		xn = ok(e.FromF32(nanPx, n, 1, 28, 28))
		tr = ok(c.NewTrainer(0.05, 0))
		_, _ = tr.StepClassifier(xn, y, nil, nil)
		tr.Close()
		xn.Close()
		if active, why, err := c.InferenceCopy(); err != nil || active || !strings.Contains(why, "NaN") {
			t.Errorf("%s: with NaN weights the inference copy is active=%v (%q, %v), want off for the NaN", name, active, why, err)
		}
		c.Close()
	}

	for _, name := range []string{"cvae.pt", "cvae_conv.pt", "cgan.pt"} {
		g := ok(e.LoadModel(zooFile(t, name), RoleGenerator))
		z := ok(e.Randn(1, 3, n, int64(g.Meta.LatentDim)))
		on, off := both(t, g, func() *Tensor { return ok(g.Sample(z, y, nil)) })
		closeTo(t, name+" sample", on, off, tol)
		on, off = both(t, g, func() *Tensor { return ok(g.Confidence(x, y, nil)) })
		closeTo(t, name+" confidence", on, off, tol)
		if g.Meta.HasEncode {
			on, off = both(t, g, func() *Tensor {
				mu, lv := ok2(g.Encode(x, y, nil))
				lv.Close()
				return mu
			})
			closeTo(t, name+" encode", on, off, tol)
		}
		z.Close()
		g.Close()
	}
}
