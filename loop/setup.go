package loop

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gam-native/gam-native/bindings"
	"github.com/gam-native/gam-native/data"
	"github.com/gam-native/gam-native/progress"
)

// LoadSplits reads the job's source and applies its scenario and limits; conditions are applied
// by the engine. Every tool that must see the same images as a run (the efficacy benchmark) uses it.
func LoadSplits(e *bindings.Engine, j *Job) (*data.Splits, error) {
	kind, arg, err := parseSource(j.Data.Source)
	if err != nil {
		return nil, err
	}
	var trainDS, testDS *data.Dataset
	var info *data.ImageInfo // how a manifest's images were read
	switch kind {
	case "fashion-mnist", "fashion-mnist-rgb", "mnist":
		dir := j.Data.Path
		load := data.LoadFashionMNIST
		if kind == "mnist" {
			load = data.LoadMNIST
		}
		if dir == "" && kind != "mnist" {
			dir = data.DefaultFashionMNISTDir
		}
		if dir == "" {
			return nil, fmt.Errorf("data.path: mnist needs the folder of its IDX files")
		}
		if _, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("data.path %s: %w", dir, err)
		}
		if trainDS, err = load(dir, "train"); err != nil {
			return nil, err
		}
		if testDS, err = load(dir, "test"); err != nil {
			return nil, err
		}
		if kind == "fashion-mnist-rgb" {
			// Before the scenario, so a condition shift degrades the coloured images. Test gets other draws.
			if trainDS, err = data.Colourize(trainDS, data.FashionMNISTRGBSize, FashionRGBSeed); err != nil {
				return nil, err
			}
			if testDS, err = data.Colourize(testDS, data.FashionMNISTRGBSize, FashionRGBSeed+1); err != nil {
				return nil, err
			}
		}
	case "idx":
		if trainDS, err = data.LoadIDXSplit(arg, "train", "idx", nil); err != nil {
			return nil, err
		}
		if testDS, err = data.LoadIDXSplit(arg, "test", "idx", trainDS.ClassNames); err != nil {
			return nil, err
		}
	case "imagefolder":
		return loadImageFolder(e, j, arg)
	case "manifest":
		opts := data.FolderOptions{Resize: true}
		if sz := j.Data.ImageSize; len(sz) == 2 {
			opts.Height, opts.Width = sz[0], sz[1]
		}
		if trainDS, _, info, err = data.ReadManifestWith(arg, nil, opts); err != nil {
			return nil, err
		}
		if trainDS.Len() == 0 {
			// Said here: with no records there are no classes, and the test split would be blamed.
			return nil, fmt.Errorf("data.source manifest: the training manifest %s has no records", arg)
		}
		testPath := strings.TrimSuffix(arg, ".jsonl") + ".test.jsonl"
		opts = data.FolderOptions{Resize: true, Height: trainDS.H, Width: trainDS.W}
		if testDS, _, _, err = data.ReadManifestWith(testPath, trainDS.ClassNames, opts); err != nil {
			return nil, fmt.Errorf("data.source manifest: the test split is read from %s: %w", testPath, err)
		}
		if testDS.Len() == 0 {
			return nil, fmt.Errorf("data.source manifest: the test manifest %s has no records", testPath)
		}
	}
	if info != nil && testDS.Len() > 0 && testDS.C != trainDS.C {
		return nil, fmt.Errorf("data.source manifest: the training images are %d-channel, the test images %d-channel", trainDS.C, testDS.C)
	}
	sp, err := data.ApplyScenario(j.Data.Scenario, j.Data.Params, trainDS, testDS, EngineConditions(e))
	if err != nil {
		return nil, err
	}
	sp.Info = info
	if info != nil && info.Resized > 0 {
		progress.Logf("data: %s", info.Sentence())
	}
	return limitSplits(sp, j), nil
}

// FashionRGBSeed fixes fashion-mnist-rgb's tints, offsets and backgrounds (test: the next seed):
// the same images in every run, as Fashion-MNIST's are.
const FashionRGBSeed = 0x5eed24

// TestHoldOut is the share of each class of an ImageFolder's train/ held out as the test split
// when it has no test/ folder.
const TestHoldOut = 0.2

// loadImageFolder reads DIR/train, DIR/val and DIR/test (the last two optional: validation is then
// held out by the scenario as for any source, test as TestHoldOut of each class of train/).
func loadImageFolder(e *bindings.Engine, j *Job, dir string) (*data.Splits, error) {
	var opts data.FolderOptions
	if sz := j.Data.ImageSize; len(sz) == 2 {
		opts.Height, opts.Width = sz[0], sz[1]
	}
	fs, err := data.ReadImageFolderSplits(dir, opts)
	if err != nil {
		return nil, err
	}
	train, test := fs.Train, fs.Test
	var held []string
	if test == nil {
		// Its own stream, so the test images are not the ones validation would have drawn first.
		ti, si, err := data.StratifiedSplitFraction(train.Labels, train.NumClasses(), TestHoldOut, j.Data.Params.Seed^0x7e57)
		if err != nil {
			return nil, fmt.Errorf("imagefolder %s: holding out a test split: %w", dir, err)
		}
		test = train.Subset(si)
		test.Name = train.Name + "-test"
		train = train.Subset(ti)
		held = append(held, "test")
		progress.Logf("data: %s has no test/: %.0f%% of each class of train/ held out as the test split (%d images)", dir, 100*TestHoldOut, test.Len())
	}
	if fs.Val == nil {
		held = append([]string{"validation"}, held...)
	}
	sp, err := data.ApplyScenarioVal(j.Data.Scenario, j.Data.Params, train, fs.Val, test, EngineConditions(e))
	if err != nil {
		return nil, err
	}
	sp.Info, sp.Held = fs.Info, held
	if fs.Info.Resized > 0 {
		progress.Logf("data: %s", fs.Info.Sentence())
	}
	if fs.Info.Colour > 0 && fs.Info.Gray > 0 {
		progress.Logf("data: %s", fs.Info.Mode())
	}
	return limitSplits(sp, j), nil
}

// limitSplits applies data.train_limit and data.test_limit.
func limitSplits(sp *data.Splits, j *Job) *data.Splits {
	if n := j.Data.TrainLimit; n > 0 && sp.Train.Len() > n {
		sp.Train = sp.Train.Subset(firstN(n))
	}
	if n := j.Data.TestLimit; n > 0 && sp.Test.Len() > n {
		sp.Test = sp.Test.Subset(firstN(n))
	}
	return sp
}

func firstN(n int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return idx
}

// EngineConditions adapts the engine's native conditions to the data package's ConditionFunc.
func EngineConditions(e *bindings.Engine) data.ConditionFunc {
	return func(images []float32, n, c, h, w int, cond string, sev []float32, seed uint64) ([]float32, error) {
		x, err := e.FromF32(images, int64(n), int64(c), int64(h), int64(w))
		if err != nil {
			return nil, err
		}
		defer x.Close()
		y, err := e.ConditionNamed(x, cond, sev, seed)
		if err != nil {
			return nil, err
		}
		defer y.Close()
		return y.F32()
	}
}

// ResolveModel turns "zoo:NAME" into the zoo's file, or checks that a path exists.
func ResolveModel(ref string) (string, error) {
	if name, ok := strings.CutPrefix(ref, "zoo:"); ok {
		z := bindings.FindZoo()
		if z == "" {
			return "", fmt.Errorf("model %q: the built-in zoo was not found (run make, or set GAM_ZOO)", ref)
		}
		p := filepath.Join(z, name+".pt")
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("model %q: no %s in the zoo %s", ref, name+".pt", z)
		}
		return p, nil
	}
	if _, err := os.Stat(ref); err != nil {
		return "", fmt.Errorf("model %s: %w", ref, err)
	}
	return ref, nil
}

// LoadTraining loads the job's training split (after its scenario), for tools that need real
// images without a run: calibration and duplicate checks in `gam-native generate`.
func LoadTraining(e *bindings.Engine, j *Job) (*data.Dataset, error) {
	sp, err := LoadSplits(e, j)
	if err != nil {
		return nil, err
	}
	return sp.Train, nil
}
