package efficacy

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/gam-native/gam-native/bindings"
	"github.com/gam-native/gam-native/data"
	"github.com/gam-native/gam-native/loop"
)

// loadSplits builds the split every method trains on with package loop's own loader, from the
// same [data] table GAM's job gets (scenario, then train/test limits), so GAM sees the same images.
func loadSplits(e *bindings.Engine, o *Options) (*data.Splits, error) {
	j := loop.DefaultJob()
	j.Data.Source, j.Data.Path, j.Data.Scenario, j.Data.Params = o.source(), o.DataDir, o.Scenario, o.Params
	j.Data.TrainLimit, j.Data.TestLimit = o.TrainLimit, o.TestLimit
	return loop.LoadSplits(e, &j)
}

// loadFullTrain is the whole training set the scenario draws from (its classes, mode and size).
func loadFullTrain(e *bindings.Engine, o *Options) (*data.Dataset, error) {
	j := loop.DefaultJob()
	j.Data.Source, j.Data.Path, j.Data.Scenario = o.source(), o.DataDir, data.BalancedScenario
	j.Data.Params = o.Params
	j.Data.Params.ValPerClass = 0
	sp, err := loop.LoadSplits(e, &j)
	if err != nil {
		return nil, err
	}
	return sp.Train, nil
}

// source is the loop's data.source for the benchmark's data (Fashion-MNIST when not set).
func (o *Options) source() string {
	if o.Source == "" {
		return "fashion-mnist"
	}
	return o.Source
}

// resolve is a model file for the benchmark's data: a zoo:NAME model shaped to it (exported into
// the zoo's cache when make's file does not fit), any model checked against it.
func (b *Bench) resolve(key, ref string, role bindings.Role) (string, error) {
	tr := b.splits.Train
	want := loop.DataShape{C: tr.C, H: tr.H, W: tr.W, Classes: tr.NumClasses()}
	p, _, err := loop.ResolveModelFor(key, ref, want, loop.MetaReader(b.E, role))
	if err != nil {
		return "", err
	}
	meta, err := loop.MetaReader(b.E, role)(p)
	if err != nil {
		return "", err
	}
	return p, loop.CheckModel(key, p, meta, want, b.O.source())
}

// ParseData reads --data: a data source (fashion-mnist, fashion-mnist-rgb, mnist:DIR, idx:DIR,
// imagefolder:DIR, manifest:FILE; fashion-mnist:DIR and fashion-mnist-rgb:DIR for another copy),
// or a bare DIR of IDX files: Fashion-MNIST's class names only for Debian's copy, the labels'
// numbers otherwise (a folder does not say which data set it holds; MNIST's digits are "0".."9").
func ParseData(s string) (source, dir string, err error) {
	kind, arg, has := strings.Cut(s, ":")
	switch {
	case s == "":
		return "", "", nil
	case kind == "fashion-mnist" || kind == "fashion-mnist-rgb" || kind == "mnist":
		if kind == "mnist" && arg == "" {
			return "", "", fmt.Errorf("--data mnist: give the folder of its IDX files, mnist:DIR")
		}
		return kind, arg, nil
	case has && (kind == "idx" || kind == "imagefolder" || kind == "manifest"):
		return s, "", nil
	}
	if abs, err := filepath.Abs(s); err == nil && abs == data.DefaultFashionMNISTDir {
		return "fashion-mnist", s, nil
	}
	return "idx:" + s, "", nil
}
