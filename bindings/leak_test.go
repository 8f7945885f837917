package bindings

import (
	"os"
	"strconv"
	"testing"

	"github.com/gam-native/gam-native/hostres"
)

// TestLoadSampleCloseDoesNotLeak runs load/sample/close cycles (GAM_LEAK_CYCLES, default 400;
// `gam-native bench leak` runs 10,000) and checks that no handle stays open and that resident
// memory after a warm-up stops growing.
func TestLoadSampleCloseDoesNotLeak(t *testing.T) {
	e := testEngine(t)
	path := zooFile(t, "cvae.pt")
	n := 400
	if s := os.Getenv("GAM_LEAK_CYCLES"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	handles := LiveHandles()
	for i := 0; i < 50; i++ { // warm-up: allocator pools and LibTorch's caches fill here
		noErr(t, e.Cycle(path, 8, uint64(i)))
	}
	before := hostres.RSS()
	for i := 0; i < n; i++ {
		noErr(t, e.Cycle(path, 8, uint64(i)))
	}
	after := hostres.RSS()
	t.Logf("%d cycles: RSS %.1f MiB -> %.1f MiB", n, float64(before)/(1<<20), float64(after)/(1<<20))
	if LiveHandles() != handles {
		t.Fatalf("%d handles left open", LiveHandles()-handles)
	}
	// One leaked copy of the cVAE's weights per cycle would be 5 MiB a cycle; allow allocator noise.
	if growth := after - before; growth > 32<<20 {
		t.Fatalf("RSS grew by %d MiB over %d cycles", growth>>20, n)
	}
}
