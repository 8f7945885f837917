package bench

import (
	"context"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gam-native/gam-native/bindings"
	"github.com/gam-native/gam-native/data"
	"github.com/gam-native/gam-native/generate"
	"github.com/gam-native/gam-native/hostres"
	"github.com/gam-native/gam-native/plan"
	"github.com/gam-native/gam-native/progress"
)

// on is the engine and models a ceiling attempt runs with: the suite's, or their views on a lane.
type on struct {
	e        *bindings.Engine
	gen, scr *bindings.Model
}

func (s *suite) onEngine() on { return on{s.e, s.gen, s.screen} }

// sampleAndScreen draws z from seed, samples n images of the batch's labels and runs the screen
// on them: the first half of every ceiling attempt. The caller closes x and logits.
func (s *suite) sampleAndScreen(o on, seed uint64, n int, b *batchInputs) (x, logits *bindings.Tensor, err error) {
	z, err := o.e.Randn(1, seed, int64(n), int64(o.gen.Meta.LatentDim))
	if err != nil {
		return nil, nil, err
	}
	defer z.Close()
	if x, err = o.gen.Sample(z, b.y, b.a); err != nil {
		return nil, nil, err
	}
	if logits, err = o.scr.Forward(x); err != nil {
		x.Close()
		return nil, nil, err
	}
	return x, logits, nil
}

// ceiling measures, at every batch size, the raw model work of one pipeline attempt with no Go
// stages or queues: "ceiling" draws z, samples, scores confidence, runs the screen forward and
// the fused screen back to back on the engine thread; "ceiling_forward" is the literal
// "sample + screen forward alone", and its best batch is the ceiling that efficiency is taken
// against; "ceiling_screen_first" scores confidence only on the screen's survivors.
func (s *suite) ceiling() error {
	e, g := s.e, s.gen
	var best *Figure
	s.ceilLanes, s.ceilAttemptLanes = nil, nil
	for _, n := range s.o.Batches {
		b, err := s.batch(n)
		if err != nil {
			return err
		}
		seed := uint64(0)
		_, err = s.measure("ceiling", n, "images/s", func() (*bindings.Tensor, error) {
			seed++
			x, l, err := s.sampleAndScreen(s.onEngine(), seed, n, b)
			if err != nil {
				return nil, err
			}
			defer bindings.CloseAll(x, l)
			cf, err := g.Confidence(x, b.y, b.a)
			if err != nil {
				return nil, err
			}
			defer cf.Close()
			v, p, a, err := e.Screen(l, b.y, cf, s.probThr, 0)
			if err != nil {
				return nil, err
			}
			bindings.CloseAll(v, p)
			return a, nil
		})
		if err != nil {
			return err
		}
		// The ceiling, at every batch size (measured only at the best one, a figure got
		// the runs of only the rounds where that batch won, and a spread too narrow to compare).
		fw, err := s.measure("ceiling_forward", n, "images/s", s.forwardOp(b))
		if err != nil {
			return err
		}
		best = better(best, fw)
		if !s.gpu && hostres.CPUQuota() > 1 {
			fl, err := s.onLanes("ceiling_forward_lanes", n, func(o on, _ uint64) error {
				x, err := o.gen.Sample(b.z, b.y, b.a)
				if err != nil {
					return err
				}
				defer x.Close()
				lg, err := o.scr.Forward(x)
				lg.Close()
				return err
			})
			if err != nil {
				return err
			}
			s.ceilLanes = better(s.ceilLanes, fl)
			// The model work of a whole attempt on the lanes (confidence on the screen's
			// survivors too): what the pipeline's lanes compute, so the pipeline over it is
			// what the Go stages, queues and copies cost.
			sf, err := s.onLanes("ceiling_screen_first_lanes", n, func(o on, seed uint64) error {
				a, err := s.screenFirst(o, seed, n, b)
				a.Close()
				return err
			})
			if err != nil {
				return err
			}
			s.ceilAttemptLanes = better(s.ceilAttemptLanes, sf)
		}
		// The same attempt with the screen first and the generation confidence only on the rows that
		// pass the label and probability checks: what a reordered score stage would cost (same
		// accepted set, since every check must pass).
		seed = uint64(1 << 32)
		if _, err := s.measure("ceiling_screen_first", n, "images/s", func() (*bindings.Tensor, error) {
			seed++
			return s.screenFirst(s.onEngine(), seed, n, b)
		}); err != nil {
			return err
		}
	}
	// Efficiency is taken against the best batch of sample + screen forward.
	s.ceilBS = best.Batch
	return nil
}

// better is whichever of best (may be nil) and f has the higher median.
func better(best, f *Figure) *Figure {
	if best == nil || f.Median > best.Median {
		return f
	}
	return best
}

// onLanes measures figure name at batch n: op run back to back on one lane per CPU at once, each
// lane on its own thread with the suite's models' views (the layout of the CPU pipeline's lanes,
// generate.Config.Lanes), in images/s over all lanes. "ceiling_forward_lanes" is ceiling_forward's
// sample + screen forward so laid out; the pipeline's efficiency against it is reported beside the
// issue's (docs/performance.md, "Lanes on the CPU").
func (s *suite) onLanes(name string, n int, op func(o on, seed uint64) error) (*Figure, error) {
	lanes, release, err := s.e.Lanes(hostres.CPUQuota())
	if err != nil {
		return nil, err
	}
	defer release()
	hostres.ResetPeakRSS()
	var runs []float64
	var seed atomic.Uint64
	for r := -s.o.Warmup; r < s.o.Repeat; r++ {
		var calls atomic.Int64
		var wg sync.WaitGroup
		errs := make([]error, len(lanes))
		t0 := time.Now()
		for i, l := range lanes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				o := on{l, s.gen.On(l), s.screen.On(l)}
				for c := 0; c == 0 || time.Since(t0) < s.o.MinTime; c++ {
					if errs[i] = op(o, seed.Add(1)); errs[i] != nil {
						return
					}
					calls.Add(1)
				}
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
		if r >= 0 {
			runs = append(runs, float64(calls.Load()*int64(n))/time.Since(t0).Seconds())
		}
	}
	return s.finish(name, n, "images/s", Summarize(runs)), nil
}

// forwardOp is one ceiling_forward call: sample b's fixed z, then the screen's forward.
func (s *suite) forwardOp(b *batchInputs) func() (*bindings.Tensor, error) {
	return func() (*bindings.Tensor, error) {
		x, err := s.gen.Sample(b.z, b.y, b.a)
		if err != nil {
			return nil, err
		}
		defer x.Close()
		return s.screen.Forward(x)
	}
}

// screenFirst is one ceiling attempt with the screen first and confidence on its survivors.
func (s *suite) screenFirst(o on, seed uint64, n int, b *batchInputs) (*bindings.Tensor, error) {
	e, g := o.e, o.gen
	x, l, err := s.sampleAndScreen(o, seed, n, b)
	if err != nil {
		return nil, err
	}
	defer bindings.CloseAll(x, l)
	v, p, a, err := e.Screen(l, b.y, nil, s.probThr, 0)
	if err != nil {
		return nil, err
	}
	bindings.CloseAll(v, p)
	defer a.Close()
	idx, err := a.I64()
	if err != nil || len(idx) == 0 {
		return nil, err
	}
	xs, err := x.Select(idx)
	if err != nil {
		return nil, err
	}
	defer xs.Close()
	ys, err := b.y.Select(idx)
	if err != nil {
		return nil, err
	}
	defer ys.Close()
	var as *bindings.Tensor
	if b.a != nil {
		if as, err = b.a.Select(idx); err != nil {
			return nil, err
		}
		defer as.Close()
	}
	return g.Confidence(xs, ys, as)
}

// steps measures the pipeline's fixed-shape step (bindings.Step: sample, screen forward and the
// fused screen's verdicts copied to the host, one engine call) at every batch size: "step" runs it
// eagerly, and on a GPU "step_graph" replays it as one CUDA graph, so the graph's gain is a ratio
// from one run (issue 8).
func (s *suite) steps() error {
	modes := []string{"step"}
	if s.gpu {
		modes = append(modes, "step_graph")
	}
	for _, n := range s.o.Batches {
		b, err := s.batch(n)
		if err != nil {
			return err
		}
		for _, name := range modes {
			st, err := s.e.NewStep(s.gen, s.screen, n, s.probThr, name == "step_graph")
			if err != nil {
				return err
			}
			var check map[string]float64
			if name == "step_graph" {
				if check, err = s.graphAgrees(st, b); err != nil {
					st.Close()
					return err
				}
			}
			f, err := s.measure(name, n, "images/s", func() (*bindings.Tensor, error) {
				x, _, _, err := st.Run(b.z, b.y, b.a)
				return x, err
			})
			if err == nil {
				var stats bindings.StepStats
				if stats, err = st.Stats(); err == nil {
					f.Extra = map[string]float64{"graph_replays": float64(stats.Replays), "eager_runs": float64(stats.Eager)}
					for k, v := range check {
						f.Extra[k] = v
					}
					if stats.Fallback != "" && name == "step_graph" {
						f.Note = "no graph: " + stats.Fallback
					}
				}
			}
			st.Close()
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// graphAgrees runs the graph step st and an eager step on the same inputs and returns how far
// apart their outputs are: the largest pixel and probability differences and the verdicts that
// differ (the graph replays the kernels the eager calls launch; these should be 0 or rounding).
func (s *suite) graphAgrees(st *bindings.Step, b *batchInputs) (map[string]float64, error) {
	eager, err := s.e.NewStep(s.gen, s.screen, st.Batch, s.probThr, false)
	if err != nil {
		return nil, err
	}
	defer eager.Close()
	xe, ve, pe, err := eager.Run(b.z, b.y, b.a)
	if err != nil {
		return nil, err
	}
	defer xe.Close()
	var xg *bindings.Tensor
	var vg []int64
	var pg []float32
	for i := 0; i < 2; i++ { // the first call captures, the second replays
		xg.Close()
		if xg, vg, pg, err = st.Run(b.z, b.y, b.a); err != nil {
			return nil, err
		}
	}
	defer xg.Close()
	pxe, err1 := xe.F32()
	pxg, err2 := xg.F32()
	if err := firstErr(err1, err2); err != nil {
		return nil, err
	}
	px := compare("step_graph", "images", f32s(pxe), f32s(pxg), false)
	pr := compare("step_graph", "prob", f32s(pe), f32s(pg), false)
	vd := compare("step_graph", "verdict", i64s(ve), i64s(vg), true)
	s.o.Logf("bench: step_graph vs eager at batch %d: images max abs %.2e, prob max abs %.2e, verdicts differing %d of %d",
		st.Batch, px.MaxAbs, pr.MaxAbs, vd.Mismatches, len(ve))
	return map[string]float64{"vs_eager_image_max_abs": px.MaxAbs, "vs_eager_prob_max_abs": pr.MaxAbs,
		"vs_eager_verdict_mismatches": float64(vd.Mismatches)}, nil
}

// countSink keeps nothing: it counts, as the peer keeps accepted images in memory.
type countSink struct{ accepted, pending int }

func (c *countSink) Accept(*generate.Candidate) error { c.accepted++; return nil }
func (c *countSink) Pend(*generate.Candidate) error   { c.pending++; return nil }
func (c *countSink) Flush() error                     { return nil }

// pipeline measures accepted images per second through generate.Run: "pipeline" hands
// candidates to a counting sink with no dedup (the same work as the peer's loop);
// "pipeline_dedup" to the counting sink behind the product's dedup (against real and accepted
// images); "pipeline_dirsink" is the product path: that dedup, then PNG files and a manifest
// written by generate.DirSink into a temporary folder, and "pipeline_webdataset" its tar twin.
func (s *suite) pipeline(ctx context.Context) error {
	if s.ceilBS == 0 {
		s.o.Logf("bench: pipeline: efficiency needs the ceiling; measuring it first")
		if err := s.ceiling(); err != nil {
			return err
		}
	}
	// The ceiling: the generator's and the screen's forward alone, back to back, at the
	// best batch of ceiling_forward (the full "ceiling" adds confidence on every image and would flatter).
	ceil := s.res.Find("ceiling_forward", s.ceilBS)
	if ceil == nil {
		ceil = s.res.Find("ceiling", s.ceilBS)
	}
	q := progress.Quiet
	progress.Quiet = true
	defer func() { progress.Quiet = q }()
	batches := append([]int(nil), s.o.Batches...)
	if bud := s.budget(); bud > 0 && !s.o.Quick && !containsInt(batches, bud) {
		batches = append(batches, bud)
	}
	if s.res.Pipeline == nil {
		s.res.Pipeline = map[string]StageTimes{}
	}
	// On the CPU "pipeline" is the split path on one lane per CPU (each lane samples and scores
	// whole batches), "pipeline_onelane" the split path on the engine thread alone (sample on its
	// worker thread beside the score stage) and "pipeline_sync" that with sample on the engine
	// thread; on a GPU "pipeline" is
	// the fused step replayed as a CUDA graph, "pipeline_fused" the same step run eagerly and
	// "pipeline_split" the path before either (generate.Config.Step).
	// The pipeline figure's timed runs are paired with a ceiling run and a peer run (paired.go).
	var peer *peerServer
	if s.o.Peer && s.o.Repeat > 0 {
		var err error
		if peer, err = s.startPeer(ctx); err != nil {
			s.o.Logf("bench: pipeline: the paired peer did not start (%v); its ratio is left to the peer's own run", err)
			peer = nil
		}
		// Closed after the pipeline figure, so that the later figures' memory is ours alone.
		defer func() { peer.Close() }()
	}
	variants := []string{"pipeline", "pipeline_onelane", "pipeline_sync", "pipeline_dedup", "pipeline_dirsink", "pipeline_webdataset"}
	if s.gpu {
		variants = []string{"pipeline", "pipeline_fused", "pipeline_split", "pipeline_dedup", "pipeline_dirsink", "pipeline_webdataset"}
	}
	for _, variant := range variants {
		for _, n := range batches {
			var acc, att, ratios, surplus []float64
			var stages StageTimes
			var step *bindings.StepStats // the last timed run's, when it took the fused step
			lanes := 0                   // the last timed run's
			var pr pairs
			rejected := map[string]float64{}
			hostres.ResetPeakRSS()
			if s.gpu {
				_, _, _ = s.e.Memory(true)
			}
			for r := -s.o.Warmup; r < s.o.Repeat; r++ {
				var res *generate.Result
				once := func() (att, acc float64, err error) {
					if res, err = s.pipelineOnce(ctx, variant, n, uint64(r+100)); err != nil || res.Seconds <= 0 {
						return 0, 0, err
					}
					return float64(res.Attempts) / res.Seconds, float64(res.Accepted) / res.Seconds, nil
				}
				var err error
				if variant == "pipeline" && r >= 0 {
					err = s.around(r, n, &peer, &pr, once)
				} else {
					_, _, err = once()
				}
				if err != nil {
					return err
				}
				if r < 0 || res.Seconds <= 0 {
					continue
				}
				step, lanes = res.Step, res.Lanes
				acc = append(acc, float64(res.Accepted)/res.Seconds)
				att = append(att, float64(res.Attempts)/res.Seconds)
				ratios = append(ratios, float64(res.Accepted)/float64(max(res.Attempts, 1)))
				surplus = append(surplus, float64(res.Surplus)/float64(max(res.Attempts, 1)))
				for _, t := range res.Targets {
					for k, v := range t.Rejected {
						rejected[k] += float64(v) / float64(max(res.Attempts, 1)) / float64(s.o.Repeat)
					}
				}
				if stages == nil {
					stages = StageTimes{}
				}
				stages["total"] += res.Seconds / float64(s.o.Repeat)
				for k, v := range res.StageSeconds {
					stages[k] += v / float64(s.o.Repeat)
				}
			}
			f := s.finish(variant, n, "accepted/s", Summarize(acc))
			attS := Summarize(att)
			f.Extra = map[string]float64{"attempts_per_s": attS.Median, "acceptance": Summarize(ratios).Median, "lanes": float64(lanes),
				"surplus": Summarize(surplus).Median} // images made ahead and thrown away, per attempt
			for k, v := range rejected {
				f.Extra["rejected_"+k] = v
			}
			if ceil != nil && ceil.Median > 0 {
				f.Efficiency = attS.Median / ceil.Median
			}
			if s.ceilLanes != nil && s.ceilLanes.Median > 0 {
				f.Extra["efficiency_vs_lanes_ceiling"] = attS.Median / s.ceilLanes.Median
			}
			if s.ceilAttemptLanes != nil && s.ceilAttemptLanes.Median > 0 {
				f.Extra["efficiency_vs_lanes_attempt"] = attS.Median / s.ceilAttemptLanes.Median
			}
			if len(pr.eff) > 0 {
				// Paired: the median of each run's attempts/s over the ceiling run beside it.
				f.Extra["efficiency_unpaired"] = f.Efficiency
				f.Extra["ceiling_paired_images_per_s"] = Summarize(pr.ceil).Median
				f.Efficiency = Summarize(pr.eff).Median
			}
			if len(pr.peer) > 0 {
				f.Extra["peer_ratio_paired"] = Summarize(pr.peer).Median
				f.Extra["peer_paired_accepted_per_s"] = Summarize(pr.peerRate).Median
			}
			if step != nil {
				f.Extra["step_graph_replays"] = float64(step.Replays)
				f.Extra["step_eager_runs"] = float64(step.Eager)
			}
			if n == s.res.budgetBatch() {
				f.Note = "batch chosen by the memory budget"
			}
			s.res.Pipeline[f.Key()] = stages
			// Issue 5's measure is the one-engine pipeline's overlap of its two stages: on the CPU
			// pipeline_onelane (the lanes do not split an attempt into stages), on a GPU pipeline.
			if variant == "pipeline_onelane" || variant == "pipeline" && s.gpu {
				if err := s.stagesAlone(variant, n); err != nil {
					return err
				}
			}
			if productSink(variant) {
				// The product path against the counting sink, both from this run.
				if p := s.res.Find("pipeline", n); p != nil && p.Median > 0 {
					f.Extra["vs_pipeline"] = f.Median / p.Median
				}
				// Against the counting sink behind the same dedup: the sink's own cost, apart
				// from the images dedup turns away (which no sink can win back).
				if p := s.res.Find("pipeline_dedup", n); p != nil && p.Median > 0 {
					f.Extra["vs_pipeline_dedup"] = f.Median / p.Median
				}
			}
			if variant == "pipeline_dirsink" {
				med := f.Median
				sa, err := s.sinkAlone(ctx, n)
				if err != nil {
					return err
				}
				if sa.Median > 0 {
					s.res.Find(variant, n).Extra["vs_sink_alone"] = med / sa.Median
				}
			}
		}
		if variant == "pipeline" {
			peer.Close()
			peer = nil
		}
	}
	return nil
}

func (s *suite) pipelineOnce(ctx context.Context, variant string, n int, seed uint64) (*generate.Result, error) {
	if !productSink(variant) {
		return s.runPipeline(ctx, n, seed, variant == "pipeline_dedup", variant, &countSink{})
	}
	var sink generate.Sink
	var done func()
	var err error
	if variant == "pipeline_webdataset" {
		sink, done, err = s.webDatasetSink()
	} else {
		sink, done, err = s.dirSink()
	}
	if err != nil {
		return nil, err
	}
	defer done()
	return s.runPipeline(ctx, n, seed, true, variant, sink)
}

// productSink says whether a pipeline variant writes what the product writes (dedup, PNGs and
// a durable record): "pipeline_dirsink" the ImageFolder and its manifest, "pipeline_webdataset"
// tar shards.
func productSink(variant string) bool {
	return variant == "pipeline_dirsink" || variant == "pipeline_webdataset"
}

// runPipeline runs generate.Run at batch n into sink, with dedup against real images when asked,
// configured as the pipeline figure variant says (pipelineSetup).
func (s *suite) runPipeline(ctx context.Context, n int, seed uint64, dedup bool, variant string, sink generate.Sink) (*generate.Result, error) {
	g := s.gen
	m, ts, o := s.pipelineSetup(n, seed, variant)
	cfg := o.Config
	if dedup {
		refs := s.ds
		if refs == nil {
			sh := g.Meta.ImageShape
			refs = &data.Dataset{C: sh[0], H: sh[1], W: sh[2]}
		}
		var err error
		if o.Dedup, err = generate.NewDedup(s.e, s.screen, refs, 500, cfg.DupThreshold); err != nil {
			return nil, err
		}
	}
	return generate.Run(ctx, s.e, m, ts, o, sink)
}

// pipelineSetup is what every pipeline figure runs: the bench's models, targets and options at
// batch n. On the CPU "pipeline" runs one lane per CPU (Config.Lanes), "pipeline_onelane" the
// engine thread alone with sample on its worker, "pipeline_sync" the engine thread alone with
// sample on it (Config.SyncSample),
// "pipeline_split" and "pipeline_fused" force that Config.Step; the others take the default.
func (s *suite) pipelineSetup(n int, seed uint64, variant string) (generate.Models, []plan.Target, generate.Options) {
	cfg := generate.DefaultConfig()
	cfg.BatchSize = n
	cfg.ProbThreshold, cfg.ConfThreshold = s.probThr, s.confThr
	cfg.SyncSample = variant == "pipeline_sync"
	switch variant {
	case "pipeline_sync", "pipeline_onelane":
		cfg.Lanes = 1
	case "pipeline_split":
		cfg.Step = generate.StepSplit
	case "pipeline_fused":
		cfg.Step = generate.StepFused
	}
	ts := targets(s.gen.Meta.NumClasses, s.o.Accepted)
	m := generate.Models{Generator: s.gen, GeneratorName: "bench", Screen: s.screen}
	return m, ts, generate.Options{Config: cfg, Seed: seed, Calibration: s.cal}
}

// stagesAlone measures the counting-sink pipeline's two engine stages alone at batch n
// (generate.StageAlone: the same sample and score code, back to back, no overlap) and records
// on the variant@n figure its attempts/s over the slower of the two (issue 5's measure).
func (s *suite) stagesAlone(variant string, n int) error {
	m, ts, o := s.pipelineSetup(n, 77, variant)
	// About 16k images per timed run (~0.5 s of sampling, ~1 s of scoring here): with 2k, a run
	// was a few scheduler slices long and two bench runs disagreed beyond their spreads.
	perTarget := max(1, 16384/(n*len(ts)))
	var sam, sco []float64
	for r := -s.o.Warmup; r < s.o.Repeat; r++ {
		a, b, err := generate.StageAlone(s.e, m, ts, o, n, perTarget)
		if err != nil {
			return err
		}
		if r >= 0 {
			sam, sco = append(sam, a), append(sco, b)
		}
	}
	slowest := min(s.finish("stage_sample_alone", n, "images/s", Summarize(sam)).Median,
		s.finish("stage_score_alone", n, "images/s", Summarize(sco)).Median)
	if f := s.res.Find(variant, n); f != nil && slowest > 0 {
		f.Extra["vs_slowest_stage"] = f.Extra["attempts_per_s"] / slowest
	}
	return nil
}

// dirSink opens the product's sink (PNG files + manifest) in a temporary folder; done closes it
// and removes the folder.
func (s *suite) dirSink() (*generate.DirSink, func(), error) {
	var sink *generate.DirSink
	done, err := s.tempSink(func(dir string, names []string, sh []int) (err error) {
		sink, err = generate.OpenDirSink(dir, "", names, 0, "bench", sh[0], sh[1], sh[2])
		return err
	}, func() error { return sink.Close() })
	return sink, done, err
}

// webDatasetSink is dirSink's twin writing tar shards (generate --format webdataset).
func (s *suite) webDatasetSink() (*generate.WebDatasetSink, func(), error) {
	var sink *generate.WebDatasetSink
	done, err := s.tempSink(func(dir string, names []string, sh []int) (err error) {
		sink, err = generate.OpenWebDatasetSink(dir, names, 0, "bench", sh[0], sh[1], sh[2], 0)
		return err
	}, func() error { return sink.Close() })
	return sink, done, err
}

// tempSink runs open on a new temporary folder with the generator's classes and image shape;
// the returned done closes the sink and removes the folder.
func (s *suite) tempSink(open func(dir string, names []string, shape []int) error, closeSink func() error) (func(), error) {
	dir, err := os.MkdirTemp("", "gam-bench-")
	if err != nil {
		return nil, err
	}
	names := make([]string, s.gen.Meta.NumClasses)
	for i := range names {
		names[i] = string(rune('a' + i))
	}
	if err := open(dir, names, s.gen.Meta.ImageShape[:]); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return func() { closeSink(); os.RemoveAll(dir) }, nil
}

// recordSink keeps copies of the accepted candidates and where Flush was called, so that the
// sink's own work can be replayed alone.
type recordSink struct {
	cands   []generate.Candidate
	flushAt []int
}

func (r *recordSink) Accept(c *generate.Candidate) error {
	cc := *c
	cc.Pixels = append([]float32(nil), c.Pixels...)
	r.cands = append(r.cands, cc)
	return nil
}
func (r *recordSink) Pend(*generate.Candidate) error { return nil }
func (r *recordSink) Flush() error                   { r.flushAt = append(r.flushAt, len(r.cands)); return nil }

// sinkAlone is the DirSink stage run alone: the accepted images of one pipeline run at batch n
// (recorded in memory), written again into a fresh DirSink with the same flushes, timed. It
// leaves out the sink stage's dedup lookups, so it is if anything faster than the stage in the
// pipeline, and the pipeline's ratio to it a conservative figure.
func (s *suite) sinkAlone(ctx context.Context, n int) (*Figure, error) {
	rec := &recordSink{}
	if _, err := s.runPipeline(ctx, n, 99, true, "pipeline_dirsink", rec); err != nil {
		return nil, err
	}
	var rates []float64
	// Its rate follows the shared disk (one syncfs per batch flushes every tenant's dirty pages),
	// which changes over minutes: at least 5 runs per round so that the pooled spread covers it.
	for r := -s.o.Warmup; r < max(s.o.Repeat, 5); r++ {
		sink, done, err := s.dirSink()
		if err != nil {
			return nil, err
		}
		t0 := time.Now()
		next := 0
		for _, at := range append(rec.flushAt, len(rec.cands)) {
			for ; next < at; next++ {
				if err := sink.Accept(&rec.cands[next]); err != nil {
					done()
					return nil, err
				}
			}
			if err := sink.Flush(); err != nil {
				done()
				return nil, err
			}
		}
		secs := time.Since(t0).Seconds()
		done()
		if r >= 0 && secs > 0 {
			rates = append(rates, float64(len(rec.cands))/secs)
		}
	}
	return s.finish("sink_alone", n, "accepted/s", Summarize(rates)), nil
}

func containsInt(xs []int, v int) bool {
	for _, x := range xs {
		if x == v {
			return true
		}
	}
	return false
}

// budget sizes a pipeline batch as a run does: plan.PlanBatch over NVML's free memory on a GPU
// (the host's memory otherwise), with the per-sample cost measured on a probe batch (the
// allocator's peak on a GPU, resident growth on the CPU). The choice is recorded with the memory
// it used; 0 when it could not be sized.
func (s *suite) budget() int {
	if s.res.Budget != nil {
		return s.res.Budget.BatchSize
	}
	const probe = 256
	var perSample uint64
	if s.gpu {
		_, _, _ = s.e.Memory(true)
		a0, _, _ := s.e.Memory(false)
		if _, err := s.pipelineOnce(context.Background(), "pipeline", probe, 1); err != nil {
			return 0
		}
		_, peak, _ := s.e.Memory(false)
		if ps, err := plan.PerSampleBytes(probe, uint64(max(a0, 0)), uint64(max(peak, a0))); err == nil {
			perSample = ps
		}
	} else {
		hostres.ResetPeakRSS()
		r0 := hostres.PeakRSS()
		if _, err := s.pipelineOnce(context.Background(), "pipeline", probe, 1); err != nil {
			return 0
		}
		if ps, err := plan.PerSampleBytes(probe, uint64(r0), uint64(max(hostres.PeakRSS(), r0))); err == nil {
			perSample = ps
		}
	}
	b, err := plan.PlanBatch(hostres.System(), plan.DefaultMemoryConfig(), 0, perSample)
	if err != nil {
		s.res.Notes = append(s.res.Notes, "memory budget: "+err.Error())
		return 0
	}
	s.res.Budget = &b
	return b.BatchSize
}

func (r *Result) budgetBatch() int {
	if r.Budget == nil {
		return -1
	}
	return r.Budget.BatchSize
}

// nvmlUsed is the used memory NVML reports on the first GPU (0 without one).
func nvmlUsed() uint64 {
	d := hostres.ReportDevices(hostres.SystemNVML(), hostres.Host{})
	if len(d.GPUs) == 0 {
		return 0
	}
	return d.GPUs[0].TotalBytes - d.GPUs[0].FreeBytes
}
