package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gam-native/gam-native/bindings"
	"github.com/gam-native/gam-native/generate"
	"github.com/gam-native/gam-native/hostres"
	"github.com/gam-native/gam-native/plan"
	"github.com/gam-native/gam-native/progress"
)

// nullFiles are the fixtures pipeline_null runs (zoo/fixtures.py): a 1x8x8 generator that writes
// its class into the pixels and a screen that reads it back, so every image is accepted and the
// model work is a few tensor ops.
var nullFiles = [2]string{"null_gen.pt", "null_screen.pt"}

// nullDir finds the fixtures folder holding nullFiles: $GAM_FIXTURES, else fixtures/ beside the
// zoo (build/fixtures, `make fixtures`).
func (s *suite) nullDir() (string, error) {
	var cands []string
	if d := os.Getenv("GAM_FIXTURES"); d != "" {
		cands = append(cands, d)
	}
	if z := cmpOrString(s.zoo, cmpOrString(s.o.Zoo, bindings.FindZoo())); z != "" {
		cands = append(cands, filepath.Join(filepath.Dir(z), "fixtures"))
	}
	for _, d := range cands {
		if _, err := os.Stat(filepath.Join(d, nullFiles[0])); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("%s not found in %v (make fixtures, or GAM_FIXTURES=DIR)", nullFiles[0], cands)
}

func cmpOrString(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// nullAccepted is the accepted images per timed pipeline_null run (about a second at the target
// rate of 300,000/s); --quick takes 4,000.
const nullAccepted = 300_000

// pipelineNull measures the pipeline's rate when the model work is nearly free: generate.Run as
// the product runs it on this device (the default step and lanes; a counting sink, no dedup) with
// the null fixtures, three targets without conditions, every image accepted. That is the Go
// control plane's ceiling (queues, the sampler's choices, the batches' bookkeeping, the
// candidates, the engine calls' fixed costs); a model rate far below it leaves the control plane
// out of the way.
func (s *suite) pipelineNull(ctx context.Context) error {
	dir, err := s.nullDir()
	if err != nil {
		s.res.Skipped["pipeline_null"] = err.Error()
		s.o.Logf("bench: pipeline_null skipped: %v", err)
		return nil
	}
	g, err := s.e.LoadModel(filepath.Join(dir, nullFiles[0]), bindings.RoleGenerator)
	if err != nil {
		return err
	}
	defer g.Close()
	screen, err := s.e.LoadModel(filepath.Join(dir, nullFiles[1]), bindings.RoleClassifier)
	if err != nil {
		return err
	}
	defer screen.Close()
	q := progress.Quiet
	progress.Quiet = true
	defer func() { progress.Quiet = q }()
	total := nullAccepted
	if s.o.Quick {
		total = 4000
	}
	k := g.Meta.NumClasses
	ts := make([]plan.Target, k)
	for c := range ts {
		ts[c] = plan.Target{ID: fmt.Sprintf("class%d", c), Class: c, ClassName: fmt.Sprint(c), Count: total / k}
	}
	m := generate.Models{Generator: g, GeneratorName: "null", Screen: screen}
	for _, n := range s.o.Batches {
		var acc, att []float64
		lanes := 0
		hostres.ResetPeakRSS()
		for r := -s.o.Warmup; r < s.o.Repeat; r++ {
			cfg := generate.DefaultConfig()
			cfg.BatchSize, cfg.ProbThreshold, cfg.ConfThreshold = n, 0.5, 0
			res, err := generate.Run(ctx, s.e, m, ts, generate.Options{Config: cfg, Seed: uint64(r + 200)}, &countSink{})
			if err != nil {
				return err
			}
			if res.Accepted != total/k*k {
				return errors.New("pipeline_null: the null models did not accept every image: " + fmt.Sprint(res.Accepted, " of ", total/k*k))
			}
			if r < 0 || res.Seconds <= 0 {
				continue
			}
			lanes = res.Lanes
			acc = append(acc, float64(res.Accepted)/res.Seconds)
			att = append(att, float64(res.Attempts)/res.Seconds)
		}
		f := s.finish("pipeline_null", n, "accepted/s", Summarize(acc))
		f.Extra = map[string]float64{"attempts_per_s": Summarize(att).Median, "lanes": float64(lanes),
			"ns_per_accepted": 1e9 / max(f.Median, 1), "accepted_per_run": float64(total / k * k)}
		f.Note = "null fixtures (zoo/fixtures.py): the control plane's ceiling, model work ~free"
	}
	return nil
}
