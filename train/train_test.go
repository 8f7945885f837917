package train

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gam-native/gam-native/bindings"
	"github.com/gam-native/gam-native/data"
	"github.com/gam-native/gam-native/internal/testengine"
)

func testEngine(t testing.TB) *bindings.Engine { t.Helper(); return testengine.Open(t) }

func zoo(t testing.TB, e *bindings.Engine, name string, role bindings.Role) *bindings.Model {
	t.Helper()
	m, err := e.LoadModel(filepath.Join(bindings.FindZoo(), name), role)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

// fashion loads n Fashion-MNIST training images, skipping without the data set (failing with
// GAM_REQUIRE_ENGINE=1).
func fashion(t testing.TB, n int) *data.Dataset {
	t.Helper()
	ds, err := data.LoadFashionMNIST(testengine.FashionMNIST(t), "train")
	if err != nil {
		t.Fatal(err)
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return ds.Subset(idx)
}

func TestBalancedDrawerEqualisesClasses(t *testing.T) {
	labels := make([]int64, 0, 1100)
	for i := 0; i < 1000; i++ {
		labels = append(labels, 0)
	}
	for i := 0; i < 100; i++ {
		labels = append(labels, 1)
	}
	gen := make([]int64, 50)
	for i := range gen {
		gen[i] = 1
	}
	cases := []struct {
		desc          string
		sampling      string
		genFrac       float64
		mix           string
		wantShare1    float64 // share of draws that are class 1
		wantGenShare1 float64 // share of class-1 draws that are generated
	}{
		{"uniform follows the data", SampleUniform, 0, GenMixFixed, 150.0 / 1150, 50.0 / 150},
		{"balanced draws classes equally", SampleBalanced, 0, GenMixFixed, 0.5, 0},
		{"balanced with a quarter generated", SampleBalanced, 0.25, GenMixFixed, 0.5, 0.25},
		// union: 50 generated beside 100 real is a third of the pool, capped at the fraction
		{"union under its cap", SampleBalanced, 0.5, GenMixUnion, 0.5, 50.0 / 150},
		{"union at its cap", SampleBalanced, 0.25, GenMixUnion, 0.5, 0.25},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			d := newDrawer(labels, gen, 2, c.sampling, c.genFrac, c.mix, rand.New(rand.NewPCG(1, 2)))
			var n1, g1, n int
			for ep := 0; ep < 20; ep++ {
				for _, i := range d.epoch() {
					n++
					isGen := i >= len(labels)
					y := int64(1)
					if !isGen {
						y = labels[i]
					}
					if y == 1 {
						n1++
						if isGen {
							g1++
						}
					}
				}
			}
			if s := float64(n1) / float64(n); s < c.wantShare1-0.02 || s > c.wantShare1+0.02 {
				t.Fatalf("class 1 share %.3f, want %.3f", s, c.wantShare1)
			}
			if s := float64(g1) / float64(n1); s < c.wantGenShare1-0.02 || s > c.wantGenShare1+0.02 {
				t.Fatalf("generated share of class 1 %.3f, want %.3f", s, c.wantGenShare1)
			}
		})
	}
}

func TestReweightFactors(t *testing.T) {
	w := reweightFactors([]int64{0, 0, 0, 1}, 3)
	// raw n_max/n: 1, 3, 1 (class 2 has none) -> mean 5/3 -> normalised 0.6, 1.8, 0.6
	want := []float32{0.6, 1.8, 0.6}
	for i := range w {
		if d := w[i] - want[i]; d > 1e-5 || d < -1e-5 {
			t.Fatalf("weights %v, want %v", w, want)
		}
	}
}

func TestAugmentShiftsAndFlips(t *testing.T) {
	px := make([]float32, 5*5)
	px[2*5+2] = 1 // centre pixel
	rng := rand.New(rand.NewPCG(3, 4))
	moved := false
	for i := 0; i < 20; i++ {
		img := append([]float32(nil), px...)
		augment(img, 1, 1, 5, 5, true, rng)
		var sum float32
		for _, v := range img {
			sum += v
		}
		if sum != 1 {
			t.Fatalf("a shift of at most 2 px must keep the centre pixel, sum %v", sum)
		}
		if img[2*5+2] != 1 {
			moved = true
		}
	}
	if !moved {
		t.Fatal("augmentation never moved the image")
	}
}

func TestClassifierLearnsAndPredicts(t *testing.T) {
	e := testEngine(t)
	ds := fashion(t, 2000)
	for _, o := range []ClassifierOptions{
		{Epochs: 2, Seed: 1},
		{Epochs: 2, Seed: 1, Sampling: SampleBalanced, Reweight: true, Augment: true, MixupAlpha: 0.2},
		{Epochs: 2, Seed: 1, BalancedSoftmax: true, Augment: true, Flip: true, MixupAlpha: 0.2},
	} {
		m := zoo(t, e, "screen.pt", bindings.RoleClassifier)
		hist, err := Classifier(e, m, ds, nil, o)
		if err != nil {
			t.Fatal(err)
		}
		if len(hist) != 2 || !(hist[1] < hist[0]) {
			t.Fatalf("loss per epoch %v did not fall", hist)
		}
		if acc := accuracy(t, e, m, ds); acc < 0.5 {
			t.Fatalf("training accuracy %.3f after 2 epochs (options %+v)", acc, o)
		}
	}
}

func TestGeneratorTrainingLowersLoss(t *testing.T) {
	e := testEngine(t)
	ds := fashion(t, 1024)
	for _, f := range []string{"cvae.pt", "cvae_conv.pt"} {
		g := zoo(t, e, f, bindings.RoleGenerator)
		hist, err := Generator(e, g, ds, GeneratorOptions{Epochs: 3, Seed: 2, Balanced: true})
		if err != nil {
			t.Fatal(err)
		}
		if !(hist[2] < hist[0]) {
			t.Fatalf("%s: VAE loss per epoch %v did not fall", f, hist)
		}
	}
}

func BenchmarkVAEStep(b *testing.B) {
	e := testEngine(b)
	ds := fashion(b, 4096)
	for _, p := range []float64{1e-9, 0.25} {
		b.Run("cond_prob="+map[bool]string{true: "0", false: "0.25"}[p < 0.01], func(b *testing.B) {
			g := zoo(b, e, "cvae.pt", bindings.RoleGenerator)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := Generator(e, g, ds, GeneratorOptions{Epochs: 1, Seed: 2, Balanced: true, CondProb: p}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A classifier trained with condition augmentation judges degraded images better than one
// trained on clean images only: what a screen needs in a condition-shift job.
func TestConditionTrainingHelpsOnDegradedImages(t *testing.T) {
	e := testEngine(t)
	ds := fashion(t, 2000)
	sev := make([]float32, ds.Len())
	for i := range sev {
		sev[i] = 0.8
	}
	x, err := e.FromF32(ds.Images, int64(ds.Len()), int64(ds.C), int64(ds.H), int64(ds.W))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	bx, err := e.ConditionNamed(x, "blur", sev, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer bx.Close()
	blurred := *ds
	if blurred.Images, err = bx.F32(); err != nil {
		t.Fatal(err)
	}
	acc := func(conds []string) float64 {
		m := zoo(t, e, "screen.pt", bindings.RoleClassifier)
		if _, err := Classifier(e, m, ds, nil, ClassifierOptions{Epochs: 8, Seed: 1, Conditions: conds, CondProb: 0.5}); err != nil {
			t.Fatal(err)
		}
		return accuracy(t, e, m, &blurred)
	}
	plain, cond := acc(nil), acc([]string{"blur"})
	t.Logf("accuracy on blurred images: clean training %.3f, with blur augmentation %.3f", plain, cond)
	if cond < plain+0.05 {
		t.Fatalf("blur augmentation gave %.3f on blurred images, clean training %.3f: want at least 0.05 more", cond, plain)
	}
}

func TestMixWeightsSplitEachClassTotal(t *testing.T) {
	// class 0: 300 real; class 1: 100 real + 50 generated; class 2: 20 generated only
	var real, gen []int64
	for i := 0; i < 300; i++ {
		real = append(real, 0)
	}
	for i := 0; i < 100; i++ {
		real = append(real, 1)
	}
	for i := 0; i < 50; i++ {
		gen = append(gen, 1)
	}
	for i := 0; i < 20; i++ {
		gen = append(gen, 2)
	}
	w := newMixWeights(real, gen, 3, 0.25, GenMixFixed)
	per := 470.0 / 3
	totals := []float64{300 * float64(w.real[0]), 100*float64(w.real[1]) + 50*float64(w.gen[1]), 20 * float64(w.gen[2])}
	for c, tot := range totals {
		if math.Abs(tot-per) > 1e-3 {
			t.Fatalf("class %d total weight %.3f, want %.3f (weights %+v)", c, tot, per, w)
		}
	}
	if g := 50 * float64(w.gen[1]) / totals[1]; math.Abs(g-0.25) > 1e-6 {
		t.Fatalf("class 1 generated share %.3f, want 0.25", g)
	}
	// union: 50 of 150 is a third, capped at 0.25 -> 0.25; with a 0.5 cap it is the third.
	u := newMixWeights(real, gen, 3, 0.5, GenMixUnion)
	if g := 50 * float64(u.gen[1]) / per; math.Abs(g-50.0/150) > 1e-6 {
		t.Fatalf("union generated share %.3f, want %.3f", g, 50.0/150)
	}
}

// accuracy is m's share of right predictions on ds.
func accuracy(t *testing.T, e *bindings.Engine, m *bindings.Model, ds *data.Dataset) float64 {
	t.Helper()
	pr, err := Predict(e, m, ds, 256)
	if err != nil {
		t.Fatal(err)
	}
	right := 0
	for i, p := range pr.Pred {
		if p == ds.Labels[i] {
			right++
		}
	}
	return float64(right) / float64(ds.Len())
}

// The cosine schedule starts at the rate, falls monotonically and ends near 0; the constant one
// (the default) keeps the rate; an unknown schedule is refused before any step.
func TestLRSchedule(t *testing.T) {
	const lr, total = float32(1e-3), 100
	if lrAt(LRConstant, lr, 70, total) != lr {
		t.Fatal("constant schedule changed the rate")
	}
	prev := float32(2 * lr)
	for s := 0; s < total; s++ {
		v := lrAt(LRCosine, lr, s, total)
		if v > prev || v <= 0 {
			t.Fatalf("step %d: %v after %v", s, v, prev)
		}
		prev = v
	}
	if lrAt(LRCosine, lr, 0, total) != lr || prev > lr*1e-3 {
		t.Fatalf("cosine runs %v .. %v, want %v .. ~0", lrAt(LRCosine, lr, 0, total), prev, lr)
	}
	o := ClassifierOptions{LRSchedule: "step"}
	if _, err := Classifier(nil, nil, &data.Dataset{}, nil, o); err == nil || !strings.Contains(err.Error(), "lr_schedule") {
		t.Fatalf("unknown schedule: %v", err)
	}
}

func TestClassPriorAndLogPrior(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	real := []int64{0, 0, 0, 1, 2, 2}
	gen := []int64{1, 1}
	for _, c := range []struct {
		desc     string
		gen      []int64
		sampling string
		want     []float64
	}{
		{"uniform over real: the class frequencies", nil, SampleUniform, []float64{0.5, 1.0 / 6, 2.0 / 6, 0}},
		{"uniform over real + generated: the pool's", gen, SampleUniform, []float64{3.0 / 8, 3.0 / 8, 2.0 / 8, 0}},
		{"balanced: flat over the classes drawn", gen, SampleBalanced, []float64{1.0 / 3, 1.0 / 3, 1.0 / 3, 0}},
		{"uniform, generated replacing real draws: the real frequencies", gen, SampleUniform + "/" + GenMixReplace, []float64{0.5, 1.0 / 6, 2.0 / 6, 0}},
	} {
		t.Run(c.desc, func(t *testing.T) {
			sampling, mix, _ := strings.Cut(c.sampling, "/")
			if mix == "" {
				mix = GenMixFixed
			}
			got := newDrawer(real, c.gen, 4, sampling, 0.25, mix, rng).classPrior()
			for k := range c.want {
				if math.Abs(got[k]-c.want[k]) > 1e-12 {
					t.Fatalf("prior %v, want %v", got, c.want)
				}
			}
			lp := logPrior(got)
			if math.IsInf(float64(lp[3]), 0) || !(lp[3] < lp[0] && lp[3] < lp[1] && lp[3] < lp[2]) {
				t.Fatalf("log prior %v: the class never drawn must be finite and lowest", lp)
			}
			if math.Abs(float64(lp[0])-math.Log(c.want[0])) > 1e-6 {
				t.Fatalf("log prior %v of %v", lp, c.want)
			}
		})
	}
}

// A deferred schedule draws real images only for the first GenFrom of the epochs; with generated
// images of a class the real set lacks, the model predicts that class only once they come in.
func TestGenFromDefersGeneratedImages(t *testing.T) {
	e := testEngine(t)
	ds := fashion(t, 1000)
	var keep []int
	for i, y := range ds.Labels {
		if y != 9 {
			keep = append(keep, i)
		}
	}
	realDS := ds.Subset(keep)
	var genIdx []int
	for i, y := range ds.Labels {
		if y == 9 {
			genIdx = append(genIdx, i)
		}
	}
	genDS := ds.Subset(genIdx)
	for _, c := range []struct {
		desc    string
		genFrom float64
		epochs  int
		wantErr string
		minRec  float64 // class 9 is only in the generated images: without them its recall is ~0
	}{
		{"from the start", 0, 2, "", 0.5},
		{"in the last half", 0.5, 2, "", 0.1},
		{"never: refused", 1, 2, "gen_from", 0},
		{"negative: refused", -0.1, 2, "gen_from", 0},
	} {
		t.Run(c.desc, func(t *testing.T) {
			m := zoo(t, e, "screen.pt", bindings.RoleClassifier)
			_, err := Classifier(e, m, realDS, genDS, ClassifierOptions{Epochs: c.epochs, Seed: 3, GenFrom: c.genFrom,
				BalancedSoftmax: true})
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("got %v, want an error naming %s", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			p, err := Predict(e, m, genDS, 0)
			if err != nil {
				t.Fatal(err)
			}
			hit := 0
			for _, y := range p.Pred {
				if y == 9 {
					hit++
				}
			}
			if frac := float64(hit) / float64(len(p.Pred)); frac < c.minRec {
				t.Fatalf("class 9 recall %.2f on the images it was shown from epoch %d", frac, int(c.genFrom*float64(c.epochs))+1)
			}
		})
	}
	t.Run("balanced softmax with reweight is refused", func(t *testing.T) {
		m := zoo(t, e, "screen.pt", bindings.RoleClassifier)
		if _, err := Classifier(e, m, realDS, nil, ClassifierOptions{Epochs: 1, BalancedSoftmax: true, Reweight: true}); err == nil {
			t.Fatal("accepted")
		}
	})
}

func TestGenStartEpoch(t *testing.T) {
	for _, c := range []struct {
		desc    string
		genFrom float64
		epochs  int
		want    int
	}{
		{"from the start", 0, 30, 0},
		{"the last 30% of 30 epochs", 0.7, 30, 21},
		{"rounded to the nearest epoch", 0.75, 10, 8},
		{"never past the last epoch", 0.99, 10, 9},
		{"one epoch: it has the generated images", 0.5, 1, 0},
	} {
		t.Run(c.desc, func(t *testing.T) {
			if got := genStartEpoch(c.genFrom, c.epochs); got != c.want {
				t.Fatalf("genStartEpoch(%v, %d) = %d, want %d", c.genFrom, c.epochs, got, c.want)
			}
		})
	}
	// The real-only drawer of the first epochs never yields an index into the generated images.
	rng := rand.New(rand.NewPCG(5, 6))
	real := []int64{0, 0, 1, 1, 2}
	d := newDrawer(real, nil, 3, SampleUniform, 0.25, GenMixFixed, rng)
	for ep := 0; ep < 20; ep++ {
		for _, i := range d.epoch() {
			if i >= len(real) {
				t.Fatalf("real-only drawer drew index %d", i)
			}
		}
	}
}

// With GenMixReplace the draws keep the real class frequencies, and a class with generated images
// takes about gen_fraction of its draws from them.
func TestReplaceMixKeepsClassFrequencies(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	var real []int64
	for c, n := range []int{600, 300, 100} {
		for i := 0; i < n; i++ {
			real = append(real, int64(c))
		}
	}
	gen := make([]int64, 50)
	for i := range gen {
		gen[i] = 2
	}
	d := newDrawer(real, gen, 3, SampleUniform, 0.4, GenMixReplace, rng)
	perClass, genDraws := make([]int, 3), 0
	const epochs = 50
	for ep := 0; ep < epochs; ep++ {
		idx := d.epoch()
		if len(idx) != len(real) {
			t.Fatalf("%d draws, want %d", len(idx), len(real))
		}
		for _, i := range idx {
			if i >= len(real) {
				genDraws++
				perClass[gen[i-len(real)]]++
			} else {
				perClass[real[i]]++
			}
		}
	}
	for c, want := range []float64{0.6, 0.3, 0.1} {
		if got := float64(perClass[c]) / float64(epochs*len(real)); math.Abs(got-want) > 1e-9 {
			t.Fatalf("class %d: %.4f of the draws, want %.2f", c, got, want)
		}
	}
	if share := float64(genDraws) / float64(perClass[2]); math.Abs(share-0.4) > 0.03 {
		t.Fatalf("class 2 took %.3f of its draws from generated images, want about 0.4", share)
	}
}

func TestSoftTargetsAndMixPixels(t *testing.T) {
	tg := softTargets([]int64{0, 2, 1}, []data.Mix{{}, {With: 0, Weight: 0.25}, {With: 2, Weight: 0.5}}, 3)
	want := []float32{1, 0, 0, 0.25, 0, 0.75, 0, 0.5, 0.5}
	for i := range want {
		if math.Abs(float64(tg[i]-want[i])) > 1e-6 {
			t.Fatalf("soft targets %v, want %v", tg, want)
		}
	}
	if tg := softTargets([]int64{1}, nil, 2); tg[0] != 0 || tg[1] != 1 {
		t.Errorf("hard targets %v", tg)
	}
	px := []float32{0, 0, 1, 1}
	got := mixPixels(px, []int{1, 0}, 0.75, 2)
	if want := []float32{0.25, 0.25, 0.75, 0.75}; !slicesEqual(got, want) || px[0] != 0 {
		t.Errorf("mixed %v (input %v), want %v and the input untouched", got, px, want)
	}
}

func slicesEqual(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(float64(a[i]-b[i])) > 1e-6 {
			return false
		}
	}
	return true
}

// Blends' soft labels reach the loss: class 9 is seen only in generated images labelled 0.6 boot,
// 0.4 sneaker, so the model learns to give those images about 0.4 sneaker; with hard labels it
// gives sneaker nearly nothing.
func TestSoftLabelsAreLearned(t *testing.T) {
	e := testEngine(t)
	ds := fashion(t, 1000)
	var keep, genIdx []int
	for i, y := range ds.Labels {
		if y == 9 {
			genIdx = append(genIdx, i)
		} else {
			keep = append(keep, i)
		}
	}
	realDS := ds.Subset(keep)
	sneaker := func(mix bool) float64 {
		genDS := ds.Subset(genIdx)
		if mix {
			genDS.Mix = make([]data.Mix, genDS.Len())
			for i := range genDS.Mix {
				genDS.Mix[i] = data.Mix{With: 7, Weight: 0.4}
			}
		}
		m := zoo(t, e, "screen.pt", bindings.RoleClassifier)
		if _, err := Classifier(e, m, realDS, genDS, ClassifierOptions{Epochs: 8, Seed: 5, GenFraction: 0.5}); err != nil {
			t.Fatal(err)
		}
		p, err := Predict(e, m, genDS, 0)
		if err != nil {
			t.Fatal(err)
		}
		var s float64
		for i := 0; i < genDS.Len(); i++ {
			s += float64(p.Probs[i*10+7])
		}
		return s / float64(genDS.Len())
	}
	hard, soft := sneaker(false), sneaker(true)
	t.Logf("mean sneaker probability on the boots: soft %.3f, hard %.3f", soft, hard)
	if !(soft > 0.25 && soft < 0.6 && soft > hard+0.1) {
		t.Fatalf("mean sneaker probability on the boots: %.3f with soft labels (want ~0.4), %.3f with hard ones (want 0.1 less)", soft, hard)
	}
	t.Run("reweight with soft labels is refused", func(t *testing.T) {
		genDS := ds.Subset(genIdx)
		genDS.Mix = make([]data.Mix, genDS.Len())
		m := zoo(t, e, "screen.pt", bindings.RoleClassifier)
		if _, err := Classifier(e, m, realDS, genDS, ClassifierOptions{Epochs: 1, Reweight: true}); err == nil || !strings.Contains(err.Error(), "soft labels") {
			t.Fatalf("got %v", err)
		}
	})
}
