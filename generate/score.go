package generate

import (
	"context"
	"math"
	"time"

	"github.com/gam-native/gam-native/bindings"
	"github.com/gam-native/gam-native/train"
)

// score is a score-stage worker: on the engine thread, or with lanes one per lane that samples
// each job on its lane and then scores it there (the sampler only hands out the jobs).
func (r *stages) score(ctx context.Context, e *bindings.Engine, m Models) {
	cfg, o := r.cfg, r.o
	laneCfg := cfg
	laneCfg.SyncSample = true // on the lane's own thread, not the engine's worker
	for {
		if r.ready != nil {
			r.ready <- struct{}{}
		}
		b, ok := <-r.sampled
		if !ok {
			return
		}
		if ctx.Err() != nil { // draining after a failure: free the handles
			b.close()
			continue
		}
		t0 := time.Now()
		bstep, bcfg := r.step, cfg
		t := &r.targets[b.ti]
		if b.job {
			bstep, bcfg = nil, laneCfg
			b = sampleRetry(e, m, nil, t, laneCfg, o, b.ti, b.seq, b.n, r.oom)
			t1 := time.Now()
			r.busy[0].Add(int64(t1.Sub(t0)))
			t0 = t1
		}
		if b.err == nil {
			b.err = scoreBatch(e, m, t.Class, cfg, o.Calibration, o.Dedup != nil, b)
		}
		for b.err != nil && bindings.IsOOM(b.err) {
			// Out of memory while scoring: the same batch again, sampled and scored in smaller calls.
			c, ok := r.oom.shrink(b.chunk, b.n, b.err)
			if !ok {
				b.err = r.oom.floorError(b.err)
				break
			}
			nb := sampleRetry(e, m, bstep, t, bcfg, o, b.ti, b.seq, b.n, r.oom, c)
			b.close()
			b = nb
			if b.err == nil {
				b.err = scoreBatch(e, m, t.Class, cfg, o.Calibration, o.Dedup != nil, b)
			}
		}
		b.close()
		r.busy[1].Add(int64(time.Since(t0)))
		select {
		case r.screened <- b:
		case <-ctx.Done():
			return
		}
	}
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
