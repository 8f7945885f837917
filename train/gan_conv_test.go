package train

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/gam-native/gam-native/bindings"
	"github.com/gam-native/gam-native/data"
	"github.com/gam-native/gam-native/internal/testengine"
	"github.com/gam-native/gam-native/report"
)

// convGANSample draws n images from g, class i%K for image i, z from seed; it also returns z and y
// (the caller closes them).
func convGANSample(t testing.TB, e *bindings.Engine, g *bindings.Model, n int, seed uint64) ([]float32, *bindings.Tensor, *bindings.Tensor) {
	t.Helper()
	z, err := e.Randn(1, seed, int64(n), int64(g.Meta.LatentDim))
	if err != nil {
		t.Fatal(err)
	}
	ys := make([]int64, n)
	for i := range ys {
		ys[i] = int64(i % g.Meta.NumClasses)
	}
	y, err := e.FromI64(ys, int64(n))
	if err != nil {
		t.Fatal(err)
	}
	x, err := g.Sample(z, y, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	shape, err := x.Shape()
	if err != nil {
		t.Fatal(err)
	}
	s := g.Meta.ImageShape
	if want := []int64{int64(n), int64(s[0]), int64(s[1]), int64(s[2])}; fmt.Sprint(shape) != fmt.Sprint(want) {
		t.Fatalf("sample shape %v, want %v", shape, want)
	}
	px, err := x.F32()
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range px {
		if !(v >= 0 && v <= 1) {
			t.Fatalf("sample pixel %d = %v, outside [0, 1]", i, v)
		}
	}
	return px, z, y
}

// convGANConfidence checks that confidence(px, y) is [n] in [0, 1] and returns it.
func convGANConfidence(t testing.TB, e *bindings.Engine, g *bindings.Model, px []float32, y *bindings.Tensor) []float32 {
	t.Helper()
	s := g.Meta.ImageShape
	n := y.Len()
	x, err := e.FromF32(px, int64(n), int64(s[0]), int64(s[1]), int64(s[2]))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	c, err := g.Confidence(x, y, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cv, err := c.F32()
	if err != nil {
		t.Fatal(err)
	}
	if len(cv) != n {
		t.Fatalf("confidence has %d values for %d images", len(cv), n)
	}
	for i, v := range cv {
		if !(v >= 0 && v <= 1) {
			t.Fatalf("confidence %d = %v, outside [0, 1]", i, v)
		}
	}
	return cv
}

// The zoo's conv GAN (issue 21, method (c)) trains through train.Generator: finite hinge losses,
// samples of the right shape in [0, 1] from the EMA generator, which has moved away from its
// untrained start, and a confidence in [0, 1].
func TestConvGANTrainsAndSamples(t *testing.T) {
	e := testEngine(t)
	g := zoo(t, e, "cgan_conv.pt", bindings.RoleGenerator)
	if g.Meta.Kind != "gan" || !g.Meta.Trainable {
		t.Fatalf("cgan_conv.pt: kind %q trainable %v, want a trainable gan", g.Meta.Kind, g.Meta.Trainable)
	}
	ds := fashion(t, 384)
	const n = 20
	before, z0, y0 := convGANSample(t, e, g, n, 11)
	defer z0.Close()
	defer y0.Close()

	hist, err := Generator(e, g, ds, GeneratorOptions{Epochs: 1, Seed: 3, Balanced: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 1 {
		t.Fatalf("loss history %v, want one epoch", hist)
	}
	for _, l := range hist {
		if math.IsNaN(float64(l)) || math.IsInf(float64(l), 0) {
			t.Fatalf("loss history %v is not finite", hist)
		}
	}

	after, z1, y1 := convGANSample(t, e, g, n, 11)
	defer z1.Close()
	defer y1.Close()
	var diff float64
	for i := range after {
		diff = max(diff, math.Abs(float64(after[i]-before[i])))
	}
	if diff < 1e-3 {
		t.Fatalf("the EMA generator's samples did not change in training (max |diff| %g)", diff)
	}
	again, z2, y2 := convGANSample(t, e, g, n, 11)
	defer z2.Close()
	defer y2.Close()
	for i := range again {
		if again[i] != after[i] {
			t.Fatalf("sample is not deterministic for a fixed z (pixel %d: %v vs %v)", i, again[i], after[i])
		}
	}
	convGANConfidence(t, e, g, after, y1)
	reals := ds.Subset([]int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	ry, err := e.FromI64(reals.Labels, int64(len(reals.Labels)))
	if err != nil {
		t.Fatal(err)
	}
	defer ry.Close()
	convGANConfidence(t, e, g, reals.Images, ry)
	t.Logf("d_loss %v, EMA samples moved by up to %.3f", hist, diff)
}

// TestConvGANQuality is a manual check, skipped unless GAM_GAN_QUALITY=1: it trains the conv GAN
// class-balanced on Fashion-MNIST-LT (the efficacy bench's split: imbalance 100, 100 validation
// images per class held out, seed 1) for GAM_GAN_EPOCHS epochs (default 5) and, after every epoch,
// writes 10 samples per class to GAM_GAN_GRID (default /tmp/gan_grid.png), so a person can look at
// the tail classes.
//
//	GAM_GAN_QUALITY=1 GAM_GAN_EPOCHS=5 GAM_ENGINE=$PWD/build/libgam_engine.so GAM_ZOO=$PWD/build/zoo \
//	    go test ./train -run ConvGANQuality -count=1 -v -timeout 0
func TestConvGANQuality(t *testing.T) {
	if os.Getenv("GAM_GAN_QUALITY") != "1" {
		t.Skip("manual quality check: set GAM_GAN_QUALITY=1")
	}
	e := testEngine(t)
	g := zoo(t, e, "cgan_conv.pt", bindings.RoleGenerator)
	full, err := data.LoadFashionMNIST(testengine.FashionMNIST(t), "train")
	if err != nil {
		t.Fatal(err)
	}
	sc := data.DefaultScenario()
	lt, val, err := data.LongTail(full, sc.ImbalanceFactor, sc.ValPerClass, sc.Seed)
	if err != nil {
		t.Fatal(err)
	}
	counts := make([]int, lt.NumClasses())
	for _, y := range lt.Labels {
		counts[y]++
	}
	epochs := 5
	if v := os.Getenv("GAM_GAN_EPOCHS"); v != "" {
		if epochs, err = strconv.Atoi(v); err != nil || epochs < 1 {
			t.Fatalf("GAM_GAN_EPOCHS=%q", v)
		}
	}
	t.Logf("long-tail training set: %d images, per class %v; %d epochs", len(lt.Labels), counts, epochs)
	path := os.Getenv("GAM_GAN_GRID")
	if path == "" {
		path = "/tmp/gan_grid.png"
	}
	// One Generator call per epoch (a fresh Adam each time, batches from seed ep), so that the
	// grid is there after every epoch: GANs on 2 CPU cores take long enough to be interrupted.
	for ep := 1; ep <= epochs; ep++ {
		t0 := time.Now()
		hist, err := Generator(e, g, lt, GeneratorOptions{Epochs: 1, Seed: uint64(ep), Balanced: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("epoch %d: d_loss %.3f, %.1f s", ep, hist[0], time.Since(t0).Seconds())
		convGANGrid(t, e, g, lt, val, counts, path)
	}
}

// convGANGrid writes 10 samples per class of g to path, labelled with the class and its number of
// training images, and logs the mean confidence per class of the samples and of real validation
// images.
func convGANGrid(t *testing.T, e *bindings.Engine, g *bindings.Model, lt, val *data.Dataset, counts []int, path string) {
	t.Helper()
	const per = 10
	k := g.Meta.NumClasses
	px, z, y := convGANSample(t, e, g, per*k, 5)
	defer z.Close()
	defer y.Close()
	conf := convGANConfidence(t, e, g, px, y)
	vy, err := e.FromI64(val.Labels, int64(len(val.Labels)))
	if err != nil {
		t.Fatal(err)
	}
	defer vy.Close()
	vconf := convGANConfidence(t, e, g, val.Images, vy)
	sz := lt.ImageSize()
	rows := make([]report.GridRow, k)
	for c := 0; c < k; c++ {
		rows[c] = report.GridRow{Label: fmt.Sprintf("%d %s (%d)", c, lt.ClassNames[c], counts[c]), N: per}
		var cs, vs float64
		var vn int
		for i := c; i < per*k; i += k {
			rows[c].Pixels = append(rows[c].Pixels, px[i*sz:(i+1)*sz]...)
			cs += float64(conf[i])
		}
		for i, l := range val.Labels {
			if int(l) == c {
				vs += float64(vconf[i])
				vn++
			}
		}
		var real [][]float32
		for i, l := range val.Labels {
			if int(l) == c && len(real) < per {
				real = append(real, val.Images[i*sz:(i+1)*sz])
			}
		}
		var gen [][]float32
		for i := c; i < per*k; i += k {
			gen = append(gen, px[i*sz:(i+1)*sz])
		}
		t.Logf("class %d %-12s confidence: samples %.3f, real validation %.3f; spread (mean pairwise |a-b|): samples %.4f, real %.4f",
			c, lt.ClassNames[c], cs/per, vs/float64(max(vn, 1)), spread(gen), spread(real))
	}
	if err := report.LabeledGrid(path, rows, lt.C, lt.H, lt.W, per, 3); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", path)
}

// spread is the mean absolute pixel difference over all pairs of imgs: near 0 when a generator
// draws one image per class.
func spread(imgs [][]float32) float64 {
	var sum float64
	var n int
	for i := range imgs {
		for j := i + 1; j < len(imgs); j++ {
			var d float64
			for p := range imgs[i] {
				d += math.Abs(float64(imgs[i][p] - imgs[j][p]))
			}
			sum += d / float64(len(imgs[i]))
			n++
		}
	}
	return sum / float64(max(n, 1))
}
