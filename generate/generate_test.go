package generate

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gam-native/gam-native/bindings"
	"github.com/gam-native/gam-native/data"
	"github.com/gam-native/gam-native/internal/testengine"
	"github.com/gam-native/gam-native/internal/testmodels"
	"github.com/gam-native/gam-native/plan"
	"github.com/gam-native/gam-native/train"
)

// fixture is a briefly trained cVAE, screen and target CNN shared by the tests of this file.
var fixture struct {
	once                sync.Once
	err                 error
	e                   *bindings.Engine
	ds                  *data.Dataset
	gen, screen, target *bindings.Model
	cal                 *Calibration
}

const (
	coat  = 4
	shirt = 6
)

func setup(t testing.TB) {
	t.Helper()
	e := testengine.WithFashionMNIST(t)
	f := &fixture
	f.once.Do(func() {
		f.e = e
		all, err := data.LoadFashionMNIST("", "train")
		if err != nil {
			f.err = err
			return
		}
		idx := make([]int, testmodels.Images)
		for i := range idx {
			idx[i] = i
		}
		f.ds = all.Subset(idx)
		// The generator and screen every package's tests share (internal/testmodels); the target
		// CNN, trained for one epoch, is this package's own, cached beside them.
		paths, err := testmodels.Load(e)
		if err != nil {
			f.err = err
			return
		}
		load := func(p string, role bindings.Role) *bindings.Model {
			m, err := e.LoadModel(p, role)
			if err != nil && f.err == nil {
				f.err = err
			}
			return m
		}
		f.gen, f.screen = load(paths.Generator, bindings.RoleGenerator), load(paths.Screen, bindings.RoleClassifier)
		targetPath := filepath.Join(testmodels.Dir(), "target.pt")
		if cached, err := e.LoadModel(targetPath, bindings.RoleClassifier); err == nil {
			f.target = cached
		} else {
			f.target = load(filepath.Join(bindings.FindZoo(), "cnn.pt"), bindings.RoleClassifier)
			if f.err != nil {
				return
			}
			if _, f.err = train.Classifier(e, f.target, f.ds, nil, train.ClassifierOptions{Epochs: 1, Seed: 3}); f.err != nil {
				return
			}
			_ = f.target.Save(targetPath)
		}
		if f.err != nil {
			return
		}
		f.cal, f.err = Calibrate(e, f.gen, f.ds, 200)
	})
	if f.err != nil {
		t.Fatal(f.err)
	}
}

// memSink keeps candidates in memory.
type memSink struct{ acc, pend []*Candidate }

func (m *memSink) Accept(c *Candidate) error { m.acc = append(m.acc, c); return nil }
func (m *memSink) Pend(c *Candidate) error   { m.pend = append(m.pend, c); return nil }
func (m *memSink) Flush() error              { return nil }

func run(t *testing.T, m Models, targets []plan.Target, cfg Config, seed uint64, sink Sink) *Result {
	t.Helper()
	f := &fixture
	dd, err := NewDedup(f.e, m.Screen, f.ds, 300, cfg.DupThreshold)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), f.e, m, targets, Options{Config: cfg, Seed: seed, Round: 1, Calibration: f.cal, Dedup: dd}, sink)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestPlanQuotasAreMetExactly(t *testing.T) {
	setup(t)
	f := &fixture
	targets := []plan.Target{
		{ID: "shirt", Class: shirt, ClassName: "shirt", Count: 500},
		{ID: "coat/blurry", Class: coat, ClassName: "coat", Condition: "blur", SeverityMin: 0.5, SeverityMax: 1, Count: 500},
		{ID: "coat", Class: coat, ClassName: "coat", Count: 200},
	}
	sink := &memSink{}
	cfg := DefaultConfig()
	cfg.MaxAttempts = 50
	res := run(t, Models{Generator: f.gen, GeneratorName: "zoo:cvae", Screen: f.screen}, targets, cfg, 7, sink)
	byTarget := map[string][]*Candidate{}
	for _, c := range sink.acc {
		byTarget[c.Target.ID] = append(byTarget[c.Target.ID], c)
	}
	for i, tg := range targets {
		tr := res.Targets[i]
		if tr.Accepted != tg.Count || len(byTarget[tg.ID]) != tg.Count || tr.Shortfall != 0 {
			t.Fatalf("target %s: accepted %d (%d handed on) of %d; rejected %v", tg.ID, tr.Accepted, len(byTarget[tg.ID]), tg.Count, tr.Rejected)
		}
		if tr.Attempts < tr.Accepted {
			t.Fatalf("target %s: %d attempts for %d accepted", tg.ID, tr.Attempts, tr.Accepted)
		}
	}
	// The screen agrees with the intended label on every accepted image.
	sz := f.gen.Meta.Pixels()
	px := make([]float32, 0, len(sink.acc)*sz)
	want := make([]int64, 0, len(sink.acc))
	for _, c := range sink.acc {
		px = append(px, c.Pixels...)
		want = append(want, int64(c.Target.Class))
	}
	ds := &data.Dataset{C: 1, H: 28, W: 28, Images: px, Labels: want}
	pr, err := train.Predict(f.e, f.screen, ds, 256)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range pr.Pred {
		if p != want[i] {
			t.Fatalf("accepted image %d: screen says %d, intended %d", i, p, want[i])
		}
	}
	// Blurry ones measure blurrier than clean ones of the same class.
	sharp := func(cs []*Candidate) float64 { return meanSharpness(t, f.e, cs) }
	if b, c := sharp(byTarget["coat/blurry"]), sharp(byTarget["coat"]); !(b < c) {
		t.Fatalf("blurry coats sharpness %.5f not below clean coats %.5f", b, c)
	}
	for _, c := range byTarget["coat/blurry"] {
		if c.Conditions["blur"] == "" || c.Attrs["blur"] < 0.5 {
			t.Fatalf("blurry candidate without its condition: %+v %+v", c.Conditions, c.Attrs)
		}
	}
}

func TestHardnessSearchLowersTheMargin(t *testing.T) {
	setup(t)
	f := &fixture
	targets := []plan.Target{{ID: "shirt", Class: shirt, ClassName: "shirt", Hardness: 1, Count: 150}}
	m := Models{Generator: f.gen, Screen: f.screen, Target: f.target}
	cfg := DefaultConfig()
	cfg.MaxAttempts = 60
	plain := run(t, m, targets, cfg, 11, &memSink{})
	cfg.SearchSteps, cfg.SearchLR = 6, 0.03
	hard := run(t, m, targets, cfg, 11, &memSink{})
	t.Logf("mean target margin on accepted shirts: plain %.3f, with search %.3f", plain.Targets[0].MeanMargin, hard.Targets[0].MeanMargin)
	if hard.Targets[0].Accepted != 150 || !(hard.Targets[0].MeanMargin < plain.Targets[0].MeanMargin) {
		t.Fatalf("search: accepted %d, margin %.3f vs plain %.3f", hard.Targets[0].Accepted, hard.Targets[0].MeanMargin, plain.Targets[0].MeanMargin)
	}
}

func TestSameSeedSameManifest(t *testing.T) {
	setup(t)
	f := &fixture
	targets := []plan.Target{{ID: "shirt", Class: shirt, ClassName: "shirt", Count: 60},
		{ID: "coat/shadow", Class: coat, ClassName: "coat", Condition: "shadow", SeverityMin: 0.5, SeverityMax: 1, Count: 40}}
	var fusedRes *Result
	write := func(seed uint64, step string, lanes int) (string, []byte) {
		dir := t.TempDir()
		s, err := OpenDirSink(dir, "", data.FashionMNISTClasses, 1, "zoo:cvae", 1, 28, 28)
		if err != nil {
			t.Fatal(err)
		}
		cfg := DefaultConfig()
		cfg.Step, cfg.Lanes = step, lanes
		res := run(t, Models{Generator: f.gen, GeneratorName: "zoo:cvae", Screen: f.screen}, targets, cfg, seed, s)
		if step == StepFused {
			fusedRes = res
		}
		s.Close()
		b, err := os.ReadFile(filepath.Join(dir, "manifest.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		return dir, b
	}
	// The split path on three lanes (Config.Lanes; the default is one per CPU), where batches
	// finish in any order and the sink puts them back in order.
	d1, m1 := write(5, StepAuto, 3)
	_, m2 := write(5, StepAuto, 3)
	d3, _ := write(6, StepAuto, 3)
	// The fused step (sample and screen in one engine call, on the engine thread) is the same
	// computation as the split path on the engine thread: same bytes. (Lanes run each call on one
	// intra-op thread, where sums round differently.)
	_, m4 := write(5, StepFused, 0)
	_, m5 := write(5, StepSplit, 1)
	if !bytes.Equal(m5, m4) {
		t.Fatalf("the fused step changed the manifest (%d bytes, split %d)", len(m4), len(m5))
	}
	if fusedRes.Step == nil || fusedRes.Step.Eager == 0 || fusedRes.Step.Replays != 0 {
		t.Fatalf("fused step stats %+v: want eager runs and no graph on the CPU", fusedRes.Step)
	}
	if !bytes.Equal(m1, m2) || len(m1) == 0 {
		l1, l2 := bytes.Split(m1, []byte("\n")), bytes.Split(m2, []byte("\n"))
		for i := range min(len(l1), len(l2)) {
			if !bytes.Equal(l1[i], l2[i]) {
				t.Fatalf("same seed and plan gave different manifests (%d and %d lines); line %d:\n%s\n%s", len(l1), len(l2), i+1, l1[i], l2[i])
			}
		}
		t.Fatalf("same seed and plan gave different manifests (%d and %d lines)", len(l1), len(l2))
	}
	recs, err := data.ReadManifestRecords(filepath.Join(d1, "manifest.jsonl"))
	if err != nil || len(recs) == 0 {
		t.Fatalf("%d records, %v", len(recs), err)
	}
	a, _ := os.ReadFile(filepath.Join(d1, recs[0].Path))
	b, _ := os.ReadFile(filepath.Join(d3, recs[0].Path))
	if bytes.Equal(a, b) {
		t.Fatal("a different seed gave the same first image")
	}
	if recs[0].Provenance == nil || recs[0].Provenance.Seed == 0 || recs[0].Provenance.Generator != "zoo:cvae" {
		t.Fatalf("provenance %+v", recs[0].Provenance)
	}
}

func TestNaNSamplesAreRejectedAndTheRunGoesOn(t *testing.T) {
	setup(t)
	f := &fixture
	p := filepath.Join(os.Getenv("GAM_FIXTURES"), "nan_vae.pt")
	if os.Getenv("GAM_FIXTURES") == "" {
		p = filepath.Join(filepath.Dir(bindings.FindZoo()), "fixtures", "nan_vae.pt")
	}
	g, err := f.e.LoadModel(p, bindings.RoleGenerator)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if _, err := train.Generator(f.e, g, f.ds, train.GeneratorOptions{Epochs: 1, Seed: 1, Balanced: true}); err != nil {
		t.Fatal(err)
	}
	cal, err := Calibrate(f.e, g, f.ds, 100)
	if err != nil {
		t.Fatal(err)
	}
	sink := &memSink{}
	targets := []plan.Target{{ID: "trouser", Class: 1, ClassName: "trouser", Count: 50}}
	res, err := Run(context.Background(), f.e, Models{Generator: g, Screen: f.screen}, targets, Options{Config: DefaultConfig(), Seed: 3, Calibration: cal}, sink)
	if err != nil {
		t.Fatal(err)
	}
	if res.Targets[0].Rejected[ReasonNaN] == 0 {
		t.Fatalf("no NaN rejections: %v", res.Targets[0].Rejected)
	}
	for _, c := range sink.acc {
		for _, v := range c.Pixels {
			if math.IsNaN(float64(v)) {
				t.Fatal("a NaN image was accepted")
			}
		}
	}
	t.Logf("accepted %d, rejected %v", res.Targets[0].Accepted, res.Targets[0].Rejected)
}

func TestCalibrationPercentile(t *testing.T) {
	c := &Calibration{PerClass: [][]float32{{0.1, 0.2, 0.2, 0.4}, nil}}
	cases := []struct {
		desc string
		cls  int
		v    float32
		want float32
	}{
		{"below all", 0, 0.05, 0},
		{"ties count as at or below", 0, 0.2, 0.75},
		{"above all", 0, 0.9, 1},
		{"class without real images passes", 1, 0.0, 1},
	}
	for _, tc := range cases {
		if got := c.Percentile(tc.cls, tc.v); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.desc, got, tc.want)
		}
	}
}

func TestConfigValidation(t *testing.T) {
	cases := []struct {
		desc string
		edit func(*Config)
		want string
	}{
		{"prob threshold above 1", func(c *Config) { c.ProbThreshold = 1.2 }, "prob_threshold"},
		{"confidence threshold below 0", func(c *Config) { c.ConfThreshold = -0.1 }, "conf_threshold"},
		{"review band past 1", func(c *Config) { c.ProbThreshold, c.ReviewBand = 0.9, 0.2 }, "review_band"},
		{"shards past the cap", func(c *Config) { c.Shards = MaxShards + 1 }, "generate.shards = 65"},
		{"shards with a review band", func(c *Config) { c.Shards, c.ReviewBand = 2, 0.1 }, "not with generate.review_band"},
		{"review band with a calibrated screen", func(c *Config) { c.ProbCalibrated, c.ReviewBand = true, 0.05 }, "prob_calibrated"},
		{"attempts below 1", func(c *Config) { c.MaxAttempts = 0.5 }, "max_attempts"},
		{"unknown latent source", func(c *Config) { c.Latent = "posterior" }, "generate.latent"},
		{"unknown step", func(c *Config) { c.Step = "cuda-graph" }, "generate.step"},
		{"unknown condition content", func(c *Config) { c.ConditionContent = "photos" }, "generate.condition_content"},
		{"blend leaning to the confuser", func(c *Config) { c.Blend = 0.6 }, "generate.blend"},
		{"negative blend", func(c *Config) { c.Blend = -0.1 }, "generate.blend"},
		{"blend with a calibrated screen", func(c *Config) { c.Blend, c.ProbCalibrated = 0.3, true }, "generate.blend"},
	}
	for _, tc := range cases {
		c := DefaultConfig()
		tc.edit(&c)
		if err := c.Validate(); err == nil || !bytes.Contains([]byte(err.Error()), []byte(tc.want)) {
			t.Errorf("%s: %v", tc.desc, err)
		}
	}
}

// With condition_after_screen a blurred target is sampled and screened clean and blurred after:
// every accepted image is blurrier than the clean ones, says it was blurred natively, and the
// screen judged its clean version (so it accepts far more often than on generator-blurred images).
func TestConditionAfterScreen(t *testing.T) {
	setup(t)
	f := &fixture
	targets := []plan.Target{{ID: "coat", Class: coat, ClassName: "coat", Count: 60},
		{ID: "coat/blurry", Class: coat, ClassName: "coat", Condition: "blur", SeverityMin: 0.6, SeverityMax: 1, Count: 60}}
	cfg := DefaultConfig()
	cfg.BatchSize = DefaultBatchSize // the batch Run takes; the attempts bound below counts one batch
	cfg.ConditionAfterScreen = true
	sink := &memSink{}
	res := run(t, Models{Generator: f.gen, Screen: f.screen}, targets, cfg, 5, sink)
	var clean, blurred []*Candidate
	for _, c := range sink.acc {
		if c.Target.Condition == "" {
			clean = append(clean, c)
			continue
		}
		blurred = append(blurred, c)
		if c.Conditions["blur"] != data.ByNative || c.Attrs["blur"] < 0.6 {
			t.Fatalf("blurred candidate's provenance %+v %+v: want blur by %s, severity >= 0.6", c.Conditions, c.Attrs, data.ByNative)
		}
	}
	if len(clean) != 60 || len(blurred) != 60 {
		t.Fatalf("accepted %d clean and %d blurred coats, want 60 each (%+v)", len(clean), len(blurred), res.Targets)
	}
	stats := func(cs []*Candidate) float64 { return meanSharpness(t, f.e, cs) }
	if b, c := stats(blurred), stats(clean); !(b < 0.8*c) {
		t.Fatalf("blurred coats' sharpness %.5f not well below the clean ones' %.5f", b, c)
	}
	// Clean sampling means the blurred target is accepted about as often as the clean one.
	if a, b := res.Targets[0].Attempts, res.Targets[1].Attempts; float64(b) > 2*float64(a)+float64(cfg.BatchSize) {
		t.Fatalf("blurred target took %d attempts, clean %d: the screen should judge the clean version", b, a)
	}
}

// meanSharpness is the engine's sharpness statistic averaged over the candidates' images.
func meanSharpness(t *testing.T, e *bindings.Engine, cs []*Candidate) float64 {
	t.Helper()
	var buf []float32
	for _, c := range cs {
		buf = append(buf, c.Pixels...)
	}
	x, err := e.FromF32(buf, int64(len(cs)), 1, 28, 28)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	st, err := e.ImageStats(x)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	v, err := st.F32()
	if err != nil {
		t.Fatal(err)
	}
	var s float64
	for i := range cs {
		s += float64(v[i*4+bindings.StatSharpness])
	}
	return s / float64(len(cs))
}

// nearestReal is the mean over imgs of the squared pixel distance to the nearest of refs.
func nearestReal(imgs [][]float32, refs [][]float32) float64 {
	var total float64
	for _, a := range imgs {
		best := math.Inf(1)
		for _, b := range refs {
			var d float64
			for i := range a {
				v := float64(a[i] - b[i])
				d += v * v
			}
			best = min(best, d)
		}
		total += best
	}
	return total / float64(len(imgs))
}

// latent = "real" draws z between real images' posterior means: deterministic for a seed, it is
// accepted more often than prior draws and its accepted images lie nearer real images of the class.
func TestRealLatents(t *testing.T) {
	setup(t)
	f := &fixture
	lat, err := EncodeReal(f.e, f.gen, f.ds, 200, false)
	if err != nil {
		t.Fatal(err)
	}
	if lat.Count(shirt) != 200 || lat.Dim != f.gen.Meta.LatentDim {
		t.Fatalf("latents: %d of class shirt, dim %d", lat.Count(shirt), lat.Dim)
	}
	m := Models{Generator: f.gen, GeneratorName: "zoo:cvae", Screen: f.screen}
	targets := []plan.Target{{ID: "shirt", Class: shirt, ClassName: "shirt", Count: 80},
		{ID: "coat", Class: coat, ClassName: "coat", Count: 80}}
	gen := func(latent string, seed uint64) (*Result, *memSink) {
		cfg := DefaultConfig()
		cfg.Latent = latent
		s := &memSink{}
		res, err := Run(context.Background(), f.e, m, targets, Options{Config: cfg, Seed: seed, Round: 1, Calibration: f.cal, Latents: lat}, s)
		if err != nil {
			t.Fatal(err)
		}
		return res, s
	}
	refs := map[int][][]float32{}
	for i, y := range f.ds.Labels {
		if len(refs[int(y)]) < 300 {
			refs[int(y)] = append(refs[int(y)], f.ds.Image(i))
		}
	}
	rp, sp := gen(LatentPrior, 3)
	rr, sr := gen(LatentReal, 3)
	_, sr2 := gen(LatentReal, 3)
	for i := range sr.acc {
		if maxAbs(sr.acc[i].Pixels, sr2.acc[i].Pixels) != 0 {
			t.Fatalf("same seed, image %d differs", i)
		}
	}
	var sumDP, sumDR float64
	for ti, tg := range targets {
		pick := func(s *memSink) [][]float32 {
			var out [][]float32
			for _, c := range s.acc {
				if c.Target.ID == tg.ID {
					out = append(out, c.Pixels)
				}
			}
			return out
		}
		dp, dr := nearestReal(pick(sp), refs[tg.Class]), nearestReal(pick(sr), refs[tg.Class])
		ap := float64(rp.Targets[ti].Accepted) / float64(rp.Targets[ti].Attempts)
		ar := float64(rr.Targets[ti].Accepted) / float64(rr.Targets[ti].Attempts)
		t.Logf("%s: acceptance prior %.3f real %.3f; distance to the nearest real image prior %.2f real %.2f", tg.ID, ap, ar, dp, dr)
		if !(ar > ap) {
			t.Errorf("%s: real latents should be accepted more often (%.3f vs %.3f)", tg.ID, ar, ap)
		}
		sumDP, sumDR = sumDP+dp, sumDR+dr
	}
	// Summed over the targets (the per-target gap is small for shirts: 12.4 vs 11.7 when written).
	if !(sumDR < sumDP) {
		t.Errorf("real latents' accepted images should lie nearer real images: %.2f vs %.2f (summed over targets)", sumDR, sumDP)
	}
	cfg := DefaultConfig()
	cfg.Latent = LatentReal
	if _, err := Run(context.Background(), f.e, m, targets, Options{Config: cfg, Seed: 1, Calibration: f.cal}, &memSink{}); err == nil {
		t.Fatal("latent = real without latents ran")
	}
}

func maxAbs(a, b []float32) float64 {
	var m float64
	for i := range a {
		m = max(m, math.Abs(float64(a[i]-b[i])))
	}
	return m
}

// latent = "auto" is "real" for a generator with encode and "prior" for one without; the explicit
// sources pass through.
func TestAutoLatent(t *testing.T) {
	withEnc := &bindings.Model{Meta: bindings.Meta{HasEncode: true}}
	without := &bindings.Model{}
	for _, c := range []struct {
		latent string
		g      *bindings.Model
		want   string
	}{{LatentAuto, withEnc, LatentReal}, {LatentAuto, without, LatentPrior}, {LatentPrior, withEnc, LatentPrior}, {LatentReal, without, LatentReal}} {
		if got := resolveLatent(c.latent, c.g); got != c.want {
			t.Errorf("resolveLatent(%q, encode=%v) = %q, want %q", c.latent, c.g.Meta.HasEncode, got, c.want)
		}
	}
	c := DefaultConfig()
	c.Latent = LatentAuto
	if err := c.Validate(); err != nil {
		t.Fatalf("auto refused: %v", err)
	}
}

// BenchmarkRun times the pipeline's Go stages and queues around the engine calls: two targets of
// 100 accepted images at batch 64 into an in-memory sink (run with -benchmem for the allocations
// per run). bench/ measures the same path against its ceiling and the Python peer.
func BenchmarkRun(b *testing.B) {
	setup(b)
	f := &fixture
	targets := []plan.Target{{ID: "shirt", Class: shirt, ClassName: "shirt", Count: 100},
		{ID: "coat", Class: coat, ClassName: "coat", Count: 100}}
	cfg := DefaultConfig()
	cfg.BatchSize = 64
	m := Models{Generator: f.gen, GeneratorName: "zoo:cvae", Screen: f.screen}
	b.ResetTimer()
	var accepted, attempts int
	for i := 0; i < b.N; i++ {
		res, err := Run(context.Background(), f.e, m, targets, Options{Config: cfg, Seed: uint64(i), Round: 1, Calibration: f.cal}, &memSink{})
		if err != nil {
			b.Fatal(err)
		}
		accepted += res.Accepted
		attempts += res.Attempts
	}
	b.ReportMetric(float64(accepted)/b.Elapsed().Seconds(), "accepted/s")
	b.ReportMetric(float64(attempts)/b.Elapsed().Seconds(), "attempts/s")
}

// latent = "transfer" decodes latents of real images of the confused classes as the target's class:
// deterministic for a seed, the accepted shirts lie nearer the donor classes' real images than
// shirts drawn between real shirts' latents do, and a target with no confused class draws from
// every other class.
func TestTransferLatents(t *testing.T) {
	setup(t)
	f := &fixture
	lat, err := EncodeReal(f.e, f.gen, f.ds, 200, false)
	if err != nil {
		t.Fatal(err)
	}
	const tshirt, pullover = 0, 2
	confused := []plan.Confuser{{Class: tshirt, Name: "tshirt_top", Share: 0.6}, {Class: pullover, Name: "pullover", Share: 0.3}}
	if d := lat.donors(shirt, confused); len(d) != 2 || d[0] != tshirt || d[1] != pullover {
		t.Fatalf("donors %v, want the confused classes [0 2]", d)
	}
	if d := lat.donors(shirt, nil); len(d) != 9 {
		t.Fatalf("donors without confusers %v, want the 9 other classes", d)
	}
	m := Models{Generator: f.gen, GeneratorName: "zoo:cvae", Screen: f.screen}
	targets := []plan.Target{{ID: "shirt", Class: shirt, ClassName: "shirt", Count: 80, ConfusedWith: confused}}
	gen := func(latent string) (*Result, *memSink) {
		cfg := DefaultConfig()
		cfg.Latent = latent
		s := &memSink{}
		res, err := Run(context.Background(), f.e, m, targets, Options{Config: cfg, Seed: 5, Round: 1, Calibration: f.cal, Latents: lat}, s)
		if err != nil {
			t.Fatal(err)
		}
		return res, s
	}
	rt, st := gen(LatentTransfer)
	_, st2 := gen(LatentTransfer)
	rr, sr := gen(LatentReal)
	if len(st.acc) == 0 || len(st.acc) != len(st2.acc) {
		t.Fatalf("transfer accepted %d then %d images", len(st.acc), len(st2.acc))
	}
	for i := range st.acc {
		if maxAbs(st.acc[i].Pixels, st2.acc[i].Pixels) != 0 {
			t.Fatalf("same seed, image %d differs", i)
		}
	}
	var donors [][]float32
	for i, y := range f.ds.Labels {
		if (y == tshirt || y == pullover) && len(donors) < 600 {
			donors = append(donors, f.ds.Image(i))
		}
	}
	pix := func(s *memSink) (out [][]float32) {
		for _, c := range s.acc {
			out = append(out, c.Pixels)
		}
		return out
	}
	dt, dr := nearestReal(pix(st), donors), nearestReal(pix(sr), donors)
	t.Logf("shirt: acceptance transfer %d/%d, real %d/%d; distance to the nearest t-shirt or pullover: transfer %.2f, real %.2f",
		rt.Targets[0].Accepted, rt.Targets[0].Attempts, rr.Targets[0].Accepted, rr.Targets[0].Attempts, dt, dr)
	if !(dt < dr) {
		t.Errorf("transferred shirts should lie nearer the donor classes' images: %.2f vs %.2f", dt, dr)
	}
}

// generate.blend: a target's images are drawn between its real latents and its confusers', carry
// a soft label toward a confuser of at most Blend, and pass the screen on the two classes'
// probability together; the same seed gives the same blends; a target without confusers gets hard
// labels.
func TestBlends(t *testing.T) {
	setup(t)
	f := &fixture
	lat, err := EncodeReal(f.e, f.gen, f.ds, 200, false)
	if err != nil {
		t.Fatal(err)
	}
	const tshirt, pullover = 0, 2
	confused := []plan.Confuser{{Class: tshirt, Name: "tshirt_top", Share: 0.6}, {Class: pullover, Name: "pullover", Share: 0.3}}
	if d, sh := lat.blendDonors(shirt, confused); len(d) != 2 || sh[0] != 0.6 {
		t.Fatalf("blend donors %v %v", d, sh)
	}
	m := Models{Generator: f.gen, GeneratorName: "zoo:cvae", Screen: f.screen}
	run := func(targets []plan.Target, thr float32) (*Result, *memSink) {
		cfg := DefaultConfig()
		cfg.Latent, cfg.Blend, cfg.ProbThreshold = LatentReal, 0.4, thr
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		s := &memSink{}
		res, err := Run(context.Background(), f.e, m, targets, Options{Config: cfg, Seed: 9, Round: 1, Calibration: f.cal, Latents: lat}, s)
		if err != nil {
			t.Fatal(err)
		}
		return res, s
	}
	targets := []plan.Target{{ID: "shirt", Class: shirt, ClassName: "shirt", Count: 60, ConfusedWith: confused}}
	res, s := run(targets, 0.6)
	_, s2 := run(targets, 0.6)
	if len(s.acc) == 0 || len(s.acc) != len(s2.acc) {
		t.Fatalf("blends accepted %d then %d", len(s.acc), len(s2.acc))
	}
	donors := map[int]int{}
	for i, c := range s.acc {
		if c.MixWith != tshirt && c.MixWith != pullover || !(c.MixWeight > 0 && c.MixWeight <= 0.4) {
			t.Fatalf("candidate %d: soft label %v of class %d, want (0, 0.4] of t-shirt or pullover", i, c.MixWeight, c.MixWith)
		}
		if !(c.ScreenProb >= 0.6) {
			t.Fatalf("candidate %d passed with screen probability %v < 0.6", i, c.ScreenProb)
		}
		if c2 := s2.acc[i]; c2.MixWith != c.MixWith || c2.MixWeight != c.MixWeight || maxAbs(c.Pixels, c2.Pixels) != 0 {
			t.Fatalf("same seed, blend %d differs", i)
		}
		donors[c.MixWith]++
	}
	t.Logf("blends: %d/%d accepted, donors %v", res.Targets[0].Accepted, res.Targets[0].Attempts, donors)
	if donors[tshirt] == 0 || donors[pullover] == 0 {
		t.Errorf("both confusers should be drawn: %v", donors)
	}
	// Without confusers the images are plain draws between real shirts, with hard labels.
	_, hard := run([]plan.Target{{ID: "shirt", Class: shirt, ClassName: "shirt", Count: 20}}, 0.6)
	for _, c := range hard.acc {
		if c.MixWeight != 0 {
			t.Fatalf("a target without confusers got a soft label %v", c.MixWeight)
		}
	}
}

// prob_calibrated: the screen's threshold for a class is a percentile of its probability on real
// images of the class, and the argmax need not agree. Shirts, which the briefly trained screen
// mostly calls something else, then pass at about the rate real shirts would; every accepted image
// reaches its class's threshold.
func TestCalibratedScreen(t *testing.T) {
	setup(t)
	f := &fixture
	cfg := DefaultConfig()
	cfg.ProbThreshold, cfg.ProbCalibrated, cfg.ConfThreshold = 0.5, true, 0
	o, err := NewOptions(f.e, f.gen, f.screen, f.ds, cfg, 4, 1)
	if err != nil {
		t.Fatal(err)
	}
	s := o.Calibration.Screen[shirt]
	if len(s) != 500 || !slices.IsSorted(s) {
		t.Fatalf("screen calibration of shirts: %d values, sorted %v", len(s), slices.IsSorted(s))
	}
	thr := o.Calibration.ScreenThreshold(shirt, 0.5)
	if thr != s[249] || o.Calibration.ScreenThreshold(shirt, 0) != s[0] || o.Calibration.ScreenThreshold(shirt, 1) != s[499] {
		t.Fatalf("thresholds %v %v %v, want the 250th, first and last of the sorted probabilities", thr, o.Calibration.ScreenThreshold(shirt, 0), o.Calibration.ScreenThreshold(shirt, 1))
	}
	m := Models{Generator: f.gen, GeneratorName: "zoo:cvae", Screen: f.screen}
	targets := []plan.Target{{ID: "shirt", Class: shirt, ClassName: "shirt", Count: 60}}
	run := func(c Config) (*Result, *memSink) {
		o.Config = c
		sk := &memSink{}
		res, err := Run(context.Background(), f.e, m, targets, o, sk)
		if err != nil {
			t.Fatal(err)
		}
		return res, sk
	}
	rc, sc := run(cfg)
	fixed := cfg
	fixed.ProbThreshold, fixed.ProbCalibrated = 0.9, false
	rf, _ := run(fixed)
	ac := float64(rc.Targets[0].Accepted) / float64(rc.Targets[0].Attempts)
	af := float64(rf.Targets[0].Accepted) / float64(rf.Targets[0].Attempts)
	t.Logf("shirt: threshold %.3f at the median real shirt; acceptance calibrated %.3f (prob rejections %d), fixed 0.9 %.3f (label rejections %d)",
		thr, ac, rc.Targets[0].Rejected[ReasonProb], af, rf.Targets[0].Rejected[ReasonLabel])
	if !(ac > af) {
		t.Errorf("calibrated acceptance %.3f not above the fixed threshold's %.3f", ac, af)
	}
	// The same threshold as a plain probability, argmax check kept: the calibrated rule must pass
	// more, the rows whose argmax is another class but whose shirt probability reaches it.
	same := cfg
	same.ProbThreshold, same.ProbCalibrated = thr, false
	rs, _ := run(same)
	as := float64(rs.Targets[0].Accepted) / float64(rs.Targets[0].Attempts)
	if !(ac > as) {
		t.Errorf("calibrated acceptance %.3f not above the same threshold with the argmax check (%.3f)", ac, as)
	}
	if rc.Targets[0].Rejected[ReasonLabel] != 0 {
		t.Errorf("calibrated run counted %d label rejections; the argmax is not a criterion there", rc.Targets[0].Rejected[ReasonLabel])
	}
	if len(sc.acc) == 0 {
		t.Fatal("nothing accepted")
	}
	for i, c := range sc.acc {
		if c.ScreenProb < thr {
			t.Fatalf("accepted image %d at screen probability %.3f < the class threshold %.3f", i, c.ScreenProb, thr)
		}
	}
}

// With condition_content = "real" a conditioned target's images are real training images of its
// class degraded at the target's severities: all accepted as drawn (no screen, no duplicate check),
// each the native blur of the real image its provenance names; a target without a condition is
// still drawn from the generator, and the draw is deterministic for a seed.
func TestConditionContentReal(t *testing.T) {
	setup(t)
	f := &fixture
	targets := []plan.Target{{ID: "shirt", Class: shirt, ClassName: "shirt", Count: 20},
		{ID: "shirt/blurry", Class: shirt, ClassName: "shirt", Condition: "blur", SeverityMin: 0.5, SeverityMax: 0.9, Count: 150}}
	cfg := DefaultConfig()
	cfg.ConditionContent = ContentReal
	cfg.BatchSize = 64
	m := Models{Generator: f.gen, Screen: f.screen}
	gen := func(seed uint64) (*Result, *memSink) {
		o, err := NewOptions(f.e, f.gen, f.screen, f.ds, cfg, seed, 1)
		if err != nil {
			t.Fatal(err)
		}
		sink := &memSink{}
		res, err := Run(context.Background(), f.e, m, targets, o, sink)
		if err != nil {
			t.Fatal(err)
		}
		return res, sink
	}
	res, sink := gen(3)
	if tr := res.Targets[1]; tr.Accepted != 150 || tr.Attempts != 150 || len(tr.Rejected) != 0 {
		t.Fatalf("real-content target: %+v, want 150 accepted of 150 attempts, nothing rejected", tr)
	}
	byRef := map[string]int{}
	for i := range f.ds.Labels {
		byRef["real:"+f.ds.RefOf(i)] = i
	}
	sz := f.ds.C * f.ds.H * f.ds.W
	distinct := map[string]bool{}
	for _, c := range sink.acc {
		if c.Target.Condition == "" {
			if c.Content != "" {
				t.Fatalf("unconditioned target's image has content %q, want the generator's", c.Content)
			}
			continue
		}
		i, ok := byRef[c.Content]
		if !ok || f.ds.Labels[i] != shirt {
			t.Fatalf("content %q is not a real shirt of the training set", c.Content)
		}
		distinct[c.Content] = true
		sev := c.Attrs["blur"]
		if sev < 0.5 || sev > 0.9 || c.Conditions["blur"] != data.ByNative {
			t.Fatalf("severity %v by %q: want in [0.5, 0.9] by %s", sev, c.Conditions["blur"], data.ByNative)
		}
		x, err := f.e.FromF32(f.ds.Images[i*sz:(i+1)*sz], 1, 1, 28, 28)
		if err != nil {
			t.Fatal(err)
		}
		bx, err := f.e.ConditionNamed(x, "blur", []float32{sev}, c.Seed)
		x.Close()
		if err != nil {
			t.Fatal(err)
		}
		want, err := bx.F32()
		bx.Close()
		if err != nil {
			t.Fatal(err)
		}
		var diff, moved float64
		for k, v := range want {
			diff = max(diff, math.Abs(float64(v-c.Pixels[k])))
			moved = max(moved, math.Abs(float64(v-f.ds.Images[i*sz+k])))
		}
		if diff > 1e-5 || moved < 1e-3 {
			t.Fatalf("image from %s: max difference %.2g from its real image blurred at %.2f (want ~0), %.2g from the clean one (want > 0)", c.Content, diff, sev, moved)
		}
	}
	if len(distinct) < 50 {
		t.Fatalf("150 draws used %d distinct real shirts: the draw is not spread over the class", len(distinct))
	}
	_, again := gen(3)
	_, other := gen(4)
	same, diff := true, false
	for i, c := range sink.acc {
		same = same && again.acc[i].Content == c.Content
		diff = diff || other.acc[i].Content != c.Content
	}
	if !same || !diff {
		t.Fatalf("same seed same contents: %v; other seed different contents: %v", same, diff)
	}
}

// latent = "edit": each image is its named real image plus the generator's change of shape. With
// the latent pinned to the real image's own (reach and temperature near 0) the change is zero and
// every image must equal its real image; with the default reach it must differ from it, yet stay
// nearer to it than the decoder's own sample from the same latent does.
func TestEditLatents(t *testing.T) {
	setup(t)
	f := &fixture
	m := Models{Generator: f.gen, GeneratorName: "zoo:cvae", Screen: f.screen}
	targets := []plan.Target{{ID: "shirt", Class: shirt, ClassName: "shirt", Count: 40}}
	gen := func(latent string, reach, temp float32, seed uint64) *memSink {
		cfg := DefaultConfig()
		cfg.Latent, cfg.EditReach, cfg.Temperature = latent, reach, temp
		cfg.ProbThreshold, cfg.ProbCalibrated, cfg.ConfThreshold = 0, true, 0
		o, err := NewOptions(f.e, f.gen, f.screen, f.ds, cfg, seed, 1)
		if err != nil {
			t.Fatal(err)
		}
		o.Dedup = nil
		s := &memSink{}
		if _, err := Run(context.Background(), f.e, m, targets, o, s); err != nil {
			t.Fatal(err)
		}
		if len(s.acc) != 40 {
			t.Fatalf("%s: %d accepted, want 40", latent, len(s.acc))
		}
		return s
	}
	realOf := func(c *Candidate) []float32 {
		// The fixture is the first 12000 training images, so the file's index is the set's.
		var i int
		_, num, _ := strings.Cut(strings.TrimPrefix(c.Content, "edit:"), "#")
		if _, err := fmt.Sscan(num, &i); err != nil || !strings.HasPrefix(c.Content, "edit:") || int(f.ds.Labels[i]) != shirt {
			t.Fatalf("content %q: want edit:REF#INDEX of a real shirt (%v)", c.Content, err)
		}
		return f.ds.Image(i)
	}
	for _, c := range gen(LatentEdit, 1e-6, 1e-6, 5).acc {
		if d := maxAbs(c.Pixels, realOf(c)); d > 1e-4 {
			t.Fatalf("pinned edit differs from its real image by %g", d)
		}
	}
	edits, again, plain := gen(LatentEdit, 0, 1, 6), gen(LatentEdit, 0, 1, 6), gen(LatentReal, 0.5, 1, 6)
	var dEdit, dPlain float64
	for i, c := range edits.acc {
		if maxAbs(c.Pixels, again.acc[i].Pixels) != 0 || c.Content != again.acc[i].Content {
			t.Fatalf("same seed, edit %d differs", i)
		}
		x := realOf(c)
		if maxAbs(c.Pixels, x) < 0.05 {
			t.Errorf("edit %d is its real image unchanged", i)
		}
		dEdit += meanAbs(c.Pixels, x)
		dPlain += meanAbs(plain.acc[i].Pixels, x)
	}
	t.Logf("mean distance to the real image: edits %.4f, plain samples %.4f", dEdit/40, dPlain/40)
	if !(dEdit < 0.7*dPlain) {
		t.Errorf("edits lie %.4f from their real images on average, plain samples %.4f: want edits nearer", dEdit/40, dPlain/40)
	}
}

func meanAbs(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += math.Abs(float64(a[i] - b[i]))
	}
	return s / float64(len(a))
}

// The sampler looks ahead to the next target while the current one's last batches are scored,
// but the sink takes the targets in plan order: each target's records come as one block, in plan
// order, and every quota is met. A target that spends its attempts without meeting its quota
// (all rejected) must not hold up the ones after it: the run ends with each one's full attempts.
func TestTargetsReachTheSinkInPlanOrder(t *testing.T) {
	setup(t)
	f := &fixture
	m := Models{Generator: f.gen, GeneratorName: "zoo:cvae", Screen: f.screen}
	targets := []plan.Target{{ID: "bag", Class: 8, ClassName: "bag", Count: 30},
		{ID: "trouser", Class: 1, ClassName: "trouser", Count: 70},
		{ID: "sneaker", Class: 7, ClassName: "sneaker", Count: 50}}
	cfg := DefaultConfig()
	cfg.BatchSize = 16
	s := &memSink{}
	res := run(t, m, targets, cfg, 9, s)
	var order []string
	for _, c := range s.acc {
		if len(order) == 0 || order[len(order)-1] != c.Target.ID {
			order = append(order, c.Target.ID)
		}
	}
	if !slices.Equal(order, []string{"bag", "trouser", "sneaker"}) || res.Accepted != 150 {
		t.Fatalf("records by target %v, %d accepted: want one block per target in plan order, 150", order, res.Accepted)
	}
	cfg.ProbThreshold, cfg.ConfThreshold, cfg.MaxAttempts = 1, 1, 2 // nothing passes both at 1: every target runs dry
	res = run(t, m, targets, cfg, 9, &memSink{})
	for i, tr := range res.Targets {
		if tr.Accepted != 0 || tr.Attempts != 2*targets[i].Count {
			t.Errorf("%s: %d accepted after %d attempts, want 0 after %d", tr.ID, tr.Accepted, tr.Attempts, 2*targets[i].Count)
		}
	}
}
