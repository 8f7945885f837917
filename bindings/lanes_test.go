package bindings

import (
	"math"
	"sync"
	"testing"
)

// TestLanes: lanes run one intra-op thread and leave the engine's count; OpenBLAS runs one thread
// while they are held and gets its count back at the last release; a model's view on a lane
// samples the same images as the model on the engine, with both lanes at work at once; a second
// Lanes gives the same lanes (they are kept); closing a view leaves the model open.
func TestLanes(t *testing.T) {
	e, g, _ := zooGenScreen(t)
	before := ok(e.Info()).Threads
	blasBefore := BLASThreads()
	if _, _, err := e.Lanes(0); err == nil {
		t.Error("Lanes(0) gave no error")
	}
	const n, seed = 16, 7
	sample := func(e *Engine, g *Model) []float32 {
		z := ok(e.Randn(1, seed, n, int64(g.Meta.LatentDim)))
		defer z.Close()
		yy := ok(e.FromI64(make([]int64, n), n))
		defer yy.Close()
		x := ok(g.Sample(z, yy, nil))
		defer x.Close()
		return ok(x.F32())
	}
	want := sample(e, g)

	lanes, release, err := e.Lanes(2)
	noErr(t, err)
	if _, _, err := lanes[0].Lanes(1); err == nil {
		t.Error("a lane started lanes")
	}
	again, release2, err := e.Lanes(1)
	noErr(t, err)
	if again[0] != lanes[0] {
		t.Error("a second Lanes started a new lane instead of reusing the first")
	}
	for i, l := range lanes {
		if got := ok(l.Info()).Threads; got != 1 {
			t.Errorf("lane %d runs %d intra-op threads, want 1", i, got)
		}
	}
	if got := ok(e.Info()).Threads; got != before {
		t.Errorf("the engine runs %d intra-op threads with lanes held, want its %d", got, before)
	}
	if blasBefore > 0 {
		if got := BLASThreads(); got != 1 {
			t.Errorf("OpenBLAS runs %d threads with lanes held, want 1", got)
		}
	}
	same := func(what string, got []float32) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
		}
		for i := range got {
			if math.Abs(float64(got[i]-want[i])) > 1e-4 {
				t.Fatalf("%s: value %d is %v, on the engine %v", what, i, got[i], want[i])
			}
		}
	}
	var wg sync.WaitGroup
	results := make([][][]float32, len(lanes))
	for i, l := range lanes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			gl := g.On(l)
			for k := 0; k < 4; k++ {
				results[i] = append(results[i], sample(l, gl))
			}
			gl.Close()
		}()
	}
	wg.Wait()
	for i := range results {
		for _, r := range results[i] {
			same("lane sample", r)
		}
	}
	release()
	release() // idempotent: must not release release2's hold
	if blasBefore > 0 {
		if got := BLASThreads(); got != 1 {
			t.Errorf("OpenBLAS runs %d threads while a second hold is open, want 1", got)
		}
	}
	release2()
	if got := BLASThreads(); got != blasBefore {
		t.Errorf("OpenBLAS runs %d threads after the last release, want its %d", got, blasBefore)
	}
	same("engine sample after the views closed", sample(e, g))
}
