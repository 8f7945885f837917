package generate

import (
	"context"
	"errors"
	"testing"

	"github.com/gam-native/gam-native/plan"
)

// cancelSink cancels the run once it has accepted after images.
type cancelSink struct {
	memSink
	after  int
	cancel context.CancelFunc
}

func (s *cancelSink) Accept(c *Candidate) error {
	if err := s.memSink.Accept(c); err != nil {
		return err
	}
	if len(s.acc) == s.after {
		s.cancel()
	}
	return nil
}

// A run cancelled from outside is an error wrapping context.Canceled, never a short result that
// a caller could record as done (issue 27).
func TestCancelledRunIsAnError(t *testing.T) {
	setup(t)
	f := &fixture
	targets := []plan.Target{{ID: "shirt", Class: shirt, ClassName: "shirt", Count: 400}, {ID: "coat", Class: coat, ClassName: "coat", Count: 400}}
	cfg := DefaultConfig()
	cfg.BatchSize = 32
	cfg.ConfThreshold, cfg.ProbThreshold = 0, 0.05
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sink := &cancelSink{after: 40, cancel: cancel}
	res, err := Run(ctx, f.e, Models{Generator: f.gen, Screen: f.screen}, targets, Options{Config: cfg, Seed: 7, Round: 1, Calibration: f.cal}, sink)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled run: result %+v, error %v; want an error wrapping context.Canceled", res, err)
	}
	if res != nil {
		t.Fatalf("cancelled run returned a result as well as its error: %+v", res)
	}
	if n := len(sink.acc); n < 40 || n >= 800 {
		t.Fatalf("sink holds %d images: want the 40 before the cancel and at most the batches in flight", n)
	}
	// Cancelled before it starts: an error too, not an empty result.
	if _, err := Run(ctx, f.e, Models{Generator: f.gen, Screen: f.screen}, targets, Options{Config: cfg, Seed: 7, Round: 1, Calibration: f.cal}, &memSink{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("run on a cancelled context: %v; want context.Canceled", err)
	}
}
