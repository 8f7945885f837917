package bindings

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestZooModelsLoadWithMetadata(t *testing.T) {
	e := testEngine(t)
	cases := []struct {
		desc, file string
		role       Role
		kind       string
		attrs      int
		embed      bool
		encode     bool
	}{
		{"conditional VAE", "cvae.pt", RoleGenerator, "vae", 2, false, true},
		{"conditional VAE, convolutional", "cvae_conv.pt", RoleGenerator, "vae", 2, false, true},
		{"conditional GAN", "cgan.pt", RoleGenerator, "gan", 2, false, false},
		{"target CNN", "cnn.pt", RoleClassifier, "", 0, true, false},
		{"screen", "screen.pt", RoleClassifier, "", 0, true, false},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			m := ok(e.LoadModel(zooFile(t, c.file), c.role))
			defer m.Close()
			md := m.Meta
			if md.Kind != c.kind || md.NumClasses != 10 || md.ImageShape != [3]int{1, 28, 28} || len(md.AttrNames) != c.attrs || !md.Trainable {
				t.Fatalf("meta %+v", md)
			}
			if c.role == RoleGenerator && md.LatentDim < 1 {
				t.Fatalf("latent_dim %d", md.LatentDim)
			}
			if md.HasEmbed != c.embed || md.HasEncode != c.encode {
				t.Fatalf("has_embed %v, has_encode %v", md.HasEmbed, md.HasEncode)
			}
		})
	}
}

func TestEncodeShapesAndMissingEncode(t *testing.T) {
	e := testEngine(t)
	g := ok(e.LoadModel(zooFile(t, "cvae.pt"), RoleGenerator))
	defer g.Close()
	const n = 5
	x := ok(e.FromF32(make([]float32, n*28*28), n, 1, 28, 28))
	y := ok(e.FromI64([]int64{0, 1, 2, 3, 9}, n))
	defer CloseAll(x, y)
	mu, lv := ok2(g.Encode(x, y, nil))
	defer CloseAll(mu, lv)
	for _, tt := range []*Tensor{mu, lv} {
		if s := ok(tt.Shape()); len(s) != 2 || s[0] != n || s[1] != int64(g.Meta.LatentDim) {
			t.Fatalf("shape %v, want [%d %d]", s, n, g.Meta.LatentDim)
		}
	}
	// Labels outside [0, K) are refused like in sample and confidence.
	bad := ok(e.FromI64([]int64{0, 1, 2, 3, 10}, n))
	defer bad.Close()
	if _, _, err := g.Encode(x, bad, nil); err == nil {
		t.Fatal("label 10 accepted")
	}
	gan := ok(e.LoadModel(zooFile(t, "cgan.pt"), RoleGenerator))
	defer gan.Close()
	if _, _, err := gan.Encode(x, y, nil); err == nil || !strings.Contains(err.Error(), "encode") {
		t.Fatalf("a generator without encode: err = %v, want one naming encode", err)
	}
}

// sampleBatch draws n images of class y (cycling over classes) from g with z from seed.
func sampleBatch(t testing.TB, e *Engine, g *Model, n int, seed uint64) []float32 {
	t.Helper()
	z := ok(e.Randn(1, seed, int64(n), int64(g.Meta.LatentDim)))
	defer z.Close()
	ys := make([]int64, n)
	for i := range ys {
		ys[i] = int64(i % g.Meta.NumClasses)
	}
	y := ok(e.FromI64(ys, int64(n)))
	defer y.Close()
	x := ok(g.Sample(z, y, nil))
	defer x.Close()
	return ok(x.F32())
}

func TestSampleShapeRangeAndSeed(t *testing.T) {
	e := testEngine(t)
	for _, f := range []string{"cvae.pt", "cvae_conv.pt", "cgan.pt"} {
		t.Run(f, func(t *testing.T) {
			g := ok(e.LoadModel(zooFile(t, f), RoleGenerator))
			defer g.Close()
			z := ok(e.Randn(1, 7, 16, int64(g.Meta.LatentDim)))
			y := ok(e.FromI64(make([]int64, 16), 16))
			x := ok(g.Sample(z, y, nil))
			defer CloseAll(z, y, x)
			if s := ok(x.Shape()); len(s) != 4 || s[0] != 16 || s[1] != 1 || s[2] != 28 || s[3] != 28 {
				t.Fatalf("shape %v", s)
			}
			for i, v := range ok(x.F32()) {
				if !(v >= 0 && v <= 1) {
					t.Fatalf("value %d = %v outside [0,1]", i, v)
				}
			}
			a, b, c := sampleBatch(t, e, g, 8, 42), sampleBatch(t, e, g, 8, 42), sampleBatch(t, e, g, 8, 43)
			if maxDiff(a, b) != 0 {
				t.Fatalf("same seed differs by %v", maxDiff(a, b))
			}
			if maxDiff(a, c) == 0 {
				t.Fatal("different seeds gave the same images")
			}
		})
	}
}

func maxDiff(a, b []float32) float64 {
	m := 0.0
	for i := range a {
		m = math.Max(m, math.Abs(float64(a[i]-b[i])))
	}
	return m
}

// fixedBatch is a deterministic batch of n images with labels and zero attrs.
func fixedBatch(t testing.TB, e *Engine, n int, attrs int) (x, y, a *Tensor) {
	t.Helper()
	px := make([]float32, n*28*28)
	ys := make([]int64, n)
	for i := 0; i < n; i++ {
		ys[i] = int64(i % 10)
		for p := 0; p < 28*28; p++ {
			// class-dependent stripes, so there is something to learn
			if (p/28+p%28*int(ys[i]+1))%(int(ys[i])+3) == 0 {
				px[i*784+p] = 0.9
			}
		}
	}
	x = ok(e.FromF32(px, int64(n), 1, 28, 28))
	y = ok(e.FromI64(ys, int64(n)))
	if attrs > 0 {
		a = ok(e.FromF32(make([]float32, n*attrs), int64(n), int64(attrs)))
	}
	return
}

func TestTrainingStepsLowerLoss(t *testing.T) {
	e := testEngine(t)
	noErr(t, e.Seed(1))
	const steps = 25
	cases := []struct {
		desc, file string
		role       Role
		step       func(tr *Trainer, g *Model, x, y, a *Tensor, i int) float32
	}{
		{"vae loss", "cvae.pt", RoleGenerator, func(tr *Trainer, g *Model, x, y, a *Tensor, i int) float32 {
			return ok(tr.StepVAE(x, y, a))
		}},
		{"gan discriminator loss", "cgan.pt", RoleGenerator, func(tr *Trainer, g *Model, x, y, a *Tensor, i int) float32 {
			z := ok(e.Randn(1, uint64(i), int64(x.Len()), int64(g.Meta.LatentDim)))
			defer z.Close()
			d, gl, err := tr.StepGAN(x, z, y, a)
			if err != nil || math.IsNaN(float64(gl)) {
				t.Fatalf("gan step: %v g_loss %v", err, gl)
			}
			return d
		}},
		{"classifier cross-entropy", "cnn.pt", RoleClassifier, func(tr *Trainer, g *Model, x, y, a *Tensor, i int) float32 {
			return ok(tr.StepClassifier(x, y, nil, nil))
		}},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			g := ok(e.LoadModel(zooFile(t, c.file), c.role))
			defer g.Close()
			tr := ok(g.NewTrainer(1e-3, 1e-3))
			defer tr.Close()
			x, y, a := fixedBatch(t, e, 32, len(g.Meta.AttrNames))
			defer CloseAll(x, y, a)
			first := c.step(tr, g, x, y, a, 0)
			var last float32
			for i := 1; i < steps; i++ {
				last = c.step(tr, g, x, y, a, i)
			}
			if !(last < first) {
				t.Fatalf("loss did not fall: %v -> %v", first, last)
			}
		})
	}
}

func TestClassWeightsChangeTheLoss(t *testing.T) {
	e := testEngine(t)
	g := ok(e.LoadModel(zooFile(t, "cnn.pt"), RoleClassifier))
	defer g.Close()
	x, y, _ := fixedBatch(t, e, 20, 0)
	defer CloseAll(x, y)
	losses := ok(g.EvalLoss(x, y, nil))
	defer losses.Close()
	per := ok(losses.F32())
	w := make([]float32, 10)
	w[3] = 1 // only class 3 counts
	cw := ok(e.FromF32(w, 10))
	defer cw.Close()
	tr := ok(g.NewTrainer(1e-9, 0))
	defer tr.Close()
	got := ok(tr.StepClassifier(x, y, cw, nil))
	want := (per[3] + per[13]) / 2 // labels are i%10
	if math.Abs(float64(got-want)) > 1e-4 {
		t.Fatalf("weighted loss %v, want %v", got, want)
	}
}

// The soft step with one-hot targets is the hard cross-entropy; a logit bias enters the loss as
// balanced softmax does (log_softmax(logits + b)); a mixup pair's soft target is the weighted sum
// of the two hard losses; wrong shapes are refused with the member named.
func TestSoftStepLosses(t *testing.T) {
	e := testEngine(t)
	g := ok(e.LoadModel(zooFile(t, "cnn.pt"), RoleClassifier))
	defer g.Close()
	const n, k = 20, 10
	x, y, _ := fixedBatch(t, e, n, 0)
	defer CloseAll(x, y)
	lt := ok(g.Forward(x))
	logits := ok(lt.F32())
	lt.Close()
	labels := ok(y.I64())
	ce := func(bias []float32, tg func(i, c int) float32) float64 {
		var sum float64
		for i := 0; i < n; i++ {
			row := make([]float64, k)
			mx := math.Inf(-1)
			for c := 0; c < k; c++ {
				row[c] = float64(logits[i*k+c] + bias[c])
				mx = math.Max(mx, row[c])
			}
			var z float64
			for c := range row {
				z += math.Exp(row[c] - mx)
			}
			for c := range row {
				sum -= float64(tg(i, c)) * (row[c] - mx - math.Log(z))
			}
		}
		return sum / n
	}
	oneHot := func(i, c int) float32 {
		if int64(c) == labels[i] {
			return 1
		}
		return 0
	}
	pair := func(i, c int) float32 {
		v := float32(0)
		if int64(c) == labels[i] {
			v += 0.7
		}
		if int64(c) == labels[(i+1)%n] {
			v += 0.3
		}
		return v
	}
	bias := []float32{-5, -4, -3, -2, -1, 0, 1, 2, 3, 4}
	zero := make([]float32, k)
	tr := ok(g.NewTrainer(1e-12, 0)) // steps too small to move the weights between rows
	defer tr.Close()
	for _, c := range []struct {
		desc string
		bias []float32
		tg   func(i, c int) float32
	}{
		{"one-hot, no bias: the hard loss", nil, oneHot},
		{"one-hot with a prior bias", bias, oneHot},
		{"a 0.7/0.3 mixup pair", nil, pair},
	} {
		t.Run(c.desc, func(t *testing.T) {
			tgv := make([]float32, n*k)
			for i := 0; i < n; i++ {
				for cl := 0; cl < k; cl++ {
					tgv[i*k+cl] = c.tg(i, cl)
				}
			}
			tgt := ok(e.FromF32(tgv, n, k))
			defer tgt.Close()
			var bt *Tensor
			b := zero
			if c.bias != nil {
				bt, b = ok(e.FromF32(c.bias, k)), c.bias
				defer bt.Close()
			}
			got := ok(tr.StepClassifierSoft(x, tgt, bt, nil))
			if want := ce(b, c.tg); math.Abs(float64(got)-want) > 1e-4 {
				t.Fatalf("soft loss %v, want %v", got, want)
			}
		})
	}
	t.Run("one-hot matches StepClassifier", func(t *testing.T) {
		hard := ok(tr.StepClassifier(x, y, nil, nil))
		if want := ce(zero, oneHot); math.Abs(float64(hard)-want) > 1e-4 {
			t.Fatalf("hard loss %v, the soft path's reference %v", hard, want)
		}
	})
	t.Run("wrong shapes are refused", func(t *testing.T) {
		bad := ok(e.FromF32(make([]float32, n*3), n, 3))
		defer bad.Close()
		if _, err := tr.StepClassifierSoft(x, bad, nil, nil); err == nil || !strings.Contains(err.Error(), "targets must be") {
			t.Fatalf("targets [20, 3]: got %v", err)
		}
		tgt := ok(e.FromF32(make([]float32, n*k), n, k))
		defer tgt.Close()
		b3 := ok(e.FromF32([]float32{1, 2, 3}, 3))
		defer b3.Close()
		if _, err := tr.StepClassifierSoft(x, tgt, b3, nil); err == nil || !strings.Contains(err.Error(), "logit_bias must be") {
			t.Fatalf("logit_bias [3]: got %v", err)
		}
	})
}

func TestSaveAndReloadGivesSameOutputs(t *testing.T) {
	e := testEngine(t)
	dir := t.TempDir()
	for _, f := range []string{"cvae.pt", "cvae_conv.pt", "cgan.pt"} {
		t.Run(f, func(t *testing.T) {
			g := ok(e.LoadModel(zooFile(t, f), RoleGenerator))
			defer g.Close()
			// train a little so the saved weights differ from the exported ones
			tr := ok(g.NewTrainer(1e-3, 1e-3))
			x, y, a := fixedBatch(t, e, 16, len(g.Meta.AttrNames))
			z := ok(e.Randn(1, 3, 16, int64(g.Meta.LatentDim)))
			for i := 0; i < 3; i++ {
				if g.Meta.Kind == "vae" {
					ok(tr.StepVAE(x, y, a))
				} else {
					_, _, err := tr.StepGAN(x, z, y, a)
					noErr(t, err)
				}
			}
			tr.Close()
			CloseAll(x, y, a, z)
			before := sampleBatch(t, e, g, 6, 9)
			p := filepath.Join(dir, "saved_"+f)
			noErr(t, g.Save(p))
			h := ok(e.LoadModel(p, RoleGenerator))
			defer h.Close()
			if d := maxDiff(before, sampleBatch(t, e, h, 6, 9)); d != 0 {
				t.Fatalf("reloaded model differs by %v", d)
			}
			if d := maxDiff(before, sampleBatch(t, e, ok(e.LoadModel(zooFile(t, f), RoleGenerator)), 6, 9)); d == 0 {
				t.Fatal("training changed nothing: the test cannot tell a save from a no-op")
			}
		})
	}
}

func TestBadModelsAreRefused(t *testing.T) {
	e := testEngine(t)
	junk := filepath.Join(t.TempDir(), "junk.pt")
	if err := os.WriteFile(junk, []byte("not a zip file at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		desc, path string
		role       Role
		want       []string
	}{
		{"missing file", filepath.Join(t.TempDir(), "nope.pt"), RoleGenerator, []string{"nope.pt", "no such file"}},
		{"not TorchScript", junk, RoleGenerator, []string{"junk.pt", "not a TorchScript file"}},
		{"fixture not TorchScript", fixtureFile(t, "not_torchscript.pt"), RoleClassifier, []string{"not a TorchScript file"}},
		{"no sample", fixtureFile(t, "no_sample.pt"), RoleGenerator, []string{"missing method `sample`", "sample(z: Tensor"}},
		{"no confidence", fixtureFile(t, "no_confidence.pt"), RoleGenerator, []string{"missing method `confidence`", "confidence(x: Tensor"}},
		{"wrong contract", fixtureFile(t, "wrong_contract.pt"), RoleGenerator, []string{"gam_contract", "gam.generator/v9", "expected \"gam.generator/v1\""}},
		{"wrong argument count", fixtureFile(t, "sample_argcount.pt"), RoleGenerator, []string{"`sample` takes 2 arguments, expected 3"}},
		{"wrong sample shape", fixtureFile(t, "sample_shape.pt"), RoleGenerator, []string{"probe call returned shape [2, 1, 14, 14]", "expected [2, 1, 28, 28]"}},
		{"classifier wrong class count", fixtureFile(t, "classifier_wrong_classes.pt"), RoleClassifier, []string{"[2, 5]", "expected [2, 10]"}},
		{"mistyped attribute", fixtureFile(t, "wrong_attr_type.pt"), RoleGenerator, []string{"attribute `num_classes` must be int"}},
		{"state_dict instead of a module", fixtureFile(t, "state_dict.pt"), RoleGenerator, []string{"not a TorchScript file"}},
		{"generator loaded as classifier", zooFile(t, "cvae.pt"), RoleClassifier, []string{"gam_contract", "expected \"gam.classifier/v1\""}},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			m, err := e.LoadModel(c.path, c.role)
			if err == nil {
				m.Close()
				t.Fatal("loaded a bad model")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestModelsWithoutTrainingMembersAreUsedAsGiven(t *testing.T) {
	e := testEngine(t)
	g := ok(e.LoadModel(fixtureFile(t, "frozen_gen.pt"), RoleGenerator))
	defer g.Close()
	if g.Meta.Trainable {
		t.Fatal("frozen generator reported trainable")
	}
	if _, err := g.NewTrainer(1e-3, 1e-3); err == nil || !strings.Contains(err.Error(), "used as it comes") {
		t.Fatalf("trainer on a frozen model: %v", err)
	}
	sampleBatch(t, e, g, 4, 1)
}

// Labels are checked against num_classes without reading the device back when their bound is
// known from the host; a bound is only a bound, so rows selected from a tensor with a bad label
// are judged by their own values.
func TestLabelRangeChecks(t *testing.T) {
	e := testEngine(t)
	g := ok(e.LoadModel(zooFile(t, "cvae.pt"), RoleGenerator))
	defer g.Close()
	sample := func(y *Tensor) error {
		n := int64(y.Len())
		z := ok(e.Randn(1, 1, n, int64(g.Meta.LatentDim)))
		defer z.Close()
		x, err := g.Sample(z, y, nil)
		x.Close()
		return err
	}
	bad := ok(e.FromI64([]int64{0, 1, 12, 3}, 4))
	neg := ok(e.FromI64([]int64{-1}, 1))
	good := ok(e.FromI64([]int64{9, 0}, 2))
	okRows := ok(bad.Select([]int64{0, 1, 3}))
	badRows := ok(bad.Select([]int64{3, 2}))
	goodCat := ok(e.Cat(good, okRows))
	badCat := ok(e.Cat(good, neg))
	defer CloseAll(bad, neg, good, okRows, badRows, goodCat, badCat)
	for _, c := range []struct {
		name  string
		y     *Tensor
		valid bool
	}{
		{"host labels with 12", bad, false},
		{"host label -1", neg, false},
		{"host labels 9, 0", good, true},
		{"valid rows of a bad tensor", okRows, true},
		{"rows holding the bad label", badRows, false},
		{"cat of valid tensors", goodCat, true},
		{"cat with a negative label", badCat, false},
	} {
		err := sample(c.y)
		if c.valid && err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		if !c.valid && (err == nil || !strings.Contains(err.Error(), "labels outside [0, 10)")) {
			t.Errorf("%s: want a labels-outside error, got %v", c.name, err)
		}
	}
}

// SampleAsync gives the same images as Sample, lets other engine calls run while it works, and
// reports bad arguments at once and a failed call at Wait.
func TestSampleAsyncMatchesSample(t *testing.T) {
	e, g, s := zooGenScreen(t)
	z := ok(e.Randn(1, 9, 64, int64(g.Meta.LatentDim)))
	ys := make([]int64, 64)
	for i := range ys {
		ys[i] = int64(i % 10)
	}
	y := ok(e.FromI64(ys, 64))
	want := ok(g.Sample(z, y, nil))
	defer CloseAll(want)
	f := ok(g.SampleAsync(z, y, nil))
	CloseAll(z, y)                // the work holds its own references
	logits := ok(s.Forward(want)) // another engine call while the sample runs
	logits.Close()
	got := ok(f.Wait())
	defer got.Close()
	if d := maxDiff(ok(want.F32()), ok(got.F32())); d != 0 {
		t.Fatalf("async sample differs from sample by %v", d)
	}
	if _, err := f.Wait(); err == nil {
		t.Fatal("a second Wait succeeded")
	}
	bad := ok(e.FromI64([]int64{3, 11}, 2))
	z2 := ok(e.Randn(1, 1, 2, int64(g.Meta.LatentDim)))
	defer CloseAll(bad, z2)
	if _, err := g.SampleAsync(z2, bad, nil); err == nil || !strings.Contains(err.Error(), "labels outside") {
		t.Fatalf("bad labels: want an error at once, got %v", err)
	}
}

// A Future is a handle like the others: counted in LiveHandles from SampleAsync until Wait or
// Close, and Close (idempotent, a no-op after Wait) frees one that is never waited for.
func TestFutureCloseAndLiveHandles(t *testing.T) {
	e, g, _ := zooGenScreen(t)
	z := ok(e.Randn(1, 3, 8, int64(g.Meta.LatentDim)))
	y := ok(e.FromI64(make([]int64, 8), 8))
	defer CloseAll(z, y)
	before := LiveHandles()
	f := ok(g.SampleAsync(z, y, nil))
	if n := LiveHandles(); n != before+1 {
		t.Fatalf("live handles %d after SampleAsync, want %d", n, before+1)
	}
	f.Close()
	f.Close()
	if n := LiveHandles(); n != before {
		t.Fatalf("live handles %d after Close, want %d", n, before)
	}
	if _, err := f.Wait(); err == nil {
		t.Fatal("Wait after Close succeeded")
	}
	f = ok(g.SampleAsync(z, y, nil))
	x := ok(f.Wait())
	x.Close()
	f.Close()
	if n := LiveHandles(); n != before {
		t.Fatalf("live handles %d after Wait and Close, want %d", n, before)
	}
}

// SetLR changes the step size of the steps that follow: at a vanishing rate the loss on a fixed
// batch stays where it is, at the usual one it falls; a rate of 0 is refused.
func TestTrainerSetLR(t *testing.T) {
	e := testEngine(t)
	g := ok(e.LoadModel(zooFile(t, "cnn.pt"), RoleClassifier))
	defer g.Close()
	tr := ok(g.NewTrainer(1e-3, 1e-3))
	defer tr.Close()
	x, y, a := fixedBatch(t, e, 32, 0)
	defer CloseAll(x, y, a)
	noErr(t, tr.SetLR(1e-20, 1e-20))
	first := ok(tr.StepClassifier(x, y, nil, nil))
	var still float32
	for i := 0; i < 5; i++ {
		still = ok(tr.StepClassifier(x, y, nil, nil))
	}
	if math.Abs(float64(still-first)) > 1e-5 {
		t.Fatalf("at lr 1e-20 the loss moved: %v -> %v", first, still)
	}
	noErr(t, tr.SetLR(1e-3, 1e-3))
	var last float32
	for i := 0; i < 10; i++ {
		last = ok(tr.StepClassifier(x, y, nil, nil))
	}
	if !(last < first-1e-3) {
		t.Fatalf("at lr 1e-3 the loss did not fall: %v -> %v", first, last)
	}
	if err := tr.SetLR(0, 0); err == nil || !strings.Contains(err.Error(), "lr must be > 0") {
		t.Fatalf("lr 0: got %v", err)
	}
}
