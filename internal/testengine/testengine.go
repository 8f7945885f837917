// Package testengine opens the engine for tests, once per process (bindings.Open keeps it), with
// the zoo and, for the suites that train on it, Fashion-MNIST: a test skips without them, or fails
// with GAM_REQUIRE_ENGINE=1 (internal/testenv). The copies of this helper in train, generate,
// loop, efficacy, bench and cmd call it.
package testengine

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gam-native/gam-native/bindings"
	"github.com/gam-native/gam-native/data"
	"github.com/gam-native/gam-native/internal/testenv"
	"github.com/gam-native/gam-native/progress"
)

// Open returns the engine (GAM_ENGINE, else the usual search) with the zoo exported, and quiets
// progress output.
func Open(t testing.TB) *bindings.Engine {
	t.Helper()
	e, err := bindings.Open(os.Getenv("GAM_ENGINE"))
	if err != nil {
		testenv.Missing(t, "engine not built: %v", err)
	}
	if bindings.FindZoo() == "" {
		testenv.Missing(t, "zoo not exported: run make")
	}
	progress.Quiet = true
	return e
}

// WithFashionMNIST is Open, and Debian's Fashion-MNIST installed.
func WithFashionMNIST(t testing.TB) *bindings.Engine {
	t.Helper()
	e := Open(t)
	FashionMNIST(t)
	return e
}

// FashionMNIST returns Fashion-MNIST's folder (data.DefaultFashionMNISTDir), calling
// testenv.Missing when it is not installed.
func FashionMNIST(t testing.TB) string {
	t.Helper()
	testenv.NeedFile(t, filepath.Join(data.DefaultFashionMNISTDir, "train-images-idx3-ubyte.gz"),
		"Fashion-MNIST not installed (apt install dataset-fashion-mnist)")
	return data.DefaultFashionMNISTDir
}
