package bindings

import (
	"math"
	"sync"
	"testing"
)

// TestLanes: lanes run their own intra-op thread count and leave the engine's; OpenBLAS runs one
// thread while they are open and gets its count back after; a model's view on a lane samples
// the same images as the model on the engine, also with both lanes at work at once; a tensor made
// on a lane outlives it; closing a view leaves the model open.
func TestLanes(t *testing.T) {
	e, g, _ := zooGenScreen(t)
	before := ok(e.Info()).Threads
	blasBefore := BLASThreads()
	if _, err := e.NewLanes(0, 1); err == nil {
		t.Error("NewLanes(0, 1) gave no error")
	}
	const n, seed = 16, 7
	y := ok(e.FromI64(make([]int64, n), n))
	defer y.Close()
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

	lanes := ok(e.NewLanes(2, 1))
	if _, err := lanes[0].NewLanes(1, 1); err == nil {
		t.Error("a lane started lanes")
	}
	for i, l := range lanes {
		if got := ok(l.Info()).Threads; got != 1 {
			t.Errorf("lane %d runs %d intra-op threads, want 1", i, got)
		}
	}
	if got := ok(e.Info()).Threads; got != before {
		t.Errorf("the engine runs %d intra-op threads after NewLanes, want its %d", got, before)
	}
	if blasBefore > 0 {
		if got := BLASThreads(); got != 1 {
			t.Errorf("OpenBLAS runs %d threads with lanes open, want 1", got)
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
	kept := ok(lanes[0].FromF32([]float32{1, 2, 3}, 3))
	for _, l := range lanes {
		noErr(t, l.Close())
	}
	if got := ok(kept.F32()); len(got) != 3 || got[2] != 3 {
		t.Errorf("a tensor made on a closed lane reads %v", got)
	}
	kept.Close()
	if got := BLASThreads(); got != blasBefore {
		t.Errorf("OpenBLAS runs %d threads after the lanes closed, want its %d", got, blasBefore)
	}
	same("engine sample after the views closed", sample(e, g))
}
