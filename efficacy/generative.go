package efficacy

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gam-native/gam-native/bindings"
	"github.com/gam-native/gam-native/data"
	"github.com/gam-native/gam-native/internal/jsonfile"
	"github.com/gam-native/gam-native/internal/stageseed"
	"github.com/gam-native/gam-native/loop"
	"github.com/gam-native/gam-native/progress"
	"github.com/gam-native/gam-native/train"
)

// shared are the models that methods untargeted, gam and gam-plus share on one seed: the
// generator (trained class-balanced) and the screen (trained class-balanced, so that it does not
// reject the tail images the plan asks for). They are trained once per seed, in seedN/.
type shared struct {
	Generator     string  `json:"generator"`
	Screen        string  `json:"screen"`
	GenSeconds    float64 `json:"generator_seconds"`
	ScreenSeconds float64 `json:"screen_seconds"`
	GenLoss       []float32
	ScreenLoss    []float32
}

func (b *Bench) shared(seed uint64) (*shared, error) {
	dir := b.seedDir(seed)
	meta := filepath.Join(dir, "shared.json")
	var sh shared
	if err := jsonfile.ReadJSON(meta, &sh); err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	sh.Generator, sh.Screen = filepath.Join(abs, "generator.pt"), filepath.Join(abs, "screen.pt")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if _, err := os.Stat(sh.Generator); err != nil {
		ref, err := b.resolve("generator", b.O.Generator, bindings.RoleGenerator)
		if err != nil {
			return nil, err
		}
		g, err := b.E.LoadModel(ref, bindings.RoleGenerator)
		if err != nil {
			return nil, err
		}
		defer g.Close()
		progress.Logf("efficacy: seed %d: training the generator (%d epochs, class-balanced)", seed, b.O.GenEpochs)
		t0 := time.Now()
		// The loop's own seed for its generator.
		hist, err := train.Generator(b.E, g, b.splits.Train, train.GeneratorOptions{Epochs: b.O.GenEpochs, Balanced: true,
			Seed: stageseed.For(seed, stageseed.Generator), Label: fmt.Sprintf("generator s%d", seed), Ctx: b.ctx})
		if err != nil {
			return nil, err
		}
		sh.GenSeconds, sh.GenLoss = time.Since(t0).Seconds(), hist
		if err := g.Save(sh.Generator); err != nil {
			return nil, err
		}
		if err := jsonfile.WriteJSON(meta, sh); err != nil {
			return nil, err
		}
	}
	if _, err := os.Stat(sh.Screen); err != nil {
		ref, err := b.resolve("screen", b.O.Screen, bindings.RoleClassifier)
		if err != nil {
			return nil, err
		}
		m, err := b.E.LoadModel(ref, bindings.RoleClassifier)
		if err != nil {
			return nil, err
		}
		defer m.Close()
		progress.Logf("efficacy: seed %d: training the screen (%d epochs, class-balanced)", seed, b.O.ScreenEpochs)
		t0 := time.Now()
		hist, err := train.Classifier(b.E, m, b.splits.Train, nil, train.ClassifierOptions{Epochs: b.O.ScreenEpochs,
			Sampling: train.SampleBalanced, Seed: stageseed.For(seed, stageseed.Screen), Label: fmt.Sprintf("screen s%d", seed), Ctx: b.ctx,
			Conditions: loop.ScreenConditions(b.O.Scenario, b.O.Params)})
		if err != nil {
			return nil, err
		}
		sh.ScreenSeconds, sh.ScreenLoss = time.Since(t0).Seconds(), hist
		if err := m.Save(sh.Screen); err != nil {
			return nil, err
		}
		if err := jsonfile.WriteJSON(meta, sh); err != nil {
			return nil, err
		}
	}
	return &sh, nil
}

// runUntargeted is method 6: the shared generator, the same total budget spread evenly over the
// classes, no screen, mixed into training exactly as GAM mixes its images (class-balanced
// sampling, GenFraction of each class's draws generated), so that the difference to GAM is what
// GAM chooses to generate and keep.
func (b *Bench) runUntargeted(seed uint64) (*Cell, error) {
	sh, err := b.shared(seed)
	if err != nil {
		return nil, err
	}
	g, err := b.E.LoadModel(sh.Generator, bindings.RoleGenerator)
	if err != nil {
		return nil, err
	}
	gen, err := sampleEvenly(b.E, g, b.splits.Train, b.O.Budget, stageseed.For(seed, stageseed.Untargeted))
	g.Close()
	if err != nil {
		return nil, err
	}
	o := b.genOptions(MethodUntargeted, seed)
	c, err := b.trainAndTest(MethodUntargeted, seed, b.splits.Train, gen, o)
	if err != nil {
		return nil, err
	}
	c.SharedSeconds = sh.GenSeconds
	c.Detail = map[string]any{"generated": gen.Len()}
	return c, nil
}

// sampleEvenly draws budget images from g, budget/K per class (the remainder to the first
// classes), with no condition set.
func sampleEvenly(e *bindings.Engine, g *bindings.Model, like *data.Dataset, budget int, seed uint64) (*data.Dataset, error) {
	k := g.Meta.NumClasses
	out := &data.Dataset{Name: "untargeted", ClassNames: like.ClassNames, C: like.C, H: like.H, W: like.W}
	if g.Meta.Pixels() != like.ImageSize() {
		return nil, fmt.Errorf("generator makes %v images, the data has %dx%dx%d", g.Meta.ImageShape, like.C, like.H, like.W)
	}
	const bs = 256
	na := len(g.Meta.AttrNames)
	for c := 0; c < k; c++ {
		want := budget / k
		if c < budget%k {
			want++
		}
		for lo := 0; lo < want; lo += bs {
			n := min(bs, want-lo)
			seed++
			imgs, err := sampleBatch(e, g, c, n, na, seed)
			if err != nil {
				return nil, err
			}
			for i := range imgs {
				imgs[i] = min(max(imgs[i], 0), 1)
			}
			out.Images = append(out.Images, imgs...)
			for i := 0; i < n; i++ {
				out.Labels = append(out.Labels, int64(c))
			}
		}
	}
	return out, out.Validate()
}

func sampleBatch(e *bindings.Engine, g *bindings.Model, class, n, na int, seed uint64) ([]float32, error) {
	z, err := e.Randn(1, seed, int64(n), int64(g.Meta.LatentDim))
	if err != nil {
		return nil, err
	}
	defer z.Close()
	ys := make([]int64, n)
	for i := range ys {
		ys[i] = int64(class)
	}
	y, err := e.FromI64(ys, int64(n))
	if err != nil {
		return nil, err
	}
	defer y.Close()
	var a *bindings.Tensor
	if na > 0 {
		if a, err = e.FromF32(make([]float32, n*na), int64(n), int64(na)); err != nil {
			return nil, err
		}
		defer a.Close()
	}
	x, err := g.Sample(z, y, a)
	if err != nil {
		return nil, err
	}
	defer x.Close()
	return x.F32()
}

// gamJob is the loop job of methods gam and gam-plus: the benchmark's data, the shared generator
// and screen (not retrained), the target trained by the protocol with GAM's mixing (class-balanced
// sampling, GenFraction of each class's draws generated), the same total budget over Rounds rounds.
func (b *Bench) gamJob(seed uint64, sh *shared) (loop.Job, error) {
	o := &b.O
	j := loop.DefaultJob()
	j.Name = "efficacy-gam"
	j.Seed = seed
	j.Device = o.Device
	j.Data.Source = o.source()
	j.Data.Path = o.DataDir
	j.Data.Scenario = o.Scenario
	j.Data.Params = o.Params
	j.Data.TrainLimit, j.Data.TestLimit = o.TrainLimit, o.TestLimit
	j.Models.Generator, j.Models.Target, j.Models.Screen = sh.Generator, o.Target, sh.Screen
	j.Models.TrainGenerator, j.Models.TrainScreen = false, false
	// Not used (the models come trained); set so that job.toml says how they were trained.
	j.GeneratorTraining.Epochs, j.GeneratorTraining.Balanced = o.GenEpochs, true
	j.ScreenTraining.Epochs, j.ScreenTraining.Sampling = o.ScreenEpochs, train.SampleBalanced
	j.ScreenTraining.Conditions = j.ScreenConditions()
	j.TargetTraining = b.genOptions(MethodGAM, seed)
	// The loop sets its own seed (stageseed.Target, the same) and label per round.
	j.TargetTraining.Seed, j.TargetTraining.Label = 0, ""
	j.Loop.Rounds = o.Rounds
	j.Loop.BudgetTotal = o.Budget
	j.Plan.Budget = (o.Budget + o.Rounds - 1) / o.Rounds
	if o.Tiny {
		j.Generate.ConfThreshold, j.Generate.ProbThreshold, j.Generate.MaxAttempts = 0, 0.1, 10
		j.Plan.Cap = 0
		j.Loop.Patience = 0
	}
	if o.GAMJobTOML != "" {
		return loop.ParseJobOver(j, o.GAMJob, []byte(o.GAMJobTOML))
	}
	return j, nil
}

// genOptions is the target training of the methods that add generated images (untargeted, gam):
// GAMRemedy's training, or the protocol's, with GAM's mixing. With class-balanced sampling
// GenFraction of each class's draws are generated; with balanced softmax (uniform draws over
// real and generated images) the generated images join the pool and its prior.
func (b *Bench) genOptions(method string, seed uint64) train.ClassifierOptions {
	o := b.baseOptions(method, seed)
	if b.O.GAMRemedy != "" {
		o, _ = b.remedyOptions(b.O.GAMRemedy, seed)
		o.Label = fmt.Sprintf("%s s%d", method, seed)
	}
	if !o.BalancedSoftmax {
		o.Sampling = train.SampleBalanced
	}
	o.GenFraction, o.GenFrom, o.GenMix = b.O.GenFraction, b.O.GenFrom, b.O.GenMix
	return o
}

// addRemedy adds a remedy (2-5) to GAM's target training.
func addRemedy(o *train.ClassifierOptions, remedy string, alpha float64) {
	switch remedy {
	case MethodReweight:
		o.Reweight = true
	case MethodAugment:
		o.Augment, o.Flip = true, true
	case MethodMixup:
		o.MixupAlpha = alpha
	case MethodOversampleAugment:
		o.Sampling, o.Augment, o.Flip = train.SampleBalanced, true, true
	case MethodBalancedSoftmax, MethodBSAugment, MethodMixupBalanced:
		// Balanced softmax draws uniformly: over balanced draws its prior would be flat.
		o.Sampling, o.BalancedSoftmax, o.Reweight = train.SampleUniform, true, false
		if remedy != MethodBalancedSoftmax {
			o.Augment, o.Flip = true, true
		}
		if remedy == MethodMixupBalanced {
			o.MixupAlpha = alpha
		}
	}
	// MethodOversample: GAM's mixing already samples class-balanced.
}

// bestRemedy picks, among PlusFrom, the remedy with the best validation balanced accuracy on seed.
func (b *Bench) bestRemedy(seed uint64) (string, float64, error) {
	best, bestBA := "", -1.0
	for _, m := range b.O.PlusFrom {
		var c Cell
		if err := jsonfile.ReadJSON(b.cellPath(m, seed), &c); err != nil {
			return "", 0, fmt.Errorf("gam-plus needs the %s cell of seed %d: %w", m, seed, err)
		}
		if ba := c.Val.Summary.BalancedAccuracy; ba > bestBA {
			best, bestBA = m, ba
		}
	}
	return best, bestBA, nil
}

// runGAM is methods 7 and 8: the whole closed loop in seedN/<method>/, resumed if it was killed;
// its best model (by validation balanced accuracy) is tested like every other method.
func (b *Bench) runGAM(ctx context.Context, method string, seed uint64) (*Cell, error) {
	if method == MethodGAMPlus && !b.O.PlusLoop {
		return b.runGAMPlusRetrain(seed)
	}
	sh, err := b.shared(seed)
	if err != nil {
		return nil, err
	}
	j, err := b.gamJob(seed, sh)
	if err != nil {
		return nil, fmt.Errorf("--gam-job: %w", err)
	}
	detail := map[string]any{}
	if method == MethodGAMPlus {
		rem, ba, err := b.bestRemedy(seed)
		if err != nil {
			return nil, err
		}
		addRemedy(&j.TargetTraining, rem, b.O.MixupAlpha)
		j.Name = "efficacy-gam-plus-" + rem
		detail["remedy"] = rem
		progress.Logf("efficacy: gam-plus seed %d adds %s (validation balanced accuracy %.4f alone)", seed, rem, ba)
	}
	if err := j.Validate(); err != nil {
		return nil, fmt.Errorf("GAM job: %w", err)
	}
	dir := filepath.Join(b.seedDir(seed), method)
	var r *loop.Runner
	if _, err := os.Stat(filepath.Join(dir, loop.StateFile)); err == nil {
		progress.Logf("efficacy: resuming the GAM run in %s", dir)
		r, err = loop.Resume(b.E, dir)
		if err != nil {
			return nil, err
		}
	} else if r, err = loop.Prepare(b.E, j, dir); err != nil {
		return nil, err
	}
	defer r.Close() // the run folder's lock
	if err := r.Run(ctx); err != nil {
		return nil, fmt.Errorf("GAM run %s: %w", dir, err)
	}
	m, err := b.E.LoadModel(filepath.Join(dir, "models", "best.pt"), bindings.RoleClassifier)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	c, err := b.testModel(method, seed, m)
	if err != nil {
		return nil, err
	}
	c.SharedSeconds = sh.GenSeconds + sh.ScreenSeconds
	var rep loop.Report
	if err := jsonfile.ReadJSON(filepath.Join(dir, "report.json"), &rep); err == nil {
		acc, tried, inTrain := 0, 0, 0
		for _, e := range rep.Rounds {
			if e.Generation != nil {
				acc += e.Generation.Accepted
				tried += e.Generation.Attempts
			}
			if e.Round == rep.BestRound {
				inTrain = e.GeneratedImages
			}
		}
		detail["best_round"], detail["stopped"], detail["accepted"], detail["tried"] = rep.BestRound, rep.Stopped, acc, tried
		detail["generated_in_best"] = inTrain
		detail["round0_test_ba"] = fmt.Sprintf("%.4f", rep.Test.First.Summary.BalancedAccuracy)
	}
	// Every round's model on the test set, whichever the loop kept: what the generated images did,
	// apart from the choice made on the small validation set.
	var bas []string
	for n := 0; ; n++ {
		p := filepath.Join(dir, "models", fmt.Sprintf("target_r%d.pt", n))
		if _, err := os.Stat(p); err != nil {
			break
		}
		rm, err := b.E.LoadModel(p, bindings.RoleClassifier)
		if err != nil {
			return nil, err
		}
		ev, err := Evaluate(b.E, rm, b.splits.Test)
		rm.Close()
		if err != nil {
			return nil, err
		}
		bas = append(bas, fmt.Sprintf("%.4f", ev.Summary.BalancedAccuracy))
	}
	if len(bas) > 0 {
		detail["round_test_ba"] = strings.Join(bas, "/")
	}
	detail["run"] = dir
	c.Detail = detail
	return c, nil
}

// runGAMPlusRetrain is gam-plus without a second loop: the target is trained once, by GAM's
// target training plus the remedy, on exactly the images that trained GAM's best model (the
// accepted images of rounds up to the best one, less those rolled back before it was trained).
func (b *Bench) runGAMPlusRetrain(seed uint64) (*Cell, error) {
	rem, ba, err := b.bestRemedy(seed)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(b.seedDir(seed), MethodGAM)
	var st loop.State
	if err := jsonfile.ReadJSON(filepath.Join(dir, loop.StateFile), &st); err != nil {
		return nil, fmt.Errorf("gam-plus needs the finished gam run of seed %d: %w", seed, err)
	}
	gen, err := gamImages(dir, &st, b.splits.Train)
	if err != nil {
		return nil, err
	}
	progress.Logf("efficacy: gam-plus seed %d: GAM's round %d images (%d) + %s (validation balanced accuracy %.4f alone)",
		seed, st.BestRound, gen.Len(), rem, ba)
	o := b.baseOptions(MethodGAMPlus, seed)
	o.Sampling, o.GenFraction = train.SampleBalanced, b.O.GenFraction
	addRemedy(&o, rem, b.O.MixupAlpha)
	var genDS *data.Dataset
	if gen.Len() > 0 {
		genDS = gen
	}
	c, err := b.trainAndTest(MethodGAMPlus, seed, b.splits.Train, genDS, o)
	if err != nil {
		return nil, err
	}
	var gc Cell
	if err := jsonfile.ReadJSON(b.cellPath(MethodGAM, seed), &gc); err == nil {
		// GAM's images were made with the shared models and GAM's loop: their cost is part of this one.
		c.SharedSeconds = gc.Seconds + gc.SharedSeconds
	}
	c.Detail = map[string]any{"remedy": rem, "gam_best_round": st.BestRound, "generated": gen.Len(), "mode": "retrain on GAM's images"}
	return c, nil
}

// gamImages reads the accepted images that trained round st.BestRound of the loop run in dir.
func gamImages(dir string, st *loop.State, like *data.Dataset) (*data.Dataset, error) {
	classes := like.ClassNames
	empty := &data.Dataset{Name: "gam", ClassNames: classes, C: like.C, H: like.H, W: like.W}
	mp := filepath.Join(dir, "accepted", "manifest.jsonl")
	if st.BestRound <= 0 {
		return empty, nil
	}
	if _, err := os.Stat(mp); err != nil {
		return empty, nil
	}
	ds, recs, err := data.ReadManifest(mp, classes)
	if err != nil {
		return nil, err
	}
	rolled := map[string]bool{}
	for _, r := range st.RolledBack {
		rolled[r] = true
	}
	var keep []int
	for i, rec := range recs {
		p := rec.Provenance
		if p == nil || p.Round > st.BestRound {
			continue
		}
		// A rollback recorded at round r's feedback came after round r's training.
		if p.Round < st.BestRound && rolled[fmt.Sprintf("%d/%s", p.Round, p.Target)] {
			continue
		}
		keep = append(keep, i)
	}
	return ds.Subset(keep), nil
}
