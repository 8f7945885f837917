package generate

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gam-native/gam-native/bindings"
	"github.com/gam-native/gam-native/data"
	"github.com/gam-native/gam-native/internal/human"
	"github.com/gam-native/gam-native/plan"
	"github.com/gam-native/gam-native/progress"
	"github.com/gam-native/gam-native/train"
)

// Rejection reasons, counted per target.
const (
	ReasonNaN        = "nan"
	ReasonLabel      = "label"
	ReasonProb       = "prob"
	ReasonConfidence = "confidence"
	ReasonDuplicate  = "duplicate"
)

var verdictReason = map[int64]string{1: ReasonNaN, 2: ReasonLabel, 3: ReasonProb, 4: ReasonConfidence}

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

// TargetResult is what happened to one target.
type TargetResult struct {
	ID         string         `json:"id"`
	Quota      int            `json:"quota"`
	Accepted   int            `json:"accepted"`
	Pending    int            `json:"pending"`
	Attempts   int            `json:"attempts"`
	Rejected   map[string]int `json:"rejected"`
	Shortfall  int            `json:"shortfall"`
	MeanMargin float64        `json:"mean_margin"`
}

// Result sums a pipeline run.
type Result struct {
	Targets  []TargetResult `json:"targets"`
	Accepted int            `json:"accepted"`
	Pending  int            `json:"pending"`
	Attempts int            `json:"attempts"`
	Seconds  float64        `json:"seconds"`
	// StageSeconds is the busy time of each stage (sample, score+screen, sink).
	StageSeconds map[string]float64 `json:"stage_seconds"`
	// Step is how the fused step ran (nil when the batches took the split path).
	Step *bindings.StepStats `json:"step,omitempty"`
	// Lanes is how many engine lanes made the batches (Config.Lanes); 1: the engine thread.
	Lanes int `json:"lanes"`
	// Surplus is the images made in batches that arrived after their target had met its quota
	// (made ahead, not attempts): work the run paid for and threw away.
	Surplus int `json:"surplus"`
	// BatchSize is the rows per batch (Config.BatchSize, or DefaultBatchSize when it was 0).
	// OOMRetries counts the batches made again after an engine out-of-memory, and EngineBatch is
	// the rows per model call the run ended at (BatchSize unless an out-of-memory halved it; see
	// chunk.go).
	BatchSize   int `json:"batch_size"`
	EngineBatch int `json:"engine_batch"`
	OOMRetries  int `json:"oom_retries"`
	// Budget is how the caller chose BatchSize (the job's, or the memory budget's), when it says.
	Budget *plan.BatchChoice `json:"budget,omitempty"`
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

type batch struct {
	ti, seq int
	n       int
	seed    uint64
	x, y, a *bindings.Tensor
	sev     []float32 // per image severity of the target's condition (nil: none)
	condBy  string
	// condAfter: the condition is applied to the accepted rows after screening (cond names it)
	condAfter bool
	cond      string
	// screened: the sample stage ran the fused step, so verdict and prob are already filled
	screened bool
	// content[i] names the real training image row i came from ("real:REF" or "edit:REF"); nil
	// for drawn content. asDrawn: the rows are real images (ConditionContent), accepted unscreened.
	content []string
	asDrawn bool
	// mixWith[i] and mixW[i] are row i's blend (Config.Blend): its confuser and that class's
	// share of its soft label; nil when the rows are not blends.
	mixWith []int64
	mixW    []float32
	// job: only ti, seq and n are set; a lane samples it (Config.Lanes)
	job bool
	// chunk is the rows per model call it was made with (0 or >= n: the whole batch at once)
	chunk int
	// filled by the score stage
	verdict  []int64
	prob     []float32
	conf     []float32
	margin   []float32
	accepted []int64
	pixels   []float32 // accepted rows
	vecs     [][]float32
	err      error
}

func (b *batch) close() { bindings.CloseAll(b.x, b.y, b.a) }

// covered reports whether the batches made but not yet counted are expected to bring the accepted
// count to need, at inflightOptimism times the acceptance rate seen so far. The caller counts
// consumed batches for the sink's current target and screened ones for a later target. Before
// the first batch is counted the rate is unknown, so one batch in flight is enough to wait for.
func covered(made, consumed, accepted, need int64) bool {
	inflight := made - consumed
	if inflight <= 0 {
		return false
	}
	if consumed == 0 {
		return true
	}
	rate := float64(accepted) / float64(consumed)
	return float64(accepted)+inflightOptimism*rate*float64(inflight) >= float64(need)
}

// inflightOptimism: covered counts the batches in flight at 1.3 times the rate seen so far. A batch
// made beyond a target's quota is thrown away whole (Result.Surplus), while one too few is made
// when the shortfall shows, the lanes working on the next targets meanwhile; at the rate itself
// (1.0) 2.4% of the attempts were surplus, at 1.3 0-0.6%, for 1.04x the attempts per second at
// batch 256 on two lanes (docs/performance.md, "Targets covered by the batches in flight").
const inflightOptimism = 1.3

// batchSeed derives the seed of batch seq of target id, so that a target's images do not
// depend on which other targets a plan has.
func batchSeed(seed uint64, round int, id string, seq int) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%d/%s/%d", seed, round, id, seq)
	return h.Sum64()
}

// Run generates, scores and screens images for targets (their Count is the quota) and hands the
// accepted and pending ones to sink. Stages run concurrently with bounded queues.
func Run(ctx context.Context, e *bindings.Engine, m Models, targets []plan.Target, o Options, sink Sink) (*Result, error) {
	cfg := o.Config
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = DefaultBatchSize // the caller chose no batch (loop and generate size it from the memory budget)
	}
	g := m.Generator
	if g == nil || m.Screen == nil {
		return nil, errors.New("generate: a generator and a screen are required")
	}
	if m.Screen.Meta.NumClasses != g.Meta.NumClasses {
		return nil, fmt.Errorf("generate: screen has %d classes, generator %d", m.Screen.Meta.NumClasses, g.Meta.NumClasses)
	}
	cfg.Latent = resolveLatent(cfg.Latent, g)
	if cfg.ProbCalibrated && (o.Calibration == nil || len(o.Calibration.Screen) != g.Meta.NumClasses) {
		return nil, fmt.Errorf("generate: prob_calibrated needs the screen's calibration on real images (Calibration.CalibrateScreen, done by NewOptions)")
	}
	if cfg.NeedsEncode() && (o.Latents == nil || o.Latents.Dim != g.Meta.LatentDim) {
		return nil, fmt.Errorf("generate: latent = %q (blend %v) needs the real images' latents of this generator (generate.EncodeReal)", cfg.Latent, cfg.Blend)
	}
	if cfg.Latent == LatentEdit && o.Latents.Resid == nil {
		return nil, fmt.Errorf("generate: latent = %q needs the real images' residuals (generate.EncodeReal with resid)", cfg.Latent)
	}
	for _, t := range targets {
		if t.Class < 0 || t.Class >= g.Meta.NumClasses {
			return nil, fmt.Errorf("generate: target %q: class %d outside the generator's %d classes", t.ID, t.Class, g.Meta.NumClasses)
		}
		if t.Condition != "" && data.AttrIndex(t.Condition) < 0 {
			return nil, fmt.Errorf("generate: target %q: unknown condition %q", t.ID, t.Condition)
		}
	}
	step, err := newStep(e, m, cfg)
	if err != nil {
		return nil, err
	}
	defer step.Close()
	oom := newOOMState(cfg.BatchSize, o.OOMFloor, "generate")
	nl, err := laneCount(e, cfg, step)
	if err != nil {
		return nil, err
	}
	var lanes []*bindings.Engine
	if nl > 1 {
		var release func()
		if lanes, release, err = e.Lanes(nl); err != nil {
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
	}
	start := time.Now()
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make([]atomic.Bool, len(targets))
	need := make([]int, len(targets))
	total := 0
	for i, t := range targets {
		need[i] = t.Count
		if need[i] <= 0 {
			done[i].Store(true)
		}
		total += max(need[i], 0)
	}
	var busy [3]atomic.Int64
	// What the sink has seen, per target, so the sampler does not run far ahead of a target whose
	// quota the batches in flight will probably cover (those would be thrown away).
	accepted := make([]atomic.Int64, len(targets))
	consumed := make([]atomic.Int64, len(targets))
	// What has come back from the score stage, per target, consumed or held by the sink: the rate a
	// target the sink has not reached yet accepts at, so that the sampler can run ahead on it by
	// more than one batch (docs/performance.md, "Looking ahead across target boundaries").
	arrivedN := make([]atomic.Int64, len(targets))
	arrivedAcc := make([]atomic.Int64, len(targets))
	sampled := make(chan *batch, cfg.QueueDepth)
	screened := make(chan *batch, cfg.QueueDepth)
	// The sampler works on the first target (in plan order) that still needs batches and whose
	// batches in flight are not expected to cover its quota; when every open target is covered it
	// waits for the sink. So at the end of one target it samples the next one's first batches
	// instead of idling while the score stage finishes, and the score stage does not idle at the
	// next target's start (docs/performance.md, "Looking ahead across target boundaries"). The sink still takes the targets
	// in plan order (below), so the records do not depend on this look-ahead.
	limits := make([]int, len(targets))
	for ti := range targets {
		limits[ti] = int(math.Ceil(cfg.MaxAttempts * float64(max(need[ti], 0))))
		if realContent(&targets[ti], cfg, o) {
			limits[ti] = max(need[ti], 0) // every real image is accepted: draw no more than the quota
		}
	}
	// Per target: batches made (counted before each is sent), and whether its last one is sent.
	batchesMade := make([]atomic.Int64, len(targets))
	exhausted := make([]atomic.Bool, len(targets))
	var sinkAt atomic.Int64 // the target the sink is taking (every earlier one is finished)
	// With lanes a job is only a target and a seq, and the sampler picks one when a lane asks for
	// it (a token on ready) instead of queueing jobs ahead: the choice then sees every batch
	// screened up to that moment, and fewer batches are made for a target whose quota the batches
	// in flight will meet (docs/performance.md, "Jobs on demand").
	var ready chan struct{}
	if lanes != nil {
		ready = make(chan struct{}, len(lanes)) // a lane has at most one token out: it never blocks
	}
	go func() {
		defer close(sampled)
		t0 := time.Now()
		made := make([]int, len(targets))
		seq := make([]int, len(targets))
		asked := false // a lane's token taken and its job not yet sent
		for ctx.Err() == nil {
			if ready != nil && !asked {
				select {
				case <-ready:
					asked = true
				case <-ctx.Done():
					return
				}
				t0 = time.Now() // waiting for a lane is not sampling
			}
			// From the sink's current target on. The sink holds the batches of the targets after
			// it (accepted rows only) until it gets to them, as many as their screened rate says
			// their quotas need (one until a first batch is screened). A look-ahead of one target
			// was tried and measured: at batch 1024 a target needs about two batches, so it stalled
			// the sampler again (docs/performance.md, "Looking ahead across target boundaries").
			ti, waiting := -1, false
			for i := int(sinkAt.Load()); i < len(targets); i++ {
				if done[i].Load() || made[i] >= limits[i] {
					continue
				}
				c, a := consumed[i].Load(), accepted[i].Load()
				if c == 0 {
					// Not reached by the sink: the batches screened so far give the rate. Once the
					// sink takes the target, what it accepted (after dedup) decides.
					c, a = arrivedN[i].Load(), arrivedAcc[i].Load()
				}
				if covered(int64(made[i]), c, a, int64(need[i])) {
					waiting = true
					continue
				}
				ti = i
				break
			}
			if ti < 0 {
				if !waiting {
					return // every target from the sink's on met its quota or spent its attempts
				}
				time.Sleep(time.Millisecond)
				t0 = time.Now() // waiting is not sampling
				continue
			}
			n := min(cfg.BatchSize, limits[ti]-made[ti])
			b := &batch{ti: ti, seq: seq[ti], n: n, job: true} // with lanes, a lane samples it
			if lanes == nil {
				b = sampleRetry(e, m, step, &targets[ti], cfg, o, ti, seq[ti], n, oom)
			}
			busy[0].Add(int64(time.Since(t0)))
			failed := b.err != nil // read before b belongs to the score stage
			batchesMade[ti].Add(1)
			if made[ti]+n >= limits[ti] {
				exhausted[ti].Store(true) // before the send: the sink must not wait for more
			}
			select {
			case sampled <- b:
			case <-ctx.Done():
				b.close()
				return
			}
			asked = false
			t0 = time.Now()
			if failed {
				return
			}
			made[ti] += n
			seq[ti]++
		}
	}()
	// The score stage: on the engine thread, or with lanes one worker per lane that samples each
	// job on its lane and then scores it there (the sampler above only hands out the jobs).
	laneCfg := cfg
	laneCfg.SyncSample = true // on the lane's own thread, not the engine's worker
	score := func(e *bindings.Engine, m Models) {
		for {
			if ready != nil {
				ready <- struct{}{}
			}
			b, ok := <-sampled
			if !ok {
				return
			}
			if ctx.Err() != nil { // draining after a failure: free the handles
				b.close()
				continue
			}
			t0 := time.Now()
			bstep, bcfg := step, cfg
			if b.job {
				bstep, bcfg = nil, laneCfg
				b = sampleRetry(e, m, nil, &targets[b.ti], laneCfg, o, b.ti, b.seq, b.n, oom)
				t1 := time.Now()
				busy[0].Add(int64(t1.Sub(t0)))
				t0 = t1
			}
			if b.err == nil {
				b.err = scoreBatch(e, m, targets[b.ti].Class, cfg, o.Calibration, o.Dedup != nil, b)
			}
			for b.err != nil && bindings.IsOOM(b.err) {
				// Out of memory while scoring: the same batch again, sampled and scored in smaller calls.
				c, ok := oom.shrink(b.chunk, b.n, b.err)
				if !ok {
					b.err = oom.floorError(b.err)
					break
				}
				nb := sampleRetry(e, m, bstep, &targets[b.ti], bcfg, o, b.ti, b.seq, b.n, oom, c)
				b.close()
				b = nb
				if b.err == nil {
					b.err = scoreBatch(e, m, targets[b.ti].Class, cfg, o.Calibration, o.Dedup != nil, b)
				}
			}
			b.close()
			busy[1].Add(int64(time.Since(t0)))
			select {
			case screened <- b:
			case <-ctx.Done():
				return
			}
		}
	}
	var workers sync.WaitGroup
	if lanes == nil {
		workers.Add(1)
		go func() { defer workers.Done(); score(e, m) }()
	}
	for _, l := range lanes {
		workers.Add(1)
		go func() { defer workers.Done(); score(l, m.On(l)) }()
	}
	go func() { workers.Wait(); close(screened) }()

	res := &Result{Targets: make([]TargetResult, len(targets))}
	for i, t := range targets {
		res.Targets[i] = TargetResult{ID: t.ID, Quota: t.Count, Rejected: map[string]int{}}
	}
	bar := progress.New(total, "generate")
	defer bar.Done()
	margins := make([][]float64, len(targets))
	seqs := make([]int, len(targets))
	batchesSeen := make([]int, len(targets))
	var firstErr error
	consume := func(b *batch) {
		if ctx.Err() != nil {
			return // cancelled or failed: the run ends with an error, and takes no more images
		}
		t0 := time.Now()
		ti := b.ti
		tr := &res.Targets[ti]
		batchesSeen[ti]++
		if done[ti].Load() || firstErr != nil {
			res.Surplus += b.n // a batch made before the quota was met: surplus, not an attempt
			return
		}
		tr.Attempts += b.n
		consumed[ti].Add(int64(b.n))
		for _, v := range b.verdict {
			if r, ok := verdictReason[v]; ok {
				tr.Rejected[r]++
			}
		}
		sz := g.Meta.Pixels()
		for j, row := range b.accepted {
			if done[ti].Load() {
				break
			}
			if o.Dedup != nil && !b.asDrawn && o.Dedup.Check(targets[ti].Class, b.vecs[j]) {
				tr.Rejected[ReasonDuplicate]++
				continue
			}
			c := &Candidate{Target: &targets[ti], Pixels: b.pixels[j*sz : (j+1)*sz], Confidence: b.conf[row],
				ScreenProb: b.prob[row], Margin: float32(math.NaN()), Seed: b.seed, Seq: seqs[ti]}
			seqs[ti]++
			if b.margin != nil {
				c.Margin = b.margin[j]
			}
			if b.content != nil {
				c.Content = b.content[row]
			}
			if b.mixWith != nil {
				c.MixWith, c.MixWeight = int(b.mixWith[row]), b.mixW[row]
			}
			if t := targets[ti]; t.Condition != "" {
				c.Attrs = map[string]float32{t.Condition: b.sev[row]}
				c.Conditions = map[string]string{t.Condition: b.condBy}
			}
			if cfg.ReviewBand > 0 && c.ScreenProb < cfg.ProbThreshold+cfg.ReviewBand {
				if err := sink.Pend(c); err != nil {
					firstErr = err
					cancel()
					break
				}
				tr.Pending++
				res.Pending++
				continue
			}
			if err := sink.Accept(c); err != nil {
				firstErr = err
				cancel()
				break
			}
			if b.margin != nil {
				margins[ti] = append(margins[ti], float64(c.Margin))
			}
			tr.Accepted++
			res.Accepted++
			accepted[ti].Add(1)
			bar.Add(1, "")
			if tr.Accepted >= tr.Quota {
				done[ti].Store(true)
			}
		}
		if firstErr == nil {
			if err := sink.Flush(); err != nil {
				firstErr = err
				cancel()
			}
		}
		busy[2].Add(int64(time.Since(t0)))
	}
	// The sink takes the targets in plan order, each one's batches in the order they were made,
	// whatever the sampler's look-ahead and whichever lane finished first: batches of a later
	// target, and a target's batches that came before an earlier one of it, wait here until every
	// earlier one has been taken or its target has met its quota or spent its attempts.
	held := make([]map[int]*batch, len(targets))
	for i := range held {
		held[i] = map[int]*batch{}
	}
	next := make([]int, len(targets)) // the seq of the batch each target takes next
	cur := 0
	// A target is finished when its quota is met, or when its last batch is made and every batch
	// made for it has been seen; once the channel is closed nothing more can come for any target.
	finished := func(ti int, closed bool) bool {
		return closed || done[ti].Load() || exhausted[ti].Load() && batchesSeen[ti] == int(batchesMade[ti].Load())
	}
	advance := func(closed bool) {
		for cur < len(targets) {
			for b, ok := held[cur][next[cur]]; ok; b, ok = held[cur][next[cur]] {
				delete(held[cur], next[cur])
				next[cur]++
				consume(b)
			}
			if !finished(cur, closed) {
				return
			}
			for _, b := range held[cur] { // behind a gap when the quota was met: surplus
				res.Surplus += b.n
			}
			clear(held[cur])
			cur++
			sinkAt.Store(int64(cur))
		}
	}
	for b := range screened {
		if b.err != nil {
			if firstErr == nil {
				firstErr = b.err
			}
			cancel()
			continue
		}
		arrivedN[b.ti].Add(int64(b.n))
		arrivedAcc[b.ti].Add(int64(len(b.accepted)))
		if b.ti < cur {
			consume(b) // made before its target met its quota: surplus
		} else {
			held[b.ti][b.seq] = b
		}
		advance(false)
	}
	if ctx.Err() == nil {
		advance(true) // the channel is closed: every batch made has arrived
	}
	if firstErr != nil {
		return nil, firstErr
	}
	// Cancelled from outside: what was accepted so far is in the sink (flushed batch by batch), but
	// the result is short, so it is an error and never a result (a caller must not record the run as
	// done; rerunning it with the same seed makes the same candidates, and the sink keeps each once).
	if err := parent.Err(); err != nil {
		return nil, fmt.Errorf("generate: interrupted after %d of %d images: %w", res.Accepted, total, err)
	}
	for i := range res.Targets {
		tr := &res.Targets[i]
		tr.Shortfall = max(tr.Quota-tr.Accepted, 0)
		res.Attempts += tr.Attempts
		if len(margins[i]) > 0 {
			var s float64
			for _, v := range margins[i] {
				s += v
			}
			tr.MeanMargin = s / float64(len(margins[i]))
		}
		if tr.Shortfall > 0 {
			progress.Logf("generate: target %s got %d of %d after %d attempts (rejected: %s)", tr.ID, tr.Accepted, tr.Quota, tr.Attempts, human.Counts(tr.Rejected))
		}
	}
	res.Seconds = time.Since(start).Seconds()
	res.Lanes = max(len(lanes), 1)
	res.BatchSize, res.EngineBatch, res.OOMRetries = cfg.BatchSize, oom.get(), int(oom.retries.Load())
	res.StageSeconds = map[string]float64{
		"sample": time.Duration(busy[0].Load()).Seconds(),
		"score":  time.Duration(busy[1].Load()).Seconds(),
		"sink":   time.Duration(busy[2].Load()).Seconds(),
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
	return bindings.CPUQuota(), nil
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

// sampleBatch draws z, runs the optional hardness search, samples, and applies the target's
// condition: through the generator's attrs when it lists it, else by the native operation.
func sampleBatch(e *bindings.Engine, m Models, step *bindings.Step, t *plan.Target, cfg Config, o Options, ti, seq, n, chunk int) *batch {
	g := m.Generator
	b := &batch{ti: ti, seq: seq, n: n, seed: batchSeed(o.Seed, o.Round, t.ID, seq), chunk: chunk}
	if chunk >= n {
		chunk = 0 // one call per model
	}
	rng := rand.New(rand.NewPCG(b.seed, 0x3c6ef372fe94f82b))
	fail := func(err error) *batch { b.err = fmt.Errorf("target %s: %w", t.ID, err); return b }
	if realContent(t, cfg, o) {
		if err := realContentBatch(e, t, o.Real, rng, b); err != nil {
			return fail(err)
		}
		return b
	}
	var z *bindings.Tensor
	var err error
	var donors, from []int
	var blendShares []float64
	if cfg.Blend > 0 {
		donors, blendShares = o.Latents.blendDonors(t.Class, t.ConfusedWith)
	} else if cfg.Latent == LatentTransfer {
		donors = o.Latents.donors(t.Class, t.ConfusedWith)
	}
	switch {
	case blendShares != nil:
		lr := rand.New(rand.NewPCG(b.seed, 0x9e3779b97f4a7c15))
		zs, with, u := o.Latents.DrawBlend(lr, t.Class, donors, blendShares, n, cfg.Temperature)
		b.mixWith, b.mixW = with, u
		for i := range b.mixW {
			b.mixW[i] *= cfg.Blend
		}
		z, err = e.FromF32(zs, int64(n), int64(o.Latents.Dim))
	case cfg.Blend > 0 && cfg.Latent != LatentPrior && o.Latents.Count(t.Class) > 0:
		// No confuser with latents: a plain draw between real images of the class.
		lr := rand.New(rand.NewPCG(b.seed, 0x9e3779b97f4a7c15))
		var zs []float32
		zs, from = o.Latents.Draw(lr, t.Class, n, cfg.Temperature, 1)
		z, err = e.FromF32(zs, int64(n), int64(o.Latents.Dim))
	case (cfg.Latent == LatentReal || cfg.Latent == LatentEdit) && o.Latents.Count(t.Class) > 0:
		lr := rand.New(rand.NewPCG(b.seed, 0x9e3779b97f4a7c15))
		reach := float32(1)
		if cfg.Latent == LatentEdit {
			reach = cmp.Or(cfg.EditReach, 0.5)
		}
		var zs []float32
		zs, from = o.Latents.Draw(lr, t.Class, n, cfg.Temperature, reach)
		z, err = e.FromF32(zs, int64(n), int64(o.Latents.Dim))
	case len(donors) > 0:
		lr := rand.New(rand.NewPCG(b.seed, 0x9e3779b97f4a7c15))
		z, err = e.FromF32(o.Latents.DrawFrom(lr, donors, n, cfg.Temperature), int64(n), int64(o.Latents.Dim))
	default:
		z, err = e.Randn(cfg.Temperature, b.seed, int64(n), int64(g.Meta.LatentDim))
	}
	if err != nil {
		return fail(err)
	}
	defer z.Close()
	ys := make([]int64, n)
	for i := range ys {
		ys[i] = int64(t.Class)
	}
	if b.y, err = e.FromI64(ys, int64(n)); err != nil {
		return fail(err)
	}
	na := len(g.Meta.AttrNames)
	col := slices.Index(g.Meta.AttrNames, t.Condition)
	// An edit's residual is its real image's clean detail, so its condition is applied natively
	// to the edit, never drawn by the generator under it.
	edit := cfg.Latent == LatentEdit && from != nil
	if edit {
		col = -1
	}
	if t.Condition != "" {
		b.sev = severities(t, rng, n)
		b.condBy = data.ByNative
		if cfg.ConditionAfterScreen {
			b.condAfter, b.cond, col = true, t.Condition, -1
		} else if col >= 0 {
			b.condBy = data.ByGenerator
		}
	}
	if na > 0 {
		av := make([]float32, n*na)
		if col >= 0 {
			for i := 0; i < n; i++ {
				av[i*na+col] = b.sev[i]
			}
		}
		if b.a, err = e.FromF32(av, int64(n), int64(na)); err != nil {
			return fail(err)
		}
	}
	zz := z
	if steps := int(math.Round(float64(cfg.SearchSteps) * t.Hardness)); steps > 0 && m.Target != nil {
		zz, err = inChunks(e, chunk, n, []*bindings.Tensor{z, b.y, b.a}, func(in []*bindings.Tensor) (*bindings.Tensor, error) {
			return g.Search(m.Target, in[0], in[1], in[2], steps, cfg.SearchLR, cfg.SearchPull)
		})
		if err != nil {
			return fail(err)
		}
		defer zz.Close()
	}
	nativeBefore := t.Condition != "" && col < 0 && !b.condAfter
	if step != nil && !nativeBefore && !edit {
		// Sample and screen in one call (on CUDA one graph replay); the score stage skips the screen.
		if b.x, b.verdict, b.prob, err = stepInChunks(e, step, chunk, n, zz, b.y, b.a); err != nil {
			return fail(err)
		}
		b.screened = true
	} else if cfg.SyncSample || chunk > 0 {
		b.x, err = inChunks(e, chunk, n, []*bindings.Tensor{zz, b.y, b.a}, func(in []*bindings.Tensor) (*bindings.Tensor, error) {
			return g.Sample(in[0], in[1], in[2])
		})
		if err != nil {
			return fail(err)
		}
	} else {
		// On the engine's worker thread: the score stage's calls run on the engine thread meanwhile.
		fut, err := g.SampleAsync(zz, b.y, b.a)
		if err != nil {
			return fail(err)
		}
		if b.x, err = fut.Wait(); err != nil {
			return fail(err)
		}
	}
	if edit {
		if err := editBatch(e, o.Latents, t.Class, from, b); err != nil {
			return fail(err)
		}
	}
	if nativeBefore {
		nx, err := e.ConditionNamed(b.x, t.Condition, b.sev, b.seed)
		if err != nil {
			return fail(err)
		}
		b.x.Close()
		b.x = nx
	}
	return b
}

// editBatch turns b's samples into edits of the real images they were drawn around (LatentEdit):
// x = clamp(sample + residual_i, 0, 1), and names each row's image in b.content.
func editBatch(e *bindings.Engine, l *Latents, cls int, from []int, b *batch) error {
	px, err := b.x.F32()
	if err != nil {
		return err
	}
	sz := len(px) / b.n
	res := l.Resid[cls]
	if len(res) < (slices.Max(from)+1)*sz {
		return fmt.Errorf("edit: the residuals of class %d have %d values, the sample %d per image", cls, len(res), sz)
	}
	b.content = make([]string, b.n)
	for r, i := range from {
		row, ri := px[r*sz:(r+1)*sz], res[i*sz:(i+1)*sz]
		for k := range row {
			row[k] = min(max(row[k]+ri[k], 0), 1)
		}
		b.content[r] = "edit:" + l.Refs[cls][i]
	}
	shape, err := b.x.Shape()
	if err != nil {
		return err
	}
	nx, err := e.FromF32(px, shape...)
	if err != nil {
		return err
	}
	b.x.Close()
	b.x = nx
	return nil
}

// realContent reports whether t's images are real training images (Config.ConditionContent).
func realContent(t *plan.Target, cfg Config, o Options) bool {
	return t.Condition != "" && cfg.ConditionContent == ContentReal && o.Real.Count(t.Class) > 0
}

// severities draws n severities of t's condition, uniform in its range.
func severities(t *plan.Target, rng *rand.Rand, n int) []float32 {
	lo, hi := t.SeverityMin, t.SeverityMax
	if hi <= lo {
		lo, hi = 0.5, 1
	}
	sev := make([]float32, n)
	for i := range sev {
		sev[i] = float32(lo + (hi-lo)*rng.Float64())
	}
	return sev
}

// realContentBatch fills b with real training images of t's class (ConditionContent = "real"); the
// score stage accepts them as drawn and degrades them at their severities.
func realContentBatch(e *bindings.Engine, t *plan.Target, pool *RealPool, rng *rand.Rand, b *batch) error {
	b.sev = severities(t, rng, b.n)
	b.condBy, b.condAfter, b.cond = data.ByNative, true, t.Condition
	px, refs := pool.Draw(rng, t.Class, b.n)
	b.content, b.asDrawn = refs, true
	ds := pool.ds
	var err error
	b.x, err = e.FromF32(px, int64(b.n), int64(ds.C), int64(ds.H), int64(ds.W))
	return err
}

// scoreBatch screens the batch first (the fused op: NaN, label, probability), then scores the
// generation confidence of the survivors only (it costs twice the screen per image and most
// images fall at the screen), and copies out the accepted rows (pixels, embeddings, margins).
func scoreBatch(e *bindings.Engine, m Models, class int, cfg Config, cal *Calibration, dedup bool, b *batch) error {
	if b.asDrawn {
		// Real images of the class: nothing to screen or score; every row is accepted as drawn.
		b.verdict = make([]int64, b.n)
		b.prob, b.conf = make([]float32, b.n), make([]float32, b.n)
		b.accepted = make([]int64, b.n)
		for i := range b.accepted {
			b.prob[i], b.conf[i], b.accepted[i] = 1, 1, int64(i)
		}
		return finishAccepted(e, m, class, false, b, b.x)
	}
	survivors, err := screenBatch(e, m, cfg, cal, class, b)
	if err != nil {
		return err
	}
	b.conf = make([]float32, b.n)
	if len(survivors) == 0 {
		return nil
	}
	xs := b.x // every row survived: no copy (two engine calls fewer per batch)
	if len(survivors) < b.n {
		if xs, err = b.x.Select(survivors); err != nil {
			return err
		}
		defer xs.Close()
	}
	raw, err := confidenceRows(e, m.Generator, xs, b, survivors)
	if err != nil {
		return err
	}
	keep := make([]int64, 0, len(survivors))
	keepRows := make([]int64, 0, len(survivors))
	for j, row := range survivors {
		v := raw[j]
		switch {
		case math.IsNaN(float64(v)) || math.IsInf(float64(v), 0):
			b.verdict[row] = int64(bindings.VerdictNaN)
			continue
		default:
			b.conf[row] = cal.Percentile(class, v)
			if b.conf[row] < cfg.ConfThreshold {
				b.verdict[row] = int64(bindings.VerdictConfidence)
				continue
			}
			keep = append(keep, int64(j))
			keepRows = append(keepRows, row)
		}
	}
	b.accepted = keepRows
	if len(keep) == 0 {
		return nil
	}
	xa := xs
	if len(keep) < len(survivors) {
		if xa, err = xs.Select(keep); err != nil {
			return err
		}
		defer xa.Close()
	}
	return finishAccepted(e, m, class, dedup, b, xa)
}

// finishAccepted takes the accepted rows xa (b.accepted, in order): applies a condition left for
// after the screen, and copies out their pixels, embeddings (dedup) and the target's margins.
func finishAccepted(e *bindings.Engine, m Models, class int, dedup bool, b *batch, xa *bindings.Tensor) error {
	if b.condAfter {
		sev := make([]float32, len(b.accepted))
		for j, row := range b.accepted {
			sev[j] = b.sev[row]
		}
		nx, err := e.ConditionNamed(xa, b.cond, sev, b.seed)
		if err != nil {
			return err
		}
		defer nx.Close()
		xa = nx
	}
	var err error
	if b.pixels, err = xa.F32(); err != nil {
		return err
	}
	if dedup {
		// From the rows already in engine memory: no second upload of the pixels.
		if b.vecs, err = embedChunked(e, m.Screen, xa, b.pixels, len(b.accepted), b.calls()); err != nil {
			return err
		}
	}
	if m.Target != nil {
		if b.margin, err = margins(e, m.Target, xa, class, len(b.accepted), b.calls()); err != nil {
			return err
		}
	}
	return nil
}

// screenBatch fills b's verdicts and probabilities (unless the fused step did) and returns the
// rows that passed the screen, in order.
//
// With cfg.ProbCalibrated the threshold is the class's percentile threshold and a row the screen
// gives to another class passes when its probability of the intended class reaches it.
func screenBatch(e *bindings.Engine, m Models, cfg Config, cal *Calibration, class int, b *batch) ([]int64, error) {
	if b.screened {
		return acceptedRows(b.verdict), nil
	}
	logits, err := inChunks(e, b.calls(), b.n, []*bindings.Tensor{b.x}, func(in []*bindings.Tensor) (*bindings.Tensor, error) {
		return m.Screen.Forward(in[0])
	})
	if err != nil {
		return nil, err
	}
	defer logits.Close()
	thr := cfg.ProbThreshold
	if cfg.ProbCalibrated {
		thr = cal.ScreenThreshold(class, cfg.ProbThreshold)
	}
	verdict, prob, acc, err := e.Screen(logits, b.y, nil, thr, 0)
	if err != nil {
		return nil, err
	}
	defer bindings.CloseAll(verdict, prob, acc)
	if b.verdict, err = verdict.I64(); err != nil {
		return nil, err
	}
	if b.prob, err = prob.F32(); err != nil {
		return nil, err
	}
	if b.mixWith != nil {
		return blendVerdicts(logits, b, class, thr)
	}
	if !cfg.ProbCalibrated {
		return acc.I64()
	}
	for i, v := range b.verdict {
		if bindings.Verdict(v) == bindings.VerdictLabel {
			// The argmax is not a criterion here: a row passes or fails on its probability alone.
			if b.prob[i] >= thr {
				b.verdict[i] = int64(bindings.VerdictAccept)
			} else {
				b.verdict[i] = int64(bindings.VerdictProb)
			}
		}
	}
	return acceptedRows(b.verdict), nil
}

// blendVerdicts re-judges a batch of blends (Config.Blend): a row that is not NaN passes when the
// screen's probability of its two classes together reaches thr, whichever of the two the screen
// prefers; b.prob becomes that sum.
func blendVerdicts(logits *bindings.Tensor, b *batch, cls int, thr float32) ([]int64, error) {
	lg, err := logits.F32()
	if err != nil {
		return nil, err
	}
	k := len(lg) / b.n
	p := make([]float32, k)
	for i, v := range b.verdict {
		if bindings.Verdict(v) == bindings.VerdictNaN {
			continue
		}
		train.Softmax(lg[i*k:(i+1)*k], p)
		b.prob[i] = min(p[cls]+p[b.mixWith[i]], 1)
		if b.prob[i] >= thr {
			b.verdict[i] = int64(bindings.VerdictAccept)
		} else {
			b.verdict[i] = int64(bindings.VerdictProb)
		}
	}
	return acceptedRows(b.verdict), nil
}

// acceptedRows lists the rows whose verdict is accept, in order.
func acceptedRows(verdict []int64) []int64 {
	var rows []int64
	for i, v := range verdict {
		if bindings.Verdict(v) == bindings.VerdictAccept {
			rows = append(rows, int64(i))
		}
	}
	return rows
}

// confidenceRows is the generator's raw confidence on the selected rows xs of batch b.
func confidenceRows(e *bindings.Engine, g *bindings.Model, xs *bindings.Tensor, b *batch, rows []int64) ([]float32, error) {
	ys, as := b.y, b.a
	var err error
	if len(rows) < b.n {
		if ys, err = b.y.Select(rows); err != nil {
			return nil, err
		}
		defer ys.Close()
		as = nil
	}
	if as == nil && b.a != nil {
		if as, err = b.a.Select(rows); err != nil {
			return nil, err
		}
		defer as.Close()
	}
	c, err := inChunks(e, b.calls(), len(rows), []*bindings.Tensor{xs, ys, as}, func(in []*bindings.Tensor) (*bindings.Tensor, error) {
		return g.Confidence(in[0], in[1], in[2])
	})
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.F32()
}

// margins is the target classifier's logit of class minus its best other logit, per row.
func margins(e *bindings.Engine, target *bindings.Model, x *bindings.Tensor, class, n, chunk int) ([]float32, error) {
	lt, err := inChunks(e, chunk, n, []*bindings.Tensor{x}, func(in []*bindings.Tensor) (*bindings.Tensor, error) {
		return target.Forward(in[0])
	})
	if err != nil {
		return nil, err
	}
	defer lt.Close()
	l, err := lt.F32()
	if err != nil {
		return nil, err
	}
	k := target.Meta.NumClasses
	out := make([]float32, len(l)/k)
	for i := range out {
		row := l[i*k : (i+1)*k]
		best := float32(math.Inf(-1))
		for c, v := range row {
			if c != class && v > best {
				best = v
			}
		}
		out[i] = row[class] - best
	}
	return out, nil
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
