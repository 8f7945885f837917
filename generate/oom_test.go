package generate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gam-native/gam-native/bindings"
	"github.com/gam-native/gam-native/data"
	"github.com/gam-native/gam-native/hostres"
	"github.com/gam-native/gam-native/plan"
)

// withOOMAbove runs f with the engine's test fault hook on: every model call on more than n rows
// fails with GAM_ERR_OOM (engine/src/model.cpp, GAM_TEST_OOM_ABOVE).
func withOOMAbove(t *testing.T, n string, f func()) {
	t.Helper()
	if err := os.Setenv("GAM_TEST_OOM_ABOVE", n); err != nil {
		t.Fatal(err)
	}
	defer os.Unsetenv("GAM_TEST_OOM_ABOVE")
	f()
}

// needOOMHook skips when the engine predates its test fault hook (rebuild it; bindings'
// TestOOMHook fails then).
func needOOMHook(t *testing.T) {
	t.Helper()
	f := &fixture
	var err error
	withOOMAbove(t, "1", func() {
		z, _ := f.e.Randn(1, 1, 2, int64(f.gen.Meta.LatentDim))
		y, _ := f.e.FromI64([]int64{0, 0}, 2)
		defer bindings.CloseAll(z, y)
		var x *bindings.Tensor
		x, err = f.gen.Sample(z, y, nil)
		x.Close()
	})
	if !bindings.IsOOM(err) {
		t.Skip("this engine has no GAM_TEST_OOM_ABOVE hook (built before it): rebuild the engine")
	}
}

// An out-of-memory halves the rows per engine call and makes the same batches again: the run
// completes with the manifest of a run that never ran out of memory (the same records, seeds and
// images; the scores in them to float rounding, as they were computed 16 rows a call instead of
// 64), on the engine thread (the sampler's and the score stage's retries) and on lanes, with the
// halvings counted.
func TestOOMHalvingSameManifest(t *testing.T) {
	setup(t)
	needOOMHook(t)
	f := &fixture
	targets := []plan.Target{{ID: "shirt", Class: shirt, ClassName: "shirt", Count: 60},
		{ID: "coat/shadow", Class: coat, ClassName: "coat", Condition: "shadow", SeverityMin: 0.5, SeverityMax: 1, Count: 40}}
	m := Models{Generator: f.gen, GeneratorName: "zoo:cvae", Screen: f.screen, Target: f.target} // the target's margins are split too
	write := func(lanes int, oomAbove string) ([]byte, string, *Result) {
		dir := t.TempDir()
		s, err := OpenDirSink(dir, "", data.FashionMNISTClasses, 1, "zoo:cvae", 1, 28, 28)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		cfg := DefaultConfig()
		cfg.BatchSize, cfg.Lanes = 64, lanes
		dd, err := NewDedup(f.e, m.Screen, f.ds, 300, cfg.DupThreshold)
		if err != nil {
			t.Fatal(err)
		}
		var res *Result
		run := func() {
			res, err = Run(context.Background(), f.e, m, targets, Options{Config: cfg, Seed: 5, Round: 1, Calibration: f.cal, Dedup: dd}, s)
		}
		if oomAbove != "" {
			withOOMAbove(t, oomAbove, run)
		} else {
			run()
		}
		if err != nil {
			t.Fatalf("lanes %d, oom above %q: %v", lanes, oomAbove, err)
		}
		s.Close()
		b, err := os.ReadFile(filepath.Join(dir, "manifest.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		return b, dir, res
	}
	for _, tc := range []struct {
		lanes int
		skip  string
	}{{1, ""}, {2, ""}, {1, "1"}} {
		// skip "1": the first batch samples at 64 rows and runs out of memory in the score stage,
		// which makes it again.
		lanes := tc.lanes
		os.Setenv("GAM_TEST_OOM_SKIP", tc.skip)
		want, wantDir, ref := write(lanes, "")
		got, gotDir, res := write(lanes, "16")
		os.Unsetenv("GAM_TEST_OOM_SKIP")
		if ref.OOMRetries != 0 || ref.EngineBatch != 64 || ref.BatchSize != 64 {
			t.Fatalf("lanes %d: the run without the hook: %d retries, engine batch %d of %d", lanes, ref.OOMRetries, ref.EngineBatch, ref.BatchSize)
		}
		if res.OOMRetries < 1 || res.EngineBatch != 16 || res.BatchSize != 64 {
			t.Fatalf("lanes %d: %d batches made again, engine batch %d of %d: want >= 1 and 16 rows per call", lanes, res.OOMRetries, res.EngineBatch, res.BatchSize)
		}
		if res.Accepted != ref.Accepted || res.Attempts != ref.Attempts || len(want) == 0 {
			t.Fatalf("lanes %d: %d accepted in %d attempts after out-of-memory, %d in %d without", lanes, res.Accepted, res.Attempts, ref.Accepted, ref.Attempts)
		}
		if !bytes.Equal(got, want) {
			// The same records, images and seeds; the scores recorded with them were computed in
			// calls of 16 rows instead of 64, and agree to float rounding.
			if err := sameManifest(want, got, wantDir, gotDir); err != nil {
				t.Fatalf("lanes %d: the manifest after out-of-memory differs: %v", lanes, err)
			}
		}
	}
}

// sameManifest compares two manifests line by line: every field equal, numbers to 1e-5 relative
// (float rounding of calls on other row counts), and every image the same to one grey level.
func sameManifest(a, b []byte, dirA, dirB string) error {
	la, lb := bytes.Split(bytes.TrimSpace(a), []byte("\n")), bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	if len(la) != len(lb) {
		return fmt.Errorf("%d and %d lines", len(la), len(lb))
	}
	for i := range la {
		var ra, rb any
		if err := json.Unmarshal(la[i], &ra); err != nil {
			return err
		}
		if err := json.Unmarshal(lb[i], &rb); err != nil {
			return err
		}
		if !closeJSON(ra, rb) {
			return fmt.Errorf("line %d:\n%s\n%s", i+1, la[i], lb[i])
		}
		p := ra.(map[string]any)["path"].(string)
		ia, err := readPNG(filepath.Join(dirA, p))
		if err != nil {
			return err
		}
		ib, err := readPNG(filepath.Join(dirB, p))
		if err != nil {
			return err
		}
		if len(ia) != len(ib) {
			return fmt.Errorf("%s: %d and %d pixels", p, len(ia), len(ib))
		}
		for k := range ia {
			if d := int(ia[k]) - int(ib[k]); d > 1 || d < -1 {
				return fmt.Errorf("%s: pixel %d is %d and %d", p, k, ia[k], ib[k])
			}
		}
	}
	return nil
}

func closeJSON(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if !closeJSON(v, y[k]) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !closeJSON(x[i], y[i]) {
				return false
			}
		}
		return true
	case float64:
		y, ok := b.(float64)
		return ok && math.Abs(x-y) <= 1e-5*math.Max(1, math.Abs(x))
	}
	return a == b
}

func readPNG(p string) ([]uint8, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		return nil, err
	}
	b := img.Bounds()
	var px []uint8
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			px = append(px, color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y)
		}
	}
	return px, nil
}

// At the floor the out-of-memory is the run's error, named as such.
func TestOOMAtTheFloorFails(t *testing.T) {
	setup(t)
	needOOMHook(t)
	f := &fixture
	targets := []plan.Target{{ID: "shirt", Class: shirt, ClassName: "shirt", Count: 20}}
	cfg := DefaultConfig()
	cfg.BatchSize, cfg.Lanes = 32, 1
	var err error
	withOOMAbove(t, "3", func() {
		_, err = Run(context.Background(), f.e, Models{Generator: f.gen, Screen: f.screen}, targets,
			Options{Config: cfg, Seed: 1, Round: 1, Calibration: f.cal, OOMFloor: 8}, &memSink{})
	})
	var be *bindings.Error
	if err == nil || !bindings.IsOOM(err) || !errors.As(err, &be) || !strings.Contains(err.Error(), "floor") {
		t.Fatalf("err %v: want the engine's out-of-memory at the floor", err)
	}
}

// The host budget sizes a run's batch from the generator's image shape; the job's batch wins.
func TestSizeBatchOnTheHost(t *testing.T) {
	setup(t)
	f := &fixture
	m := Models{Generator: f.gen, Screen: f.screen}
	mem := plan.DefaultMemoryConfig()
	mem.CPUMaxBatch = 4096
	c, err := SizeBatch(f.e, m, DefaultConfig(), mem, hostres.Memory{})
	if err != nil {
		t.Fatal(err)
	}
	if c.From != plan.BatchFromBudget || c.ImageShape != f.gen.Meta.ImageShape || c.PerSampleBytes != plan.EstimatePerSample(f.gen.Meta.ImageShape, plan.InferMapsPerSample) ||
		c.Budget == nil || c.Budget.Device != "host" || c.BatchSize < 1 {
		t.Fatalf("%+v", c)
	}
	cfg := DefaultConfig()
	cfg.BatchSize = 48
	if c, err = SizeBatch(f.e, m, cfg, mem, hostres.Memory{}); err != nil || c.BatchSize != 48 || c.From != plan.BatchFromJob {
		t.Fatalf("%+v %v", c, err)
	}
}
