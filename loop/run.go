package loop

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/gam-native/gam-native/bindings"
	"github.com/gam-native/gam-native/data"
	"github.com/gam-native/gam-native/generate"
	"github.com/gam-native/gam-native/internal/dirlock"
	"github.com/gam-native/gam-native/internal/human"
	"github.com/gam-native/gam-native/internal/jsonfile"
	"github.com/gam-native/gam-native/internal/promfile"
	"github.com/gam-native/gam-native/internal/stageseed"
	"github.com/gam-native/gam-native/plan"
	"github.com/gam-native/gam-native/progress"
	"github.com/gam-native/gam-native/train"
)

// Runner is one run of a job in its run folder.
type Runner struct {
	Job    Job
	Dir    string
	E      *bindings.Engine
	State  *State
	splits *data.Splits
	paths  struct{ generator, target, screen string }
	// zoo records the zoo models the job names: make's files, or copies shaped to the data (zoo.json).
	zoo []ZooModel
	// flatModels puts the set-up's trained models in Dir itself (TrainModels) instead of Dir/models.
	flatModels bool
	// lock holds the run folder for this process (Prepare, Resume) until Close.
	lock *dirlock.Lock
	// Reviewed, when set, returns the records that reviewers accepted or relabeled; they join the
	// training set from the next round on.
	Reviewed func(runDir string, classNames []string) ([]data.Record, error)
	// ShardCommand starts a shard process of a sharded round (generate.shards > 1); nil: such a
	// round fails with an error saying so.
	ShardCommand ShardCommand
	// wrapSink, when set (by tests), wraps round n's generation sink.
	wrapSink func(n int, s generate.Sink) generate.Sink
	// Metrics, when set (--metrics-file), is rewritten at each stage's end: the stage's seconds,
	// its success time, and a generation stage's accepted and rejected images and rate.
	Metrics *promfile.Recorder
}

// Prepare checks a job completely before anything is written: the data loads, the scenario
// applies, each model passes its contract. Then it creates the run folder.
func Prepare(e *bindings.Engine, j Job, dir string) (*Runner, error) {
	r := &Runner{Job: j, E: e}
	if err := checkName(j.Name); err != nil {
		return nil, err
	}
	if dir == "" {
		dir = filepath.Join(j.Out, fmt.Sprintf("%s-%s", j.Name, time.Now().UTC().Format("20060102-150405")))
	}
	if err := checkRunDir(dir); err != nil {
		return nil, err
	}
	if err := r.check(); err != nil {
		return nil, err
	}
	r.Dir = dir
	// The folder is this process's from here on; checked again under the lock, as another
	// process may have taken it meanwhile.
	lock, err := dirlock.AcquireDir(dir)
	if err != nil {
		return nil, err
	}
	r.lock = lock
	if err := checkRunDir(dir); err != nil {
		r.Close()
		return nil, err
	}
	sweepLeftovers(dir)
	if err := os.MkdirAll(filepath.Join(dir, "models"), 0o755); err != nil {
		r.Close()
		return nil, err
	}
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(j); err != nil {
		r.Close()
		return nil, err
	}
	if err := jsonfile.WriteAtomic(filepath.Join(dir, "job.toml"), buf.Bytes()); err != nil {
		return nil, err
	}
	if err := jsonfile.WriteJSON(filepath.Join(dir, "classes.json"), r.splits.Train.ClassNames); err != nil {
		return nil, err
	}
	if err := jsonfile.WriteJSON(filepath.Join(dir, DataFile), r.dataSummary()); err != nil {
		return nil, err
	}
	if len(r.zoo) > 0 {
		if err := jsonfile.WriteJSON(filepath.Join(dir, ZooFile), r.zoo); err != nil {
			return nil, err
		}
	}
	r.State = &State{Version: 1, Done: map[string]bool{}, Learner: plan.NewLearner(j.Plan.Feedback), BestRound: -1}
	return r, r.saveState()
}

// Resume reopens a run folder: its job.toml and state.json.
// The folder is locked for this process until Close.
func Resume(e *bindings.Engine, dir string) (*Runner, error) {
	lock, err := dirlock.Acquire(dir)
	if err != nil {
		return nil, fmt.Errorf("resume: %w", err)
	}
	r, err := resume(e, dir)
	if err != nil {
		lock.Release()
		return nil, err
	}
	r.lock = lock
	sweepLeftovers(dir)
	return r, nil
}

func resume(e *bindings.Engine, dir string) (*Runner, error) {
	j, err := LoadJob(filepath.Join(dir, "job.toml"))
	if err != nil {
		return nil, err
	}
	st, err := loadState(dir)
	if err != nil {
		return nil, fmt.Errorf("resume %s: %w", dir, err)
	}
	r := &Runner{Job: j, E: e, Dir: dir, State: st}
	if err := r.check(); err != nil {
		return nil, err
	}
	return r, nil
}

// Close releases the run folder's lock (the process's end releases it too).
func (r *Runner) Close() error {
	err := r.lock.Release()
	r.lock = nil
	return err
}

// check loads data and models once, so a bad job fails before its run folder exists.
func (r *Runner) check() error {
	if err := r.E.SetDevice(r.Job.Device); err != nil {
		return fmt.Errorf("device: %w", err)
	}
	var err error
	// The generator's conditions before the data, whose condition shift would fail on the same name.
	if conds := r.Job.PlanConditions(); len(conds) > 0 {
		p, err := ResolveModel(r.Job.Models.Generator)
		if err != nil {
			return fmt.Errorf("models.generator: %w", err)
		}
		meta, err := MetaReader(r.E, bindings.RoleGenerator)(p)
		if err != nil {
			return fmt.Errorf("models.generator: %w", err)
		}
		if err := CheckConditions("models.generator", p, meta, conds, "data.scenario_params.conditions (the plan's segments)"); err != nil {
			return err
		}
	}
	// The data next: every model is checked against it (and a zoo model shaped to it).
	if r.splits, err = LoadSplits(r.E, &r.Job); err != nil {
		return fmt.Errorf("data: %w", err)
	}
	tr := r.splits.Train
	want := DataShape{C: tr.C, H: tr.H, W: tr.W, Classes: tr.NumClasses()}
	source := r.Job.Data.Source
	if in := r.splits.Info; in != nil && in.Colour > 0 && in.Gray > 0 {
		source += "; " + in.Mode()
	}
	r.zoo = nil
	shapes := map[string][3]int{}
	for _, m := range []struct {
		key, ref string
		role     bindings.Role
		dst      *string
	}{
		{"models.generator", r.Job.Models.Generator, bindings.RoleGenerator, &r.paths.generator},
		{"models.target", r.Job.Models.Target, bindings.RoleClassifier, &r.paths.target},
		{"models.screen", r.Job.Models.Screen, bindings.RoleClassifier, &r.paths.screen},
	} {
		p, zm, err := ResolveModelFor(m.key, m.ref, want, MetaReader(r.E, m.role))
		if err != nil {
			return fmt.Errorf("%s: %w", m.key, err)
		}
		mm, err := r.E.LoadModel(p, m.role)
		if err != nil {
			return fmt.Errorf("%s: %w", m.key, err)
		}
		noEncode := m.role == bindings.RoleGenerator && !mm.Meta.HasEncode
		meta := mm.Meta
		mm.Close()
		shapes[m.key] = meta.ImageShape
		if err := CheckModel(m.key, p, meta, want, source); err != nil {
			return err
		}
		if zm != nil {
			r.zoo = append(r.zoo, *zm)
		}
		if noEncode && generate.NeedsEncode(r.Job.Generate.Latent) {
			return fmt.Errorf("generate.latent = %q: models.generator %s has no encode(x, y, attrs) -> (mu, logvar); use latent = %q or a generator with encode",
				r.Job.Generate.Latent, m.ref, generate.LatentPrior)
		}
		if noEncode && r.Job.Generate.Blend > 0 {
			return fmt.Errorf("generate.blend = %v: models.generator %s has no encode(x, y, attrs) -> (mu, logvar), and blends are drawn between real images' latents; set blend = 0 or use a generator with encode",
				r.Job.Generate.Blend, m.ref)
		}
		*m.dst = p
	}
	return r.Job.checkBatchesFit(shapes)
}

func (r *Runner) saveState() error {
	return jsonfile.WriteJSON(filepath.Join(r.Dir, StateFile), r.State)
}

// stage runs f unless key is already done, and records it only once f has completed: a stage
// that fails or is interrupted (ctx cancelled, an error wrapping context.Canceled) is not done,
// and --resume runs it again.
func (r *Runner) stage(ctx context.Context, key string, f func() error) error {
	if r.State.Done[key] {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: not started: %w", key, err)
	}
	progress.Logf("== %s", key)
	start := time.Now()
	if err := f(); err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		// f may have finished its work regardless; only a stage that returns nil after a cancel
		// could be short, so it is not recorded either (it is redone on resume: its outputs are
		// written atomically, so the redo replaces them).
		return fmt.Errorf("%s: interrupted: %w", key, err)
	}
	r.State.Done[key] = true
	if err := r.saveState(); err != nil {
		return err
	}
	if err := r.Metrics.Stage(key, time.Since(start).Seconds(), time.Now()); err != nil {
		// The stage is done and recorded; a metrics file that cannot be written costs no work.
		progress.Logf("warning: %v", err)
	}
	return nil
}

func (r *Runner) path(parts ...string) string {
	return filepath.Join(append([]string{r.Dir}, parts...)...)
}
func roundDir(n int) string { return fmt.Sprintf("r%d", n) }

// Run executes (or continues) the whole job.
func (r *Runner) Run(ctx context.Context) error {
	j := &r.Job
	sp := r.splits
	progress.Logf("run %s: %d training, %d validation, %d test images, %d classes", r.Dir, sp.Train.Len(), sp.Val.Len(), sp.Test.Len(), sp.Train.NumClasses())
	if err := r.stage(ctx, "setup/generator", func() error { return r.trainGenerator(ctx) }); err != nil {
		return err
	}
	if err := r.stage(ctx, "setup/screen", func() error { return r.trainScreen(ctx) }); err != nil {
		return err
	}
	if j.Loop.Rounds == 0 {
		// loop.rounds = 0: set-up only, the trained generator and screen in models/ (for
		// `gam-native generate`); no target is trained, so there is no report.
		progress.Logf("loop.rounds = 0: set-up only; trained models in %s", r.path("models"))
		return nil
	}
	if err := r.stage(ctx, "r0/train", func() error { return r.trainTarget(ctx, 0) }); err != nil {
		return err
	}
	if err := r.stage(ctx, "r0/eval", func() error { return r.evaluate(0) }); err != nil {
		return err
	}
	for n := 1; n <= j.Loop.Rounds; n++ {
		if r.State.Stopped != "" {
			break
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rd := roundDir(n)
		steps := []struct {
			name string
			f    func() error
		}{
			{"plan", func() error { return r.plan(n) }},
			{"generate", func() error { return r.generate(ctx, n) }},
			{"train", func() error { return r.trainTarget(ctx, n) }},
			{"eval", func() error { return r.evaluate(n) }},
			{"feedback", func() error { return r.feedback(n) }},
		}
		for _, s := range steps {
			if r.State.Stopped != "" {
				break
			}
			if err := r.stage(ctx, rd+"/"+s.name, s.f); err != nil {
				return err
			}
		}
	}
	if r.State.Stopped == "" {
		r.State.Stopped = "round limit"
	}
	if err := r.stage(ctx, "final/test", r.finalTest); err != nil {
		return err
	}
	return r.stage(ctx, "final/report", r.writeReport)
}

// TrainModels runs only a job's set-up stages, the ones a run starts with: it trains the
// generator and the screen as the job says and writes them to dir/generator.pt and dir/screen.pt
// (with their loss histories in dir/setup/), for `gam-native generate`. Nothing else is written.
func TrainModels(ctx context.Context, e *bindings.Engine, j Job, dir string) error {
	r := &Runner{Job: j, E: e, flatModels: true}
	if err := r.check(); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	r.Dir = dir
	progress.Logf("train-models: %d training images, %d classes", r.splits.Train.Len(), r.splits.Train.NumClasses())
	for _, s := range []struct {
		name string
		f    func(context.Context) error
	}{{"generator", r.trainGenerator}, {"screen", r.trainScreen}} {
		progress.Logf("== setup/%s", s.name)
		if err := s.f(ctx); err != nil {
			return fmt.Errorf("setup/%s: %w", s.name, err)
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("setup/%s: interrupted: %w", s.name, err)
		}
	}
	return nil
}

// modelPath is where the set-up writes a trained model: models/NAME in a run folder.
func (r *Runner) modelPath(name string) string {
	if r.flatModels {
		return r.path(name)
	}
	return r.path("models", name)
}

func (r *Runner) trainGenerator(ctx context.Context) error {
	dst := r.modelPath("generator.pt")
	g, err := r.E.LoadModel(r.paths.generator, bindings.RoleGenerator)
	if err != nil {
		return err
	}
	defer g.Close()
	if !r.Job.Models.TrainGenerator || !g.Meta.Trainable {
		if !g.Meta.Trainable && r.Job.Models.TrainGenerator {
			progress.Logf("generator %s has no training members: used as given", r.paths.generator)
		}
		return g.Save(dst)
	}
	o := r.Job.GeneratorTraining
	o.Seed = stageseed.For(r.Job.Seed, stageseed.Generator)
	o.Ctx = ctx
	defer r.sizeTraining("setup/generator", "generator_training", &o.BatchSize, &o.OOM, g.Meta.ImageShape)()
	t0 := time.Now()
	hist, err := train.Generator(r.E, g, r.splits.Train, o)
	if err != nil {
		return err
	}
	if err := jsonfile.WriteJSON(r.path("setup", "generator.json"), map[string]any{"loss_per_epoch": hist, "seconds": time.Since(t0).Seconds()}); err != nil {
		return err
	}
	return g.Save(dst)
}

func (r *Runner) trainScreen(ctx context.Context) error {
	m, err := r.E.LoadModel(r.paths.screen, bindings.RoleClassifier)
	if err != nil {
		return err
	}
	defer m.Close()
	if r.Job.Models.TrainScreen {
		o := r.Job.ScreenTraining
		if o.Conditions == nil {
			o.Conditions = r.Job.ScreenConditions()
		}
		o.Seed = stageseed.For(r.Job.Seed, stageseed.Screen)
		o.Ctx = ctx
		o.Label = "train screen"
		defer r.sizeTraining("setup/screen", "screen_training", &o.BatchSize, &o.OOM, m.Meta.ImageShape)()
		t0 := time.Now()
		hist, err := train.Classifier(r.E, m, r.splits.Train, nil, o)
		if err != nil {
			return err
		}
		if err := jsonfile.WriteJSON(r.path("setup", "screen.json"), map[string]any{"loss_per_epoch": hist, "seconds": time.Since(t0).Seconds()}); err != nil {
			return err
		}
	}
	return m.Save(r.modelPath("screen.pt"))
}

// generatedSet is every accepted image of rounds before `before` (and reviewed ones), minus
// rolled-back targets; nil when there is none.
func (r *Runner) generatedSet(before int) (*data.Dataset, error) {
	classes := r.splits.Train.ClassNames
	var parts []*data.Dataset
	mp := r.path("accepted", "manifest.jsonl")
	if _, err := os.Stat(mp); err == nil {
		ds, recs, err := data.ReadManifest(mp, classes)
		if err != nil {
			return nil, err
		}
		var keep []int
		for i, rec := range recs {
			p := rec.Provenance
			// A reviewed image (review apply put it here) comes in through r.Reviewed below.
			if p != nil && p.Review == "" && p.Round < before && !slices.Contains(r.State.RolledBack, fmt.Sprintf("%d/%s", p.Round, p.Target)) {
				keep = append(keep, i)
			}
		}
		if len(keep) > 0 {
			parts = append(parts, ds.Subset(keep))
		}
	}
	if r.Reviewed != nil {
		rv, err := r.Reviewed(r.Dir, classes)
		if err != nil {
			return nil, err
		}
		if len(rv) > 0 {
			rds, err := datasetFromReview(r.path("review"), rv, classes)
			if err != nil {
				return nil, err
			}
			parts = append(parts, rds)
		}
	}
	switch len(parts) {
	case 0:
		return nil, nil
	case 1:
		return parts[0], nil
	}
	return data.Concat("generated", parts...)
}

// datasetFromReview reads the images of reviewed records (paths relative to the review folder).
func datasetFromReview(dir string, recs []data.Record, classes []string) (*data.Dataset, error) {
	var buf []byte
	for _, rec := range recs {
		b, err := rec.MarshalLine()
		if err != nil {
			return nil, err
		}
		buf = append(buf, b...)
	}
	// A manifest beside the images, as ReadManifest resolves paths against its folder; a full
	// disk is an error naming the folder, not a short list read back.
	tmp, err := os.CreateTemp(dir, ".reviewed*.jsonl")
	if err != nil {
		return nil, fmt.Errorf("reviewed images in %s: %w", dir, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(buf); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("reviewed images in %s: %w", dir, err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("reviewed images in %s: %w", dir, err)
	}
	ds, _, err := data.ReadManifest(tmp.Name(), classes)
	return ds, err
}

func (r *Runner) trainTarget(ctx context.Context, n int) error {
	m, err := r.E.LoadModel(r.paths.target, bindings.RoleClassifier)
	if err != nil {
		return err
	}
	defer m.Close()
	var gen *data.Dataset
	if n > 0 {
		if gen, err = r.generatedSet(n + 1); err != nil {
			return err
		}
	}
	o := r.Job.TargetTraining
	o.Seed = stageseed.For(r.Job.Seed, stageseed.Target)
	o.Ctx = ctx
	o.Label = fmt.Sprintf("round %d: train target", n)
	defer r.sizeTraining(fmt.Sprintf("r%d/train", n), "target_training", &o.BatchSize, &o.OOM, m.Meta.ImageShape)()
	t0 := time.Now()
	hist, err := train.Classifier(r.E, m, r.splits.Train, gen, o)
	if err != nil {
		return err
	}
	ng := 0
	if gen != nil {
		ng = gen.Len()
	}
	if err := jsonfile.WriteJSON(r.path("rounds", roundDir(n), "train.json"), map[string]any{
		"loss_per_epoch": hist, "seconds": time.Since(t0).Seconds(), "real_images": r.splits.Train.Len(), "generated_images": ng}); err != nil {
		return err
	}
	return m.Save(r.path("models", fmt.Sprintf("target_r%d.pt", n)))
}

// metricsOf predicts ds with the model at path and computes its metrics.
func (r *Runner) metricsOf(path string, ds *data.Dataset) (*plan.Metrics, error) {
	m, err := r.E.LoadModel(path, bindings.RoleClassifier)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	pr, err := train.Predict(r.E, m, ds, 512)
	if err != nil {
		return nil, err
	}
	p := plan.Predictions{Classes: ds.ClassNames, True: make([]int, ds.Len()), Pred: make([]int, ds.Len()),
		Probs: make([]float64, len(pr.Probs)), TrainCounts: map[string]int{}}
	for i := range p.True {
		p.True[i], p.Pred[i] = int(ds.Labels[i]), int(pr.Pred[i])
	}
	for i, v := range pr.Probs {
		p.Probs[i] = float64(v)
	}
	if ds.Attrs != nil {
		p.Attrs = make([]float64, len(ds.Attrs))
		for i, v := range ds.Attrs {
			p.Attrs[i] = float64(v)
		}
		p.AttrOrder = data.AttrNames
	}
	for c, n := range r.splits.Train.ClassCounts() {
		p.TrainCounts[ds.ClassNames[c]] = n
	}
	return plan.ComputeMetrics(p, plan.MetricsOptions{})
}

// valPredictions are the argmax predictions on the validation images of round n's model.
func (r *Runner) valPredictions(n int) ([]int64, error) {
	m, err := r.E.LoadModel(r.path("models", fmt.Sprintf("target_r%d.pt", n)), bindings.RoleClassifier)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	pr, err := train.Predict(r.E, m, r.splits.Val, 512)
	if err != nil {
		return nil, err
	}
	return pr.Pred, nil
}

// compareWithKept compares round n's model with the kept one on the validation images, paired
// image by image (plan.ComparePaired), with the run's seed for the bootstrap.
func (r *Runner) compareWithKept(n int) (plan.Paired, error) {
	kept := max(r.State.BestRound, 0)
	a, err := r.valPredictions(kept)
	if err != nil {
		return plan.Paired{}, err
	}
	b, err := r.valPredictions(n)
	if err != nil {
		return plan.Paired{}, err
	}
	return plan.ComparePaired(r.splits.Val.Labels, a, b, len(r.splits.Val.ClassNames), plan.Bootstrap{Seed: r.Job.Seed})
}

func (r *Runner) evaluate(n int) error {
	met, err := r.metricsOf(r.path("models", fmt.Sprintf("target_r%d.pt", n)), r.splits.Val)
	if err != nil {
		return err
	}
	progress.Logf("round %d: validation balanced accuracy %.4f, macro-F1 %.4f, worst-class recall %.4f (%s)",
		n, met.Summary.BalancedAccuracy, met.Summary.MacroF1, met.Summary.WorstRecall, met.Summary.WorstClass)
	return jsonfile.WriteJSON(r.path("rounds", roundDir(n), "metrics.json"), met)
}

func (r *Runner) roundMetrics(n int) (*plan.Metrics, error) {
	var m plan.Metrics
	err := jsonfile.ReadJSON(r.path("rounds", roundDir(n), "metrics.json"), &m)
	return &m, err
}

func (r *Runner) plan(n int) error {
	met, err := r.roundMetrics(n - 1)
	if err != nil {
		return err
	}
	cfg := r.Job.Plan
	total := r.Job.Loop.BudgetTotal
	if total == 0 {
		total = r.Job.Loop.Rounds * cfg.Budget
	}
	cfg.Budget = min(cfg.Budget, total-r.State.Spent)
	if cfg.Budget <= 0 {
		r.State.Stopped = "total budget spent"
		return nil
	}
	p, err := plan.BuildPlan(met, cfg, r.State.Learner)
	if err != nil {
		return err
	}
	if len(p.Targets) == 0 {
		progress.Logf("round %d: the plan has no target (plan.focus = %q finds nothing weaker than its class): nothing to generate this round", n, cfg.Focus)
	}
	return jsonfile.WriteJSON(r.path("rounds", roundDir(n), "plan.json"), p)
}

func (r *Runner) generate(ctx context.Context, n int) error {
	var p plan.Plan
	if err := jsonfile.ReadJSON(r.path("rounds", roundDir(n), "plan.json"), &p); err != nil {
		return err
	}
	e := r.E
	g, err := e.LoadModel(r.path("models", "generator.pt"), bindings.RoleGenerator)
	if err != nil {
		return err
	}
	defer g.Close()
	screen, err := e.LoadModel(r.path("models", "screen.pt"), bindings.RoleClassifier)
	if err != nil {
		return err
	}
	defer screen.Close()
	models := generate.Models{Generator: g, GeneratorName: r.Job.Models.Generator, Screen: screen}
	if r.Job.Generate.SearchSteps > 0 {
		t, err := e.LoadModel(r.path("models", fmt.Sprintf("target_r%d.pt", n-1)), bindings.RoleClassifier)
		if err != nil {
			return err
		}
		defer t.Close()
		models.Target = t
	}
	gcfg, batch, err := r.sizeGenerate(n, models)
	if err != nil {
		return err
	}
	reviewDir := ""
	if r.Job.Generate.ReviewBand > 0 {
		reviewDir = r.path("review")
	}
	s := g.Meta.ImageShape
	sink, err := generate.OpenDirSink(r.path("accepted"), reviewDir, r.splits.Train.ClassNames, n, r.Job.Models.Generator, s[0], s[1], s[2])
	if err != nil {
		return err
	}
	defer sink.Close()
	if k, err := sink.Sweep(); err != nil {
		return err
	} else if k > 0 {
		progress.Logf("round %d: removed %d image(s) and temporary file(s) that no record names (an earlier attempt cut short)", n, k)
	}
	grids := newGridSink(sink, 16)
	var sk generate.Sink = grids
	if r.wrapSink != nil {
		sk = r.wrapSink(n, grids)
	}
	var res *generate.Result
	if gcfg.Shards > 1 {
		res, err = r.generateSharded(ctx, n, p, screen, gcfg, sink, grids)
	} else {
		var opts generate.Options
		if opts, err = generate.NewOptions(e, g, screen, r.splits.Train, gcfg, r.Job.Seed, n); err != nil {
			return err
		}
		res, err = generate.Run(ctx, e, models, p.Targets, opts, sk)
	}
	if err != nil {
		return err
	}
	if err := r.recordGenerate(n, batch, res); err != nil {
		return err
	}
	acc, rej := res.Counts()
	r.Metrics.Generation(roundDir(n)+"/generate", acc, rej, res.Seconds)
	if err := grids.write(r.path("rounds", roundDir(n)), s[0], s[1], s[2]); err != nil {
		return err
	}
	r.State.Spent += res.Accepted
	return jsonfile.WriteJSON(r.path("rounds", roundDir(n), "generate.json"), res)
}

func (r *Runner) feedback(n int) error {
	prev, err := r.roundMetrics(n - 1)
	if err != nil {
		return err
	}
	cur, err := r.roundMetrics(n)
	if err != nil {
		return err
	}
	var p plan.Plan
	if err := jsonfile.ReadJSON(r.path("rounds", roundDir(n), "plan.json"), &p); err != nil {
		return err
	}
	res := plan.RoundResult{Targets: p.Targets, TargetDelta: map[string]float64{}, ClassDelta: map[string]float64{},
		TargetSE: map[string]float64{}, ClassSE: map[string]float64{}}
	for _, t := range p.Targets {
		a, ok1 := prev.Unit(t.ID)
		b, ok2 := cur.Unit(t.ID)
		if ok1 && ok2 {
			res.TargetDelta[t.ID] = b.Recall - a.Recall
			res.TargetSE[t.ID] = plan.DeltaSE(a.Recall, a.Support, b.Recall, b.Support)
		} else {
			res.TargetDelta[t.ID] = 0
		}
	}
	for i := range cur.PerClass {
		a, b := prev.PerClass[i], cur.PerClass[i]
		res.ClassDelta[b.ClassName] = b.Recall - a.Recall
		res.ClassSE[b.ClassName] = plan.DeltaSE(a.Recall, a.Support, b.Recall, b.Support)
	}
	rep, err := r.State.Learner.Update(res)
	if err != nil {
		return err
	}
	// A target whose own class or segment lost more than the harm tolerance (and harm_z standard errors) is rolled back too:
	// its images taught the classifier something wrong about the very thing they were made for.
	for _, t := range p.Targets {
		if r.State.Learner.Config.Harmful(res.TargetDelta[t.ID], res.TargetSE[t.ID]) && !slices.Contains(rep.Rollback, t.ID) {
			rep.Rollback = append(rep.Rollback, t.ID)
		}
	}
	for _, id := range rep.Rollback {
		r.State.RolledBack = append(r.State.RolledBack, fmt.Sprintf("%d/%s", n, id))
	}
	if len(rep.Rollback) > 0 {
		progress.Logf("round %d: rolling back the images of %s", n, human.List(rep.Rollback))
	}
	if err := r.moveRolledBack(); err != nil {
		return err
	}
	if rep.Flagged() {
		progress.Logf("round %d hurt %s: rolling back the images of %s", n, harmsText(rep.Harmed), human.List(rep.Rollback))
	}
	ba := cur.Summary.BalancedAccuracy
	if r.State.BestRound < 0 {
		r.State.BestRound, r.State.BestBA = 0, prev.Summary.BalancedAccuracy
	}
	cmp, err := r.compareWithKept(n)
	if err != nil {
		return err
	}
	progress.Logf("round %d against the kept model (round %d), validation: %s", n, r.State.BestRound, cmp)
	if r.State.Compared == nil {
		r.State.Compared = map[int]plan.Paired{}
	}
	r.State.Compared[n] = cmp
	r.State.recordRoundIf(n, ba, r.Job.Loop.Patience, r.Job.Loop.Select != SelectSignificant || cmp.Better())
	r.State.LastRound = n
	return jsonfile.WriteJSON(r.path("rounds", roundDir(n), "feedback.json"), map[string]any{"result": res, "report": rep,
		"best_round": r.State.BestRound, "best_balanced_accuracy": r.State.BestBA, "against_kept": cmp})
}

// TestResult is a model's metrics on the test set.
type TestResult struct {
	Round   int           `json:"round"`
	Summary plan.Summary  `json:"summary"`
	Recall  []float64     `json:"recall_per_class"`
	Metrics *plan.Metrics `json:"-"`
}

func (r *Runner) finalTest() error {
	if r.State.BestRound < 0 {
		m0, err := r.roundMetrics(0)
		if err != nil {
			return err
		}
		r.State.BestRound, r.State.BestBA = 0, m0.Summary.BalancedAccuracy
	}
	out := map[string]TestResult{}
	for key, n := range map[string]int{"first": 0, "best": r.State.BestRound} {
		met, err := r.metricsOf(r.path("models", fmt.Sprintf("target_r%d.pt", n)), r.splits.Test)
		if err != nil {
			return err
		}
		tr := TestResult{Round: n, Summary: met.Summary}
		for _, u := range met.PerClass {
			tr.Recall = append(tr.Recall, u.Recall)
		}
		out[key] = tr
	}
	if err := copyFile(r.path("models", fmt.Sprintf("target_r%d.pt", r.State.BestRound)), r.path("models", "best.pt")); err != nil {
		return err
	}
	return jsonfile.WriteJSON(r.path("test.json"), out)
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return jsonfile.WriteAtomic(dst, b)
}

// harmsText is "coat -0.70, shirt -0.05": each harmed class with its recall change.
func harmsText(hs []plan.Harm) string {
	parts := make([]string, len(hs))
	for i, h := range hs {
		parts[i] = h.Class + " " + human.Delta(h.Delta)
	}
	return human.List(parts)
}
