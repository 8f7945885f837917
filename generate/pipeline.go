package generate

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gam-native/gam-native/bindings"
	"github.com/gam-native/gam-native/data"
	"github.com/gam-native/gam-native/hostres"
	"github.com/gam-native/gam-native/plan"
	"github.com/gam-native/gam-native/progress"
)

// Rejection reasons, counted per target.
const (
	ReasonNaN        = "nan"
	ReasonLabel      = "label"
	ReasonProb       = "prob"
	ReasonConfidence = "confidence"
	ReasonDuplicate  = "duplicate"
)

var verdictReason = map[bindings.Verdict]string{bindings.VerdictNaN: ReasonNaN, bindings.VerdictLabel: ReasonLabel,
	bindings.VerdictProb: ReasonProb, bindings.VerdictConfidence: ReasonConfidence}

// Models are the engine models a run of the pipeline uses. Target may be nil (no hardness
// search and no margin measurement).
type Models struct {
	Generator     *bindings.Model
	GeneratorName string // for provenance, e.g. "zoo:cvae" or a file path
	Screen        *bindings.Model
	Target        *bindings.Model
}

// On is ms with every model bound to lane (bindings.Model.On).
func (ms Models) On(lane *bindings.Engine) Models {
	out := ms
	for _, p := range []**bindings.Model{&out.Generator, &out.Screen, &out.Target} {
		if *p != nil {
			*p = (*p).On(lane)
		}
	}
	return out
}

// Candidate is an image that passed (or is pending) with everything its record needs.
type Candidate struct {
	Target     *plan.Target
	Pixels     []float32 // C*H*W
	Attrs      map[string]float32
	Conditions map[string]string // condition -> data.ByGenerator / data.ByNative
	Confidence float32           // calibrated percentile
	ScreenProb float32
	Margin     float32 // target classifier's margin (NaN when not measured)
	Seed       uint64  // the batch seed that made it
	Content    string  // "real:REF" (ConditionContent) or "edit:REF" (LatentEdit): the real image it came from
	Seq        int     // its order among its target's candidates
	// MixWith and MixWeight are a blend's soft label (Config.Blend): MixWeight of the image is
	// class MixWith, the rest the target's class. MixWeight 0: a hard label.
	MixWith   int
	MixWeight float32
}

// Sink receives candidates in a deterministic order: per target, in the order they were made.
// Flush is called after each batch and at the end: what was accepted before it must be durable
// when it returns.
type Sink interface {
	Accept(c *Candidate) error
	Pend(c *Candidate) error
	Flush() error
}

// Options are a run's fixed inputs besides the models.
type Options struct {
	Config      Config
	Seed        uint64
	Round       int
	Calibration *Calibration
	Dedup       *Dedup
	// Latents are the real images' latents that Config.Latent = "real" and "transfer" draw from
	// (EncodeReal); a target with none to draw from falls back to the prior.
	Latents *Latents
	// Real is what Config.ConditionContent = "real" draws from (NewOptions sets it).
	Real *RealPool
	// OOMFloor is the fewest rows per model call an out-of-memory may halve the batch's calls to
	// before the run fails (0: 1).
	OOMFloor int
}

// NewOptions computes what a run needs from the real training images: the confidence
// calibration (200 images per class), the duplicate index (500 per class), with
// cfg.Latent = "real" or "transfer" the real latents (500 per class), and with cfg.ProbCalibrated
// the screen's probabilities (500 per class; the screen was trained on these images, so the
// thresholds sit a little higher than on held-out ones).
func NewOptions(e *bindings.Engine, g, screen *bindings.Model, real *data.Dataset, cfg Config, seed uint64, round int) (Options, error) {
	cfg.Latent = resolveLatent(cfg.Latent, g)
	o := Options{Config: cfg, Seed: seed, Round: round}
	var err error
	if o.Calibration, err = Calibrate(e, g, real, 200); err != nil {
		return o, err
	}
	if o.Dedup, err = NewDedup(e, screen, real, 500, cfg.DupThreshold); err != nil {
		return o, err
	}
	if cfg.ProbCalibrated {
		if err = o.Calibration.CalibrateScreen(e, screen, real, 500); err != nil {
			return o, err
		}
	}
	if cfg.NeedsEncode() {
		if o.Latents, err = EncodeReal(e, g, real, 500, cfg.Latent == LatentEdit); err != nil {
			return o, err
		}
	}
	if cfg.ConditionContent == ContentReal {
		o.Real = NewRealPool(real)
	}
	return o, nil
}

// Run generates, scores and screens images for targets (their Count is the quota) and hands the
// accepted and pending ones to sink. Stages run concurrently with bounded queues: the sampler
// (schedule picks each batch's target), the score stage (one worker, or one per lane that also
// samples), and the sink's side here (reorder puts the batches back in plan order, collector
// takes them).
func Run(ctx context.Context, e *bindings.Engine, m Models, targets []plan.Target, o Options, sink Sink) (*Result, error) {
	cfg, err := checkRun(m, targets, o)
	if err != nil {
		return nil, err
	}
	step, err := newStep(e, m, cfg)
	if err != nil {
		return nil, err
	}
	defer step.Close()
	nl, err := laneCount(e, cfg, step)
	if err != nil {
		return nil, err
	}
	r := &stages{e: e, m: m, targets: targets, cfg: cfg, o: o, step: step, oom: newOOMState(cfg.BatchSize, o.OOMFloor, "generate")}
	if nl > 1 {
		var release func()
		if r.lanes, release, err = e.Lanes(nl); err != nil {
			return nil, err
		}
		defer release()
		// The models' inference copies, built here on the engine thread before the lanes call them.
		for _, mm := range []*bindings.Model{m.Generator, m.Screen, m.Target} {
			if mm != nil {
				if _, _, err := mm.InferenceCopy(); err != nil {
					return nil, err
				}
			}
		}
		// With lanes a job is only a target and a seq, and the sampler picks one when a lane asks
		// for it (a token on ready) instead of queueing jobs ahead: the choice then sees every
		// batch screened up to that moment, and fewer batches are made for a target whose quota
		// the batches in flight will meet (docs/performance.md, "Jobs on demand").
		r.ready = make(chan struct{}, len(r.lanes)) // a lane has at most one token out: it never blocks
	}
	start := time.Now()
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	need, limits := make([]int, len(targets)), make([]int, len(targets))
	total := 0
	for i, t := range targets {
		need[i] = t.Count
		total += max(need[i], 0)
		limits[i] = int(math.Ceil(cfg.MaxAttempts * float64(max(need[i], 0))))
		if realContent(&targets[i], cfg, o) {
			limits[i] = max(need[i], 0) // every real image is accepted: draw no more than the quota
		}
	}
	r.sched = newSchedule(need, limits)
	r.sampled, r.screened = make(chan *batch, cfg.QueueDepth), make(chan *batch, cfg.QueueDepth)

	go r.sample(ctx)
	var workers sync.WaitGroup
	if r.lanes == nil {
		workers.Go(func() { r.score(ctx, e, m) })
	}
	for _, l := range r.lanes {
		workers.Go(func() { r.score(ctx, l, m.On(l)) })
	}
	go func() { workers.Wait(); close(r.screened) }()

	col := newCollector(targets, cfg, o, sink, r.sched, m.Generator.Meta.Pixels(), total, &r.busy[2],
		func() bool { return ctx.Err() != nil }, cancel)
	defer col.bar.Done()
	ro := newReorder(len(targets), r.sched.finished, col.take, col.surplus,
		func(cur int) { r.sched.sinkAt.Store(int64(cur)) })
	for b := range r.screened {
		if b.err != nil {
			col.fail(b.err)
			continue
		}
		r.sched.arrived(b.ti, b.n, len(b.accepted))
		ro.put(b.ti, b.seq, b)
	}
	if ctx.Err() == nil {
		ro.close() // the channel is closed: every batch made has arrived
	}
	if col.err != nil {
		return nil, col.err
	}
	// Cancelled from outside: what was accepted so far is in the sink (flushed batch by batch), but
	// the result is short, so it is an error and never a result (a caller must not record the run as
	// done; rerunning it with the same seed makes the same candidates, and the sink keeps each once).
	if err := parent.Err(); err != nil {
		return nil, fmt.Errorf("generate: interrupted after %d of %d images: %w", col.res.Accepted, total, err)
	}
	res := col.sum()
	res.Seconds = time.Since(start).Seconds()
	res.Lanes = max(len(r.lanes), 1)
	res.BatchSize, res.EngineBatch, res.OOMRetries = cfg.BatchSize, r.oom.get(), int(r.oom.retries.Load())
	res.StageSeconds = map[string]float64{
		"sample": time.Duration(r.busy[0].Load()).Seconds(),
		"score":  time.Duration(r.busy[1].Load()).Seconds(),
		"sink":   time.Duration(r.busy[2].Load()).Seconds(),
	}
	if step != nil {
		st, err := step.Stats()
		if err != nil {
			return nil, err
		}
		res.Step = &st
		if st.Fallback != "" && cfg.Step == StepGraph {
			progress.Logf("generate: no CUDA graph: %s", st.Fallback)
		}
	}
	return res, nil
}

// stages is what one Run's stages share.
type stages struct {
	e       *bindings.Engine
	m       Models
	targets []plan.Target
	cfg     Config
	o       Options
	step    *bindings.Step // nil: the split path
	oom     *oomState
	lanes   []*bindings.Engine // nil: the engine thread alone
	sched   *schedule
	busy    [3]atomic.Int64 // per stage (sample, score, sink)

	sampled, screened chan *batch
	ready             chan struct{} // with lanes: a lane asks for a job
}

// checkRun checks the models, options and targets, and returns the run's config: its batch size
// and latent source filled in.
func checkRun(m Models, targets []plan.Target, o Options) (Config, error) {
	cfg := o.Config
	if err := cfg.Validate(); err != nil {
		return cfg, err
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = DefaultBatchSize // the caller chose no batch (loop and generate size it from the memory budget)
	}
	g := m.Generator
	if g == nil || m.Screen == nil {
		return cfg, errors.New("generate: a generator and a screen are required")
	}
	if m.Screen.Meta.NumClasses != g.Meta.NumClasses {
		return cfg, fmt.Errorf("generate: screen has %d classes, generator %d", m.Screen.Meta.NumClasses, g.Meta.NumClasses)
	}
	cfg.Latent = resolveLatent(cfg.Latent, g)
	if cfg.ProbCalibrated && (o.Calibration == nil || len(o.Calibration.Screen) != g.Meta.NumClasses) {
		return cfg, fmt.Errorf("generate: prob_calibrated needs the screen's calibration on real images (Calibration.CalibrateScreen, done by NewOptions)")
	}
	if cfg.NeedsEncode() && (o.Latents == nil || o.Latents.Dim != g.Meta.LatentDim) {
		return cfg, fmt.Errorf("generate: latent = %q (blend %v) needs the real images' latents of this generator (generate.EncodeReal)", cfg.Latent, cfg.Blend)
	}
	if cfg.Latent == LatentEdit && o.Latents.Resid == nil {
		return cfg, fmt.Errorf("generate: latent = %q needs the real images' residuals (generate.EncodeReal with resid)", cfg.Latent)
	}
	for _, t := range targets {
		if t.Class < 0 || t.Class >= g.Meta.NumClasses {
			return cfg, fmt.Errorf("generate: target %q: class %d outside the generator's %d classes", t.ID, t.Class, g.Meta.NumClasses)
		}
		if t.Condition != "" && data.AttrIndex(t.Condition) < 0 {
			return cfg, fmt.Errorf("generate: target %q: unknown condition %q", t.ID, t.Condition)
		}
	}
	return cfg, nil
}

// laneCount is how many lanes a run uses (Config.Lanes: 0 is one per CPU of the quota) on the
// CPU's split path; 1 with the fused step (one call per batch) or on a GPU, which overlaps on
// its own.
func laneCount(e *bindings.Engine, cfg Config, step *bindings.Step) (int, error) {
	if step != nil || cfg.Lanes == 1 {
		return 1, nil
	}
	info, err := e.Info()
	if err != nil {
		return 0, err
	}
	if strings.HasPrefix(info.Device, "cuda") {
		return 1, nil
	}
	if cfg.Lanes > 0 {
		return cfg.Lanes, nil
	}
	return hostres.CPUQuota(), nil
}

// newStep makes the fused step that cfg.Step asks for on the engine's device, or nil for the
// split path (see Config.Step).
func newStep(e *bindings.Engine, m Models, cfg Config) (*bindings.Step, error) {
	mode := cfg.Step
	if mode == "" || mode == StepAuto {
		info, err := e.Info()
		if err != nil {
			return nil, err
		}
		mode = StepSplit
		if strings.HasPrefix(info.Device, "cuda") {
			mode = StepGraph
		}
	}
	if mode == StepSplit || cfg.ProbCalibrated || cfg.Latent == LatentEdit || cfg.Blend > 0 {
		// The calibrated screen's per-class threshold and label rule live in screenBatch, and so
		// does a blend's two-class rule; an edit is finished on the host between sample and screen.
		return nil, nil
	}
	return e.NewStep(m.Generator, m.Screen, cfg.BatchSize, cfg.ProbThreshold, mode == StepGraph)
}

// StageAlone times the pipeline's sample stage and then its score stage, each alone on the
// engine, with the same code as Run: perTarget batches of n images for every target are sampled
// back to back (that rate is the sample stage's), then the same batches are scored back to back
// (the score stage's). No queues, no overlap, no sink. For issue 5's measure: the pipeline's rate
// against its slowest stage run alone.
func StageAlone(e *bindings.Engine, m Models, targets []plan.Target, o Options, n, perTarget int) (sample, score float64, err error) {
	cfg := o.Config
	cfg.Latent = resolveLatent(cfg.Latent, m.Generator)
	var bs []*batch
	defer func() {
		for _, b := range bs {
			b.close()
		}
	}()
	t0 := time.Now()
	for ti := range targets {
		for seq := 0; seq < perTarget; seq++ {
			b := sampleBatch(e, m, nil, &targets[ti], cfg, o, ti, seq, n, 0)
			bs = append(bs, b)
			if b.err != nil {
				return 0, 0, b.err
			}
		}
	}
	images := float64(n * len(bs))
	sample = images / time.Since(t0).Seconds()
	t0 = time.Now()
	for _, b := range bs {
		if err := scoreBatch(e, m, targets[b.ti].Class, cfg, o.Calibration, o.Dedup != nil, b); err != nil {
			return 0, 0, err
		}
	}
	score = images / time.Since(t0).Seconds()
	return sample, score, nil
}
