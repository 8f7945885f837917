// Package testmodels gives tests one trained generator and screen: the zoo cVAE trained for 8
// epochs and the zoo screen for 4, on Fashion-MNIST's first 12,000 training images with
// class-balanced draws. Every package that needs them gets the same files, so a test behaves the
// same whether another package trained them first or not (the CLI's tests once trained a weaker
// pair of their own when the cache was missing, and the CI's clean checkout failed on pullover).
//
// The models are trained once and kept under the build folder (GAM_ZOO's parent, testcache/);
// delete that folder to retrain. Concurrent test processes wait on a lock there, so they train
// once between them.
package testmodels

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/gam-native/gam-native/bindings"
	"github.com/gam-native/gam-native/data"
	"github.com/gam-native/gam-native/internal/atomicfile"
	"github.com/gam-native/gam-native/train"
)

// Images is how many of Fashion-MNIST's training images (the first ones) the models train on.
const Images = 12000

// Paths are the trained models' files.
type Paths struct{ Generator, Screen string }

// Dir is the cache folder: testcache/ beside the zoo.
func Dir() string { return filepath.Join(filepath.Dir(bindings.FindZoo()), "testcache") }

// Trained returns the trained generator and screen, training and saving them first if the cache
// lacks them. e must have the zoo (testengine.WithFashionMNIST).
func Trained(t testing.TB, e *bindings.Engine) Paths {
	t.Helper()
	p, err := Load(e)
	if err != nil {
		t.Fatalf("test models: %v", err)
	}
	return p
}

// Load is Trained for callers that report the error themselves (a sync.Once fixture).
func Load(e *bindings.Engine) (Paths, error) {
	dir := Dir()
	p := Paths{Generator: filepath.Join(dir, "gen.pt"), Screen: filepath.Join(dir, "screen.pt")}
	if have(p) {
		return p, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return p, err
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".train.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return p, err
	}
	defer lock.Close() // closing drops the flock
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return p, fmt.Errorf("lock %s: %w", lock.Name(), err)
	}
	if have(p) { // another process trained them while this one waited
		return p, nil
	}
	all, err := data.LoadFashionMNIST("", "train")
	if err != nil {
		return p, err
	}
	idx := make([]int, Images)
	for i := range idx {
		idx[i] = i
	}
	ds := all.Subset(idx)
	zoo := bindings.FindZoo()
	steps := []struct {
		src, dst string
		role     bindings.Role
		train    func(m *bindings.Model) error
	}{
		{"cvae.pt", p.Generator, bindings.RoleGenerator, func(m *bindings.Model) error {
			_, err := train.Generator(e, m, ds, train.GeneratorOptions{Epochs: 8, Seed: 1, Balanced: true})
			return err
		}},
		{"screen.pt", p.Screen, bindings.RoleClassifier, func(m *bindings.Model) error {
			_, err := train.Classifier(e, m, ds, nil, train.ClassifierOptions{Epochs: 4, Seed: 2, Sampling: train.SampleBalanced})
			return err
		}},
	}
	for _, st := range steps {
		if _, err := os.Stat(st.dst); err == nil {
			continue
		}
		m, err := e.LoadModel(filepath.Join(zoo, st.src), st.role)
		if err != nil {
			return p, err
		}
		err = st.train(m)
		if err == nil {
			err = atomicfile.WriteWith(st.dst, m.Save) // a reader never sees half a file
		}
		m.Close()
		if err != nil {
			return p, fmt.Errorf("%s: %w", st.dst, err)
		}
	}
	return p, nil
}

func have(p Paths) bool {
	for _, f := range []string{p.Generator, p.Screen} {
		if _, err := os.Stat(f); err != nil {
			return false
		}
	}
	return true
}
