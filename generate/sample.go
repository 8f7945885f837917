package generate

import (
	"cmp"
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/gam-native/gam-native/bindings"
	"github.com/gam-native/gam-native/data"
	"github.com/gam-native/gam-native/plan"
)

// batch is one target's batch on its way through the stages: made by the sample stage, filled by
// the score stage, taken by the sink.
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

// batchSeed derives the seed of batch seq of target id, so that a target's images do not
// depend on which other targets a plan has.
func batchSeed(seed uint64, round int, id string, seq int) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%d/%s/%d", seed, round, id, seq)
	return h.Sum64()
}

// sample is the sample stage: it makes the batches that the schedule picks, or with lanes hands
// out jobs (a target and a seq) that the lanes sample, one when a lane asks for it.
func (r *stages) sample(ctx context.Context) {
	defer close(r.sampled)
	t0 := time.Now()
	asked := false // a lane's token taken and its job not yet sent
	for ctx.Err() == nil {
		if r.ready != nil && !asked {
			select {
			case <-r.ready:
				asked = true
			case <-ctx.Done():
				return
			}
			t0 = time.Now() // waiting for a lane is not sampling
		}
		ti, seq, n, wait := r.sched.next(r.cfg.BatchSize)
		if ti < 0 {
			if !wait {
				return // every target from the sink's on met its quota or spent its attempts
			}
			time.Sleep(time.Millisecond)
			t0 = time.Now() // waiting is not sampling
			continue
		}
		b := &batch{ti: ti, seq: seq, n: n, job: true} // with lanes, a lane samples it
		if r.lanes == nil {
			b = sampleRetry(r.e, r.m, r.step, &r.targets[ti], r.cfg, r.o, ti, seq, n, r.oom)
		}
		r.busy[0].Add(int64(time.Since(t0)))
		failed := b.err != nil // read before b belongs to the score stage
		r.sched.madeBatch(ti, n)
		select {
		case r.sampled <- b:
		case <-ctx.Done():
			b.close()
			return
		}
		asked = false
		t0 = time.Now()
		if failed {
			return
		}
	}
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
