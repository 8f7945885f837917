package efficacy

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gam-native/gam-native/data"
)

func TestParseData(t *testing.T) {
	for _, tc := range []struct {
		desc, in, source, dir string
		bad                   bool
	}{
		{"left out: Fashion-MNIST", "", "", "", false},
		{"the coloured set", "fashion-mnist-rgb", "fashion-mnist-rgb", "", false},
		{"the coloured set from another copy", "fashion-mnist-rgb:/d/f", "fashion-mnist-rgb", "/d/f", false},
		{"MNIST from its folder", "mnist:/m", "mnist", "/m", false},
		{"MNIST needs its folder", "mnist", "", "", true},
		{"an ImageFolder", "imagefolder:/x", "imagefolder:/x", "", false},
		{"Debian's Fashion-MNIST folder keeps its names", data.DefaultFashionMNISTDir, "fashion-mnist", data.DefaultFashionMNISTDir, false},
		{"any other folder: classes by their numbers, not Fashion-MNIST's names", "/gomnist/data", "idx:/gomnist/data", "", false},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			s, d, err := ParseData(tc.in)
			if (err != nil) != tc.bad || s != tc.source || d != tc.dir {
				t.Fatalf("ParseData(%q) = %q, %q, %v; want %q, %q", tc.in, s, d, err, tc.source, tc.dir)
			}
		})
	}
}

// TestTinyOnColouredFashion: the benchmark on fashion-mnist-rgb shapes the zoo's models to
// 3x32x32 and names its table's classes by the data's classes.
func TestTinyOnColouredFashion(t *testing.T) {
	e := testEngine(t)
	t.Setenv("GAM_ZOO_CACHE", t.TempDir())
	out := filepath.Join(t.TempDir(), "eff")
	b, err := New(e, Options{Tiny: true, Out: out, Scenario: data.LongTailScenario, Source: "fashion-mnist-rgb", Methods: []string{MethodERM}})
	if err != nil {
		t.Fatal(err)
	}
	if tr := b.splits.Train; tr.C != 3 || tr.H != 32 || tr.W != 32 {
		t.Fatalf("training images %dx%dx%d, want 3x32x32", tr.C, tr.H, tr.W)
	}
	if _, err := b.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r Results
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.Classes, data.FashionMNISTClasses) {
		t.Errorf("results name the classes %v", r.Classes)
	}
}
