package report

import (
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var cifar = []string{"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"}

// recallRounds is a plausible run: minority classes start low and climb.
func recallRounds(rounds, classes int) [][]float64 {
	out := make([][]float64, rounds)
	for r := range out {
		out[r] = make([]float64, classes)
		for c := range out[r] {
			start := 0.3 + 0.6*float64(c)/float64(classes)
			out[r][c] = start + (0.97-start)*(1-math.Exp(-float64(r)/2))
		}
	}
	return out
}

// decodePNG opens path and checks it is a PNG at least minW x minH.
func decodePNG(t *testing.T, path string, minW, minH int) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open output: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	if b := img.Bounds(); b.Dx() < minW || b.Dy() < minH {
		t.Fatalf("%s is %dx%d, want at least %dx%d", path, b.Dx(), b.Dy(), minW, minH)
	}
	return img
}

// onlyFile checks that dir holds nothing but want (or nothing at all when
// want is ""): no output on error, and no temporary file left behind.
func onlyFile(t *testing.T, dir, want string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if want == "" && len(names) != 0 || want != "" && (len(names) != 1 || names[0] != want) {
		t.Fatalf("folder holds %q, want only %q", names, want)
	}
}

func TestPlotsWritePNG(t *testing.T) {
	withNaN := recallRounds(6, 10)
	withNaN[2][3] = math.NaN()
	tests := []struct {
		desc string
		draw func(path string) error
	}{
		{"recall, ten classes over six rounds", func(p string) error {
			return RecallPlot(p, cifar, recallRounds(6, 10), "per-class recall")
		}},
		{"recall, a single round", func(p string) error {
			return RecallPlot(p, cifar[:2], recallRounds(1, 2), "")
		}},
		{"recall, a NaN leaves a gap", func(p string) error {
			return RecallPlot(p, cifar, withNaN, "gap")
		}},
		{"recall, many rounds and classes", func(p string) error {
			names := make([]string, 25)
			for i := range names {
				names[i] = string(rune('a' + i))
			}
			return RecallPlot(p, names, recallRounds(60, 25), "many")
		}},
		{"summary, three metrics", func(p string) error {
			return SummaryPlot(p, map[string][]float64{
				"balanced accuracy":  {0.7, 0.8, 0.85, 0.88},
				"macro-F1":           {0.68, 0.79, 0.84, 0.87},
				"worst-class recall": {0.3, 0.5, 0.62, 0.7},
			}, "summary")
		}},
		{"summary, values beyond [0,1] and unequal lengths", func(p string) error {
			return SummaryPlot(p, map[string][]float64{"loss": {2.3, 1.1, 0.7}, "acc": {0.1, 0.5}}, "")
		}},
		{"summary, constant series", func(p string) error {
			return SummaryPlot(p, map[string][]float64{"loss": {3, 3, 3}}, "")
		}},
		{"before/after bars", func(p string) error {
			r := recallRounds(5, 10)
			return BeforeAfterBars(p, cifar, r[0], r[4], "recall before and after")
		}},
		{"method bars with sd", func(p string) error {
			return MethodBars(p, []string{"ERM", "oversampling", "GAM"}, []string{"bal. acc", "macro-F1"},
				[][]float64{{0.7, 0.68}, {0.75, 0.74}, {0.85, 0.84}},
				[][]float64{{0.02, 0.03}, {0.01, 0.02}, {0.015, 0.01}}, "efficacy")
		}},
		{"method bars without sd, negative mean", func(p string) error {
			return MethodBars(p, []string{"ERM", "GAM"}, []string{"Δ recall"},
				[][]float64{{-0.1}, {0.2}}, nil, "")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "out.png")
			if err := tc.draw(path); err != nil {
				t.Fatalf("error: %v", err)
			}
			decodePNG(t, path, 400, 300)
			onlyFile(t, dir, "out.png")
		})
	}
}

func TestPlotsOverwrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "recall.png")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := RecallPlot(path, cifar, recallRounds(3, 10), ""); err != nil {
		t.Fatal(err)
	}
	decodePNG(t, path, 400, 300)
	onlyFile(t, dir, "recall.png")
}

func TestPlotsRejectBadInput(t *testing.T) {
	good := recallRounds(3, 10)
	mean := [][]float64{{0.5, 0.6}, {0.7, 0.8}}
	tests := []struct {
		desc string
		draw func(path string) error
		want string // the argument the error must name
	}{
		{"recall, empty class names", func(p string) error {
			return RecallPlot(p, nil, good, "")
		}, "classNames"},
		{"recall, no rounds", func(p string) error {
			return RecallPlot(p, cifar, nil, "")
		}, "recallPerRound"},
		{"recall, a round short of classes", func(p string) error {
			bad := recallRounds(3, 10)
			bad[1] = bad[1][:9]
			return RecallPlot(p, cifar, bad, "")
		}, "recallPerRound[1]"},
		{"recall above 1", func(p string) error {
			bad := recallRounds(3, 10)
			bad[2][4] = 1.5
			return RecallPlot(p, cifar, bad, "")
		}, "recallPerRound[2][4]"},
		{"recall infinite", func(p string) error {
			bad := recallRounds(3, 10)
			bad[0][0] = math.Inf(1)
			return RecallPlot(p, cifar, bad, "")
		}, "recallPerRound[0][0]"},
		{"recall, empty path", func(string) error {
			return RecallPlot("", cifar, good, "")
		}, "path"},
		{"summary, no series", func(p string) error {
			return SummaryPlot(p, nil, "")
		}, "series"},
		{"summary, an empty series", func(p string) error {
			return SummaryPlot(p, map[string][]float64{"acc": {0.5}, "f1": {}}, "")
		}, `series["f1"]`},
		{"summary, infinite value", func(p string) error {
			return SummaryPlot(p, map[string][]float64{"acc": {0.5, math.Inf(-1)}}, "")
		}, `series["acc"][1]`},
		{"before/after, empty class names", func(p string) error {
			return BeforeAfterBars(p, nil, nil, nil, "")
		}, "classNames"},
		{"before/after, before too short", func(p string) error {
			return BeforeAfterBars(p, cifar, good[0][:9], good[1], "")
		}, "before"},
		{"before/after, after too long", func(p string) error {
			return BeforeAfterBars(p, cifar, good[0], append(good[1], 0.5), "")
		}, "after"},
		{"before/after, NaN", func(p string) error {
			after := append([]float64(nil), good[1]...)
			after[3] = math.NaN()
			return BeforeAfterBars(p, cifar, good[0], after, "")
		}, "after[3]"},
		{"method bars, no methods", func(p string) error {
			return MethodBars(p, nil, []string{"a", "b"}, nil, nil, "")
		}, "methods"},
		{"method bars, no metrics", func(p string) error {
			return MethodBars(p, []string{"ERM", "GAM"}, nil, mean, nil, "")
		}, "metrics"},
		{"method bars, mean rows short", func(p string) error {
			return MethodBars(p, []string{"ERM", "GAM", "x"}, []string{"a", "b"}, mean, nil, "")
		}, "mean"},
		{"method bars, sd shape differs", func(p string) error {
			return MethodBars(p, []string{"ERM", "GAM"}, []string{"a", "b"}, mean, [][]float64{{0.1, 0.1}, {0.1}}, "")
		}, "sd[1]"},
		{"method bars, negative sd", func(p string) error {
			return MethodBars(p, []string{"ERM", "GAM"}, []string{"a", "b"}, mean, [][]float64{{0.1, 0.1}, {0.1, -0.1}}, "")
		}, "sd[1][1]"},
		{"method bars, empty path", func(string) error {
			return MethodBars("", []string{"ERM", "GAM"}, []string{"a", "b"}, mean, nil, "")
		}, "path"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			dir := t.TempDir()
			err := tc.draw(filepath.Join(dir, "out.png"))
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not name %q", err, tc.want)
			}
			onlyFile(t, dir, "")
		})
	}
}

func TestPlotsMissingFolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "no", "such", "out.png")
	if err := SummaryPlot(path, map[string][]float64{"acc": {0.5}}, ""); err == nil {
		t.Fatal("no error writing into a missing folder")
	}
}

func TestRoundTicks(t *testing.T) {
	tests := []struct {
		desc   string
		lo, hi float64
		want   []float64
	}{
		{"one round", 0, 1, []float64{0, 1}},
		{"five rounds", 0, 4, []float64{0, 1, 2, 3, 4}},
		{"ten steps still by one", 0, 10, []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
		{"by two", 0, 15, []float64{0, 2, 4, 6, 8, 10, 12, 14}},
		{"by five, fractional ends", -0.3, 40.5, []float64{0, 5, 10, 15, 20, 25, 30, 35, 40}},
		{"by twenty", 0, 199, []float64{0, 20, 40, 60, 80, 100, 120, 140, 160, 180}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			var got []float64
			for _, tk := range (roundTicks{}).Ticks(tc.lo, tc.hi) {
				got = append(got, tk.Value)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("ticks %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("ticks %v, want %v", got, tc.want)
				}
			}
		})
	}
}

// TestWriteExamples renders one of each figure into $REPORT_EXAMPLES (for a
// person to look at); it is skipped when that is unset.
func TestWriteExamples(t *testing.T) {
	dir := os.Getenv("REPORT_EXAMPLES")
	if dir == "" {
		t.Skip("REPORT_EXAMPLES not set")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	r := recallRounds(8, 10)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(RecallPlot(filepath.Join(dir, "recall.png"), cifar, r, "Per-class validation recall"))
	must(SummaryPlot(filepath.Join(dir, "summary.png"), map[string][]float64{
		"balanced accuracy":  {0.62, 0.74, 0.81, 0.85, 0.87, 0.88, 0.885, 0.89},
		"macro-F1":           {0.58, 0.72, 0.8, 0.84, 0.86, 0.87, 0.875, 0.88},
		"worst-class recall": {0.3, 0.5, 0.62, 0.7, 0.75, 0.78, 0.8, 0.81},
	}, "Summary over rounds"))
	must(BeforeAfterBars(filepath.Join(dir, "before_after.png"), cifar, r[0], r[7], "Recall before and after augmentation"))
	must(MethodBars(filepath.Join(dir, "methods.png"),
		[]string{"ERM", "oversampling", "reweighting", "focal loss", "GAM"},
		[]string{"balanced accuracy", "macro-F1", "worst-class recall"},
		[][]float64{{0.71, 0.69, 0.35}, {0.75, 0.74, 0.45}, {0.76, 0.75, 0.48}, {0.74, 0.73, 0.44}, {0.86, 0.85, 0.72}},
		[][]float64{{0.02, 0.02, 0.05}, {0.015, 0.02, 0.04}, {0.01, 0.015, 0.05}, {0.02, 0.02, 0.06}, {0.01, 0.01, 0.03}},
		"Efficacy benchmark (mean ± sd over 5 seeds)"))
	n, c, h, w := 10, 3, 32, 32
	px := make([]float32, n*c*h*w)
	for i := range px {
		img, ch, pos := i/(c*h*w), (i/(h*w))%c, i%(h*w)
		px[i] = float32((pos%w)*ch+(pos/w)*(2-ch)+img*8) / 100
	}
	must(Grid(filepath.Join(dir, "grid.png"), px, n, c, h, w, 5, 3))
	if os.Getenv("REPORT_EXAMPLES_EDGE") == "" {
		return
	}
	long := []string{"ancient woodland", "automobile interior", "bird of prey", "cat", "deer", "dog", "frog", "horse", "container ship", "truck"}
	must(BeforeAfterBars(filepath.Join(dir, "edge_long_names.png"), long, r[0], r[7], "long names"))
	names := make([]string, 25)
	for i := range names {
		names[i] = "class " + string(rune('a'+i))
	}
	gap := recallRounds(60, 25)
	for r := 10; r < 15; r++ {
		gap[r][0] = math.NaN()
	}
	must(RecallPlot(filepath.Join(dir, "edge_many.png"), names, gap, "25 classes, 60 rounds, gap in class a"))
	must(RecallPlot(filepath.Join(dir, "edge_one_round.png"), cifar[:3], recallRounds(1, 3), "one round"))
	must(MethodBars(filepath.Join(dir, "edge_negative.png"), []string{"ERM", "GAM"}, []string{"Δ recall", "Δ F1"},
		[][]float64{{-0.1, 0.05}, {0.2, 1.3}}, [][]float64{{0.05, 0.02}, {0.05, 0.1}}, "negative and above 1"))
	must(SummaryPlot(filepath.Join(dir, "edge_loss.png"), map[string][]float64{"loss": {2.3, 1.1, 0.7, 0.5}, "acc": {0.1, 0.5}}, "beyond [0,1]"))
}

func TestNiceTicks(t *testing.T) {
	tests := []struct {
		desc   string
		lo, hi float64
		want   string
	}{
		{"bars below zero and above one", -0.2, 1.4, "-0.2 0.0 0.2 0.4 0.6 0.8 1.0 1.2 1.4"},
		{"loss curve", -0.1, 2.4, "0.0 0.5 1.0 1.5 2.0"},
		{"large values", 0, 730, "0 100 200 300 400 500 600 700"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			var got []string
			for _, tk := range (niceTicks{}).Ticks(tc.lo, tc.hi) {
				got = append(got, tk.Label)
			}
			if s := strings.Join(got, " "); s != tc.want {
				t.Errorf("labels %q, want %q", s, tc.want)
			}
		})
	}
}
