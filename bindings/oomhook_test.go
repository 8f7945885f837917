package bindings

import (
	"os"
	"testing"
)

// The engine's test fault hook (GAM_TEST_OOM_ABOVE=N, engine/src/model.cpp): model calls on more
// than N rows fail with GAM_ERR_OOM, smaller ones run; GAM_TEST_OOM_SKIP=K lets K through first.
func TestOOMHook(t *testing.T) {
	e, g, screen := zooGenScreen(t)
	call := func(n int) error {
		z := ok(e.Randn(1, 1, int64(n), int64(g.Meta.LatentDim)))
		defer z.Close()
		y := ok(e.FromI64(make([]int64, n), int64(n)))
		defer y.Close()
		x, err := g.Sample(z, y, nil)
		if err != nil {
			return err
		}
		defer x.Close()
		l, err := screen.Forward(x)
		if err == nil {
			l.Close()
		}
		return err
	}
	os.Setenv("GAM_TEST_OOM_ABOVE", "8")
	defer os.Unsetenv("GAM_TEST_OOM_ABOVE")
	if err := call(9); !IsOOM(err) {
		t.Fatalf("9 rows above 8: %v, want GAM_ERR_OOM", err)
	}
	noErr(t, call(8))
	os.Setenv("GAM_TEST_OOM_SKIP", "2") // sample and forward of one call pass, the next sample fails
	defer os.Unsetenv("GAM_TEST_OOM_SKIP")
	noErr(t, call(16))
	if err := call(16); !IsOOM(err) {
		t.Fatalf("after the skipped calls: %v, want GAM_ERR_OOM", err)
	}
	os.Unsetenv("GAM_TEST_OOM_ABOVE")
	os.Unsetenv("GAM_TEST_OOM_SKIP")
	noErr(t, call(64))
}
