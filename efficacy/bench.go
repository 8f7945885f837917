package efficacy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/gam-native/gam-native/bindings"
	"github.com/gam-native/gam-native/data"
	"github.com/gam-native/gam-native/internal/jsonfile"
	"github.com/gam-native/gam-native/internal/stageseed"
	"github.com/gam-native/gam-native/loop"
	"github.com/gam-native/gam-native/progress"
	"github.com/gam-native/gam-native/train"
)

// Bench is one benchmark in its result folder.
type Bench struct {
	O      Options
	E      *bindings.Engine
	splits *data.Splits
	full   *data.Dataset // the whole training pool the split was drawn from (real-balanced)
	target string        // resolved path of the target classifier
	// ctx is Run's: every training checks it between batches, so a signal stops a cell in
	// seconds (the cell is not saved and runs again on resume).
	ctx context.Context
}

// New checks the options, loads the split and resolves the models; nothing is written yet.
func New(e *bindings.Engine, o Options) (*Bench, error) {
	o.Defaults()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if err := e.SetDevice(o.Device); err != nil {
		return nil, fmt.Errorf("device: %w", err)
	}
	b := &Bench{O: o, E: e}
	var err error
	// The data first: zoo models are shaped to it, and every model is checked against it.
	if b.splits, err = loadSplits(e, &b.O); err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	for _, m := range []struct {
		key, ref string
		role     bindings.Role
	}{{"generator", o.Generator, bindings.RoleGenerator}, {"screen", o.Screen, bindings.RoleClassifier}, {"target", o.Target, bindings.RoleClassifier}} {
		p, err := b.resolve(m.key, m.ref, m.role)
		if err != nil {
			return nil, err
		}
		if m.key == "target" {
			b.target = p
		}
	}
	if slices.Contains(b.O.Methods, MethodRealBalanced) {
		if b.full, err = loadFullTrain(e, &b.O); err != nil {
			return nil, fmt.Errorf("data (%s): %w", MethodRealBalanced, err)
		}
	}
	return b, nil
}

func (b *Bench) cellPath(method string, seed uint64) string {
	return filepath.Join(b.O.Out, "cells", fmt.Sprintf("%s-s%d.json", method, seed))
}

func (b *Bench) seedDir(seed uint64) string {
	return filepath.Join(b.O.Out, fmt.Sprintf("seed%d", seed))
}

// Run runs every missing (method, seed) cell, seed by seed, writing the results after each.
func (b *Bench) Run(ctx context.Context) (*Results, error) {
	b.ctx = ctx
	o := &b.O
	if err := os.MkdirAll(filepath.Join(o.Out, "cells"), 0o755); err != nil {
		return nil, err
	}
	if err := b.checkResume(); err != nil {
		return nil, err
	}
	if err := jsonfile.WriteJSON(filepath.Join(o.Out, "options.json"), o); err != nil {
		return nil, err
	}
	sp := b.splits
	progress.Logf("efficacy %s: %d training, %d validation, %d test images; seeds %v; methods %v",
		o.Scenario, sp.Train.Len(), sp.Val.Len(), sp.Test.Len(), o.Seeds, o.ordered())
	start := time.Now()
	for si, seed := range o.Seeds {
		for _, m := range o.ordered() {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if _, err := os.Stat(b.cellPath(m, seed)); err == nil {
				progress.Logf("efficacy: %s seed %d already done", m, seed)
				continue
			}
			if m == MethodUntargeted || m == MethodGAM || (m == MethodGAMPlus && o.PlusLoop) {
				// Trained once per seed and timed on their own (shared.json), not as part of a cell.
				if _, err := b.shared(seed); err != nil {
					return nil, fmt.Errorf("seed %d: generator and screen: %w", seed, err)
				}
			}
			t0, cpu0 := time.Now(), cpuSeconds()
			progress.Logf("== efficacy: %s, seed %d", m, seed)
			c, err := b.runCell(ctx, m, seed)
			if err != nil {
				return nil, fmt.Errorf("%s, seed %d: %w", m, seed, err)
			}
			c.Seconds = time.Since(t0).Seconds()
			c.CPUSeconds = cpuSeconds() - cpu0
			c.Finished = time.Now().UTC()
			if err := jsonfile.WriteJSON(b.cellPath(m, seed), c); err != nil {
				return nil, err
			}
			progress.Logf("efficacy: %s seed %d: test balanced acc %.4f, macro-F1 %.4f, worst recall %.4f (%s), %.0fs wall, %.0fs CPU",
				m, seed, c.Test.Summary.BalancedAccuracy, c.Test.Summary.MacroF1, c.Test.Summary.WorstRecall, c.Test.Summary.WorstClass, c.Seconds, c.CPUSeconds)
			if _, err := b.Collect(); err != nil {
				return nil, err
			}
		}
		b.judgeGenerator(seed) // efficacy/quality.go
		el := time.Since(start)
		progress.Logf("efficacy: seed %d done; %.1f min so far, about %.1f min to go", seed, el.Minutes(),
			el.Minutes()/float64(si+1)*float64(len(o.Seeds)-si-1))
	}
	return b.Collect()
}

// Collect reads every finished cell and writes results.json, results.md and bars.png.
func (b *Bench) Collect() (*Results, error) {
	o := &b.O
	r := &Results{Schema: Schema, Scenario: o.Scenario, Command: o.Command, Machine: machine(), Updated: time.Now().UTC(),
		Complete: true, Classes: b.splits.Train.ClassNames, Protocol: b.protocol()}
	r.Metrics = append(r.Metrics, summaryKeys...)
	if o.Scenario == data.ShiftScenario {
		r.Metrics = append(r.Metrics, shiftKeys...)
	}
	for _, m := range o.ordered() {
		var cells []Cell
		for _, seed := range o.Seeds {
			var c Cell
			if err := jsonfile.ReadJSON(b.cellPath(m, seed), &c); err != nil {
				if errors.Is(err, os.ErrNotExist) {
					r.Complete = false
					continue
				}
				return nil, err
			}
			cells = append(cells, c)
		}
		if len(cells) > 0 {
			r.Methods = append(r.Methods, aggregate(m, cells, len(r.Classes)))
		}
	}
	for i := range r.Methods {
		if g, ok := GapClosed(r.Methods, r.Methods[i].Method); ok {
			r.Methods[i].GapClosed = &g
		}
	}
	r.GeneratorQuality = b.collectQuality()
	return r, writeOutputs(o.Out, r)
}

func (b *Bench) protocol() map[string]any {
	o := &b.O
	cc := b.splits.Train.ClassCounts()
	return map[string]any{
		"train_images": b.splits.Train.Len(), "val_images": b.splits.Val.Len(), "test_images": b.splits.Test.Len(),
		"train_class_counts": cc, "scenario_params": o.Params, "train_limit": o.TrainLimit, "test_limit": o.TestLimit,
		"target": o.Target, "target_epochs": o.Epochs, "batch_size": 128, "optimizer": "Adam 1e-3",
		"generator": o.Generator, "generator_epochs": o.GenEpochs, "generator_training": "class-balanced",
		"screen": o.Screen, "screen_epochs": o.ScreenEpochs, "budget": o.Budget, "rounds": o.Rounds,
		"lr_schedule": o.LRSchedule, "gen_fraction": o.GenFraction, "mixup_alpha": o.MixupAlpha, "gam_plus_from": o.PlusFrom, "gam_remedy": o.GAMRemedy, "gen_from": o.GenFrom, "gen_mix": o.GenMix, "seeds": o.Seeds, "tiny": o.Tiny,
	}
}

// classifierSeed is package loop's seed for the target, so GAM's round 0 is trained exactly like
// the oversampling baseline.
func classifierSeed(seed uint64) uint64 { return stageseed.For(seed, stageseed.Target) }

// baseOptions is the reference protocol: 12 epochs (Options.Epochs), Adam 1e-3, batch 128.
func (b *Bench) baseOptions(method string, seed uint64) train.ClassifierOptions {
	return train.ClassifierOptions{Epochs: b.O.Epochs, BatchSize: 128, LR: 1e-3, Seed: classifierSeed(seed),
		Sampling: train.SampleUniform, LRSchedule: b.O.LRSchedule, Label: fmt.Sprintf("%s s%d", method, seed), Ctx: b.ctx}
}

// remedyOptions are the classifier options of methods 1-5.
func (b *Bench) remedyOptions(method string, seed uint64) (train.ClassifierOptions, error) {
	o := b.baseOptions(method, seed)
	switch method {
	case MethodERM, MethodCondAug:
	case MethodOversample:
		o.Sampling = train.SampleBalanced
	case MethodReweight:
		o.Reweight = true
	case MethodAugment:
		o.Augment, o.Flip = true, true
	case MethodMixup:
		o.MixupAlpha = b.O.MixupAlpha
	case MethodOversampleAugment:
		o.Sampling, o.Augment, o.Flip = train.SampleBalanced, true, true
	case MethodBalancedSoftmax:
		o.BalancedSoftmax = true
	case MethodBSAugment:
		o.BalancedSoftmax, o.Augment, o.Flip = true, true, true
	case MethodMixupBalanced:
		o.BalancedSoftmax, o.Augment, o.Flip, o.MixupAlpha = true, true, true, b.O.MixupAlpha
	default:
		return o, fmt.Errorf("not a remedy: %s", method)
	}
	return o, nil
}

func (b *Bench) runCell(ctx context.Context, method string, seed uint64) (*Cell, error) {
	switch method {
	case MethodUntargeted:
		return b.runUntargeted(seed)
	case MethodGAM, MethodGAMPlus:
		return b.runGAM(ctx, method, seed)
	case MethodCondAug:
		return b.runCondAug(seed)
	case MethodRealBalanced:
		return b.runRealBalanced(seed)
	}
	o, err := b.remedyOptions(method, seed)
	if err != nil {
		return nil, err
	}
	return b.trainAndTest(method, seed, b.splits.Train, nil, o)
}

// trainAndTest trains the target from its file on realDS (+ genDS) and evaluates it.
func (b *Bench) trainAndTest(method string, seed uint64, realDS, genDS *data.Dataset, o train.ClassifierOptions) (*Cell, error) {
	m, err := b.E.LoadModel(b.target, bindings.RoleClassifier)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	if _, err := train.Classifier(b.E, m, realDS, genDS, o); err != nil {
		return nil, err
	}
	return b.testModel(method, seed, m)
}

func (b *Bench) testModel(method string, seed uint64, m *bindings.Model) (*Cell, error) {
	te, err := Evaluate(b.E, m, b.splits.Test)
	if err != nil {
		return nil, err
	}
	va, err := Evaluate(b.E, m, b.splits.Val)
	if err != nil {
		return nil, err
	}
	return &Cell{Method: method, Seed: seed, Test: *te, Val: *va}, nil
}

// runCondAug is the static condition augmentation of the plain PyTorch reference (docs/efficacy.md,
// "Protocol"): a quarter of the training images blurred and a quarter in shadow, at random
// severities, fixed once.
func (b *Bench) runCondAug(seed uint64) (*Cell, error) {
	p := b.O.Params
	ds, err := data.ConditionShift(b.splits.Train, []string{"blur", "shadow"}, 0.5, p.SeverityMin, p.SeverityMax,
		int64(stageseed.For(seed, stageseed.CondAug)), loop.EngineConditions(b.E))
	if err != nil {
		return nil, err
	}
	o, _ := b.remedyOptions(MethodCondAug, seed)
	return b.trainAndTest(MethodCondAug, seed, ds, nil, o)
}

// runRealBalanced is the ceiling: as many images as the split's training set, drawn balanced from
// the full training pool less the validation images, trained like ERM.
func (b *Bench) runRealBalanced(seed uint64) (*Cell, error) {
	if b.full == nil {
		return nil, fmt.Errorf("%s needs the full training pool (scenario %s)", MethodRealBalanced, b.O.Scenario)
	}
	ds, err := data.BalancedPool(b.full, b.splits.Train.Len(), b.O.Params.ValPerClass, b.O.Params.Seed)
	if err != nil {
		return nil, err
	}
	o, _ := b.remedyOptions(MethodERM, seed)
	o.Label = fmt.Sprintf("%s s%d", MethodRealBalanced, seed)
	c, err := b.trainAndTest(MethodRealBalanced, seed, ds, nil, o)
	if err != nil {
		return nil, err
	}
	c.Detail = map[string]any{"train_class_counts": ds.ClassCounts()}
	return c, nil
}

// fingerprint is what must not change between a benchmark and its resumption: everything that
// shapes a cell's result (seeds and the list of methods may grow).
func (o *Options) fingerprint() string {
	f := *o
	f.Seeds, f.Methods, f.Command, f.Out = nil, nil, "", ""
	b, _ := json.Marshal(f)
	return string(b)
}

// checkResume refuses to add cells to a folder whose finished cells were made with other settings.
func (b *Bench) checkResume() error {
	var old Options
	if err := jsonfile.ReadJSON(filepath.Join(b.O.Out, "options.json"), &old); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	if old.fingerprint() != b.O.fingerprint() {
		return fmt.Errorf("%s holds results made with other settings (%s/options.json): use another --out", b.O.Out, b.O.Out)
	}
	return nil
}

// cpuSeconds is the process's user+system CPU time: on a shared machine it says what a cell
// costs better than its wall time does.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
