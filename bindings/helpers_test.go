package bindings

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gam-native/gam-native/internal/testenv"
)

// testEngine opens the engine library, skipping the test when it is not built, unless
// GAM_REQUIRE_ENGINE=1 (as `make test` sets), where a missing engine fails.
func testEngine(t testing.TB) *Engine {
	t.Helper()
	e, err := Open(os.Getenv("GAM_ENGINE"))
	if err != nil {
		testenv.Missing(t, "engine not built: %v", err)
	}
	return e
}

// zooFile is the path of a built-in zoo model, skipping (or failing, as above) when absent.
func zooFile(t testing.TB, name string) string {
	t.Helper()
	z := FindZoo()
	if z == "" {
		testenv.Missing(t, "zoo not exported: run make")
	}
	return filepath.Join(z, name)
}

// fixtureFile is the path of a test fixture model exported by zoo/fixtures.py.
func fixtureFile(t testing.TB, name string) string {
	t.Helper()
	d := os.Getenv("GAM_FIXTURES")
	if d == "" {
		if z := FindZoo(); z != "" {
			d = filepath.Join(filepath.Dir(z), "fixtures")
		}
	}
	return testenv.NeedFile(t, filepath.Join(d, name), "fixture not found: run make")
}

// ok returns v, panicking on err: a panic fails the test with the call's stack.
func ok[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// noErr fails the test on err.
func noErr(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// ok2 is ok for two results.
func ok2[A, B any](a A, b B, err error) (A, B) {
	if err != nil {
		panic(err)
	}
	return a, b
}

// zooGenScreen opens the engine and loads the zoo's cVAE and screen, closed when the test ends.
func zooGenScreen(t *testing.T) (*Engine, *Model, *Model) {
	t.Helper()
	e := testEngine(t)
	g := ok(e.LoadModel(zooFile(t, "cvae.pt"), RoleGenerator))
	s := ok(e.LoadModel(zooFile(t, "screen.pt"), RoleClassifier))
	t.Cleanup(func() { s.Close(); g.Close() })
	return e, g, s
}
