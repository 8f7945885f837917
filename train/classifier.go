package train

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/gam-native/gam-native/bindings"
	"github.com/gam-native/gam-native/data"
	"github.com/gam-native/gam-native/progress"
)

// ClassifierOptions configure one training run of a classifier. The zero values of the remedy
// fields mean plain training (ERM).
type ClassifierOptions struct {
	Epochs    int     `toml:"epochs"`
	BatchSize int     `toml:"batch_size"`
	LR        float32 `toml:"lr"`
	Seed      uint64  `toml:"seed"`
	// Sampling is SampleUniform (default) or SampleBalanced (class-balanced oversampling).
	Sampling string `toml:"sampling"`
	// Reweight weighs each class's loss by n_max / n_c (class-balanced re-weighting).
	Reweight bool `toml:"reweight"`
	// Augment applies random shifts (and flips when Flip) to every training image.
	Augment bool `toml:"augment"`
	Flip    bool `toml:"flip"`
	// MixupAlpha > 0 trains on mixup batches with lambda ~ Beta(alpha, alpha).
	MixupAlpha float64 `toml:"mixup_alpha"`
	// BalancedSoftmax adds the log class prior of the epoch's draws to the logits inside the loss
	// (balanced softmax / logit adjustment, Ren et al. 2020; Menon et al. 2021): the model is
	// trained for a balanced test set without resampling. With uniform sampling the prior is the
	// pool's class frequencies (real and generated images alike); with balanced sampling it is
	// flat and changes nothing.
	BalancedSoftmax bool `toml:"balanced_softmax"`
	// GenFrom defers the generated images: for the first GenFrom of the epochs (a fraction in
	// [0, 1)) the classifier draws real images only, then real and generated (deferred
	// re-balancing, as DRW, M2m and RSG switch theirs on late). 0: generated images from the start.
	GenFrom float64 `toml:"gen_from"`
	// GenFraction, with balanced sampling, is the share of each class's draws taken from its
	// generated images (when it has any); GenWeight is their loss weight (0 means 1).
	GenFraction float64 `toml:"gen_fraction"`
	GenWeight   float32 `toml:"gen_weight"`
	// GenMix is how GenFraction applies per class: GenMixFixed (default) or GenMixUnion.
	GenMix string `toml:"gen_mix"`
	// Conditions (blur, shadow, low_contrast, noise) are applied by the native operations to real
	// training images, each with probability CondProb (0.25 when 0) at a severity uniform in
	// [0.2, 1]: a screen that must judge degraded images is trained on some (docs/job.md).
	Conditions []string `toml:"conditions"`
	CondProb   float64  `toml:"cond_prob"`
	// LRSchedule is LRConstant (default: LR throughout, the reference protocol) or LRCosine (LR
	// decayed to 0 over the run by a half cosine, step by step: the last model is then a settled
	// one instead of one noisy Adam step among many; docs/efficacy-log.md, "Training noise").
	LRSchedule string `toml:"lr_schedule"`
	// Label shown on the progress bar.
	Label string `toml:"-"`
	// Ctx, when set, is checked between batches: a cancelled one ends training with its error.
	Ctx context.Context `toml:"-" json:"-"`
	// OOM, when set, receives the out-of-memory recovery: a step that runs out of engine memory is
	// run again in halves (stepHalving).
	OOM *OOMStats `toml:"-"`
}

// Learning-rate schedules (ClassifierOptions.LRSchedule).
const (
	LRConstant = "constant"
	LRCosine   = "cosine"
)

// CheckLRSchedule accepts "" (the default, constant), LRConstant and LRCosine.
func CheckLRSchedule(s string) error {
	if s != "" && s != LRConstant && s != LRCosine {
		return fmt.Errorf("%q: want %q or %q", s, LRConstant, LRCosine)
	}
	return nil
}

// lrAt is the learning rate of step t of total under schedule.
func lrAt(schedule string, lr float32, t, total int) float32 {
	if schedule != LRCosine || total <= 1 {
		return lr
	}
	return float32(0.5 * float64(lr) * (1 + math.Cos(math.Pi*float64(t)/float64(total))))
}

// Defaults fills zero fields with the plain PyTorch reference's settings (docs/efficacy.md,
// "Protocol"): 12 epochs, Adam 1e-3, batch 128.
func (o *ClassifierOptions) Defaults() {
	if o.Epochs == 0 {
		o.Epochs = 12
	}
	if o.BatchSize == 0 {
		o.BatchSize = 128
	}
	if o.LR == 0 {
		o.LR = 1e-3
	}
	if o.Sampling == "" {
		o.Sampling = SampleUniform
	}
	if o.GenWeight == 0 {
		o.GenWeight = 1
	}
	if o.GenMix == "" {
		o.GenMix = GenMixFixed
	}
	if o.CondProb == 0 {
		o.CondProb = 0.25
	}
	if o.Label == "" {
		o.Label = "train classifier"
	}
	if o.LRSchedule == "" {
		o.LRSchedule = LRConstant
	}
}

// Classifier trains m on realDS plus the generated images genDS (may be nil) and returns the
// mean loss of each epoch.
func Classifier(e *bindings.Engine, m *bindings.Model, realDS, genDS *data.Dataset, o ClassifierOptions) ([]float32, error) {
	o.Defaults()
	if o.GenMix != GenMixFixed && o.GenMix != GenMixUnion && o.GenMix != GenMixReplace {
		return nil, fmt.Errorf("gen_mix %q: want %q, %q or %q", o.GenMix, GenMixFixed, GenMixUnion, GenMixReplace)
	}
	if o.GenMix == GenMixReplace && o.Sampling != SampleUniform {
		return nil, fmt.Errorf("gen_mix %q replaces uniform draws: it needs sampling %q", GenMixReplace, SampleUniform)
	}
	if o.Sampling != SampleUniform && o.Sampling != SampleBalanced {
		return nil, fmt.Errorf("sampling %q: want %q or %q", o.Sampling, SampleUniform, SampleBalanced)
	}
	if err := CheckLRSchedule(o.LRSchedule); err != nil {
		return nil, fmt.Errorf("lr_schedule %w", err)
	}
	if o.BalancedSoftmax && o.Reweight {
		return nil, fmt.Errorf("balanced_softmax and reweight both correct for the class prior: choose one")
	}
	k := m.Meta.NumClasses
	if genDS == nil {
		genDS = &data.Dataset{C: realDS.C, H: realDS.H, W: realDS.W, ClassNames: realDS.ClassNames}
	}
	// Soft labels (generated blends) need the soft-target step, which has no class weights.
	soft := o.BalancedSoftmax || genDS.Mix != nil
	if genDS.Mix != nil && o.Reweight {
		return nil, fmt.Errorf("the generated images carry soft labels (blends), which reweight cannot weight: use balanced_softmax or no reweight")
	}
	if genDS.Mix != nil && len(genDS.Mix) != genDS.Len() {
		return nil, fmt.Errorf("the generated images have %d soft labels for %d images", len(genDS.Mix), genDS.Len())
	}
	if genDS.Len() > 0 && genDS.ImageSize() != realDS.ImageSize() {
		return nil, fmt.Errorf("generated images are %dx%dx%d, real ones %dx%dx%d", genDS.C, genDS.H, genDS.W, realDS.C, realDS.H, realDS.W)
	}
	if err := e.Seed(o.Seed); err != nil {
		return nil, err
	}
	if !(o.GenFrom >= 0 && o.GenFrom < 1) {
		return nil, fmt.Errorf("gen_from = %v: want a fraction of the epochs in [0, 1)", o.GenFrom)
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x6a09e667f3bcc908))
	dr := newDrawer(realDS.Labels, genDS.Labels, k, o.Sampling, o.GenFraction, o.GenMix, rng)
	// The real-only epochs of a deferred schedule draw as if there were no generated images.
	realOnly := dr
	genStart := genStartEpoch(o.GenFrom, o.Epochs)
	if genStart > 0 && genDS.Len() > 0 {
		realOnly = newDrawer(realDS.Labels, nil, k, o.Sampling, o.GenFraction, o.GenMix, rng)
	}

	var classW *bindings.Tensor
	// Re-weighting with generated images in a uniform pool: per-row weights that give every class
	// the same total and split it (1-f) real, f generated, as balanced sampling splits its draws.
	var rowW *mixWeights
	if o.Reweight && o.Sampling == SampleUniform && genDS.Len() > 0 && o.GenFraction > 0 {
		rowW = newMixWeights(realDS.Labels, genDS.Labels, k, o.GenFraction, o.GenMix)
	} else if o.Reweight {
		w := reweightFactors(realDS.Labels, k)
		t, err := e.FromF32(w, int64(k))
		if err != nil {
			return nil, err
		}
		classW = t
		defer classW.Close()
	}
	tr, err := m.NewTrainer(o.LR, o.LR)
	if err != nil {
		return nil, err
	}
	defer tr.Close()

	sz := realDS.ImageSize()
	bs := o.BatchSize
	px := make([]float32, bs*sz)
	ys := make([]int64, bs)
	isGen := make([]bool, bs)
	var mix []data.Mix
	if genDS.Mix != nil {
		mix = make([]data.Mix, bs)
	}
	var beta distuv.Beta
	if o.MixupAlpha > 0 {
		beta = distuv.Beta{Alpha: o.MixupAlpha, Beta: o.MixupAlpha, Src: rngSource{rng}}
	}
	steps := (dr.n + bs - 1) / bs
	bar := progress.New(o.Epochs*steps, o.Label)
	defer bar.Done()
	var hist []float32
	var bias []float32
	chunk := bs
	for ep := 0; ep < o.Epochs; ep++ {
		d := dr
		if ep < genStart {
			d = realOnly
		}
		idx := d.epoch()
		if o.BalancedSoftmax {
			bias = logPrior(d.classPrior())
		}
		var sum float64
		for s := 0; s < steps; s++ {
			if o.Ctx != nil && o.Ctx.Err() != nil {
				return hist, fmt.Errorf("%s: interrupted in epoch %d/%d: %w", o.Label, ep+1, o.Epochs, o.Ctx.Err())
			}
			lo, hi := s*bs, min((s+1)*bs, len(idx))
			n := hi - lo
			gather(realDS, genDS, idx[lo:hi], px, ys, isGen, mix)
			if o.Augment {
				augment(px[:n*sz], n, realDS.C, realDS.H, realDS.W, o.Flip, rng)
			}
			if o.LRSchedule != LRConstant {
				lr := lrAt(o.LRSchedule, o.LR, ep*steps+s, o.Epochs*steps)
				if err := tr.SetLR(lr, lr); err != nil {
					return hist, err
				}
			}
			var lam float64 = -1
			if o.MixupAlpha > 0 {
				lam = beta.Rand()
			}
			loss, err := stepHalving(n, &chunk, o.OOM, o.Label, func(lo, hi int) (float32, error) {
				if soft {
					var mx []data.Mix
					if mix != nil {
						mx = mix[lo:hi]
					}
					return softStep(e, tr, px[lo*sz:hi*sz], ys[lo:hi], isGen[lo:hi], mx, realDS, k, bias, o.GenWeight, lam, o.Conditions, o.CondProb, rng)
				}
				return step(e, tr, px[lo*sz:hi*sz], ys[lo:hi], isGen[lo:hi], realDS, classW, rowW, o.GenWeight, lam, o.Conditions, o.CondProb, rng)
			})
			if err != nil {
				return hist, err
			}
			sum += float64(loss)
			bar.Add(1, fmt.Sprintf("epoch %d/%d loss %.4f", ep+1, o.Epochs, sum/float64(s+1)))
		}
		hist = append(hist, float32(sum/float64(steps)))
	}
	return hist, nil
}

// step uploads one batch and takes one weighted step. With mixup (lam >= 0) the batch is mixed
// with a permutation of itself and trained on both labels, weighted lam and 1-lam.
func step(e *bindings.Engine, tr *bindings.Trainer, px []float32, ys []int64, isGen []bool, ds *data.Dataset,
	classW *bindings.Tensor, rowW *mixWeights, genWeight float32, lam float64, conds []string, condProb float64, rng *rand.Rand) (float32, error) {
	n := len(ys)
	sw := make([]float32, n)
	anyW := rowW != nil
	for i := range sw {
		sw[i] = 1
		if rowW != nil {
			sw[i] = rowW.real[ys[i]]
			if isGen[i] {
				sw[i] = rowW.gen[ys[i]]
			}
		}
		if isGen[i] && genWeight != 1 {
			sw[i] *= genWeight
			anyW = true
		}
	}
	labels := ys
	if lam >= 0 {
		perm := rng.Perm(n)
		mixed := mixPixels(px, perm, lam, ds.ImageSize())
		px = append(mixed, mixed...)
		labels = make([]int64, 2*n)
		w2 := make([]float32, 2*n)
		for i := 0; i < n; i++ {
			labels[i], labels[n+i] = ys[i], ys[perm[i]]
			w2[i], w2[n+i] = float32(lam)*sw[i], float32(1-lam)*sw[perm[i]]
		}
		sw, anyW = w2, true
		n *= 2
	}
	x, err := e.FromF32(px, int64(n), int64(ds.C), int64(ds.H), int64(ds.W))
	if err != nil {
		return 0, err
	}
	defer func() { x.Close() }()
	if x, err = applyConditions(e, x, n, isGen, conds, condProb, rng); err != nil {
		return 0, err
	}
	y, err := e.FromI64(labels, int64(n))
	if err != nil {
		return 0, err
	}
	defer y.Close()
	var swt *bindings.Tensor
	if anyW {
		if swt, err = e.FromF32(sw, int64(n)); err != nil {
			return 0, err
		}
		defer swt.Close()
	}
	return tr.StepClassifier(x, y, classW, swt)
}

// applyConditions degrades real rows of x with each condition at probability condProb (mixup
// rows count as real: both halves are mixed); severity 0 leaves a row as it is. It returns the
// new x (the old one closed) or x itself; on error x is left for the caller to close.
func applyConditions(e *bindings.Engine, x *bindings.Tensor, n int, isGen []bool, conds []string, condProb float64, rng *rand.Rand) (*bindings.Tensor, error) {
	for _, name := range conds {
		sev := make([]float32, n)
		any := false
		for i := range sev {
			if (i >= len(isGen) || !isGen[i]) && rng.Float64() < condProb {
				sev[i], any = 0.2+0.8*rng.Float32(), true
			}
		}
		if !any {
			continue
		}
		nx, err := e.ConditionNamed(x, name, sev, rng.Uint64())
		if err != nil {
			return x, err
		}
		x.Close()
		x = nx
	}
	return x, nil
}

// genStartEpoch is the first epoch (from 0) that draws generated images under GenFrom: the
// nearest to genFrom of the run, and never past the last epoch.
func genStartEpoch(genFrom float64, epochs int) int {
	return min(int(math.Round(genFrom*float64(epochs))), max(epochs-1, 0))
}

// softStep is step with soft targets: one forward over the batch, each row's target one-hot or
// its blend's two classes (mix, nil when every label is hard), a mixup pair's two targets at lam
// and 1-lam, and bias (balanced softmax's log prior, or nil) added to the logits.
func softStep(e *bindings.Engine, tr *bindings.Trainer, px []float32, ys []int64, isGen []bool, mix []data.Mix, ds *data.Dataset, k int,
	bias []float32, genWeight float32, lam float64, conds []string, condProb float64, rng *rand.Rand) (float32, error) {
	n := len(ys)
	tg := softTargets(ys, mix, k)
	sw := make([]float32, n)
	anyW := false
	for i := range sw {
		sw[i] = 1
		if isGen[i] && genWeight != 1 {
			sw[i], anyW = genWeight, true
		}
	}
	if lam >= 0 {
		perm := rng.Perm(n)
		px = mixPixels(px, perm, lam, ds.ImageSize())
		mt := make([]float32, n*k)
		w2 := make([]float32, n)
		for i := 0; i < n; i++ {
			a, b := tg[i*k:(i+1)*k], tg[perm[i]*k:(perm[i]+1)*k]
			for c := range a {
				mt[i*k+c] = float32(lam)*a[c] + float32(1-lam)*b[c]
			}
			w2[i] = float32(lam)*sw[i] + float32(1-lam)*sw[perm[i]]
		}
		tg, sw = mt, w2
	}
	x, err := e.FromF32(px, int64(n), int64(ds.C), int64(ds.H), int64(ds.W))
	if err != nil {
		return 0, err
	}
	defer func() { x.Close() }()
	if x, err = applyConditions(e, x, n, isGen, conds, condProb, rng); err != nil {
		return 0, err
	}
	t, err := e.FromF32(tg, int64(n), int64(k))
	if err != nil {
		return 0, err
	}
	defer t.Close()
	var bt, swt *bindings.Tensor
	if bias != nil {
		if bt, err = e.FromF32(bias, int64(k)); err != nil {
			return 0, err
		}
		defer bt.Close()
	}
	if anyW {
		if swt, err = e.FromF32(sw, int64(n)); err != nil {
			return 0, err
		}
		defer swt.Close()
	}
	return tr.StepClassifierSoft(x, t, bt, swt)
}

// softTargets is the [n, k] row-major target of each label: one-hot, or 1-w on the label and w on
// the blend's other class.
func softTargets(ys []int64, mix []data.Mix, k int) []float32 {
	tg := make([]float32, len(ys)*k)
	for i, y := range ys {
		tg[i*k+int(y)] = 1
		if mix != nil && mix[i].Weight > 0 {
			tg[i*k+int(y)] -= mix[i].Weight
			tg[i*k+int(mix[i].With)] += mix[i].Weight
		}
	}
	return tg
}

// mixPixels is mixup's input: row i is lam of image i and 1-lam of image perm[i], in a new slice.
func mixPixels(px []float32, perm []int, lam float64, sz int) []float32 {
	mixed := make([]float32, len(px))
	for i, j := range perm {
		a, b := px[i*sz:(i+1)*sz], px[j*sz:(j+1)*sz]
		for p := range a {
			mixed[i*sz+p] = float32(lam)*a[p] + float32(1-lam)*b[p]
		}
	}
	return mixed
}

// logPrior is log p_c of a class distribution, with classes that are never drawn at log of a
// tenth of the rarest drawn class (finite, and far below every class that is).
func logPrior(p []float64) []float32 {
	lo := 1.0
	for _, v := range p {
		if v > 0 {
			lo = min(lo, v)
		}
	}
	out := make([]float32, len(p))
	for c, v := range p {
		if v <= 0 {
			v = lo / 10
		}
		out[c] = float32(math.Log(v))
	}
	return out
}

// mixWeights are per-class loss weights of real and of generated rows for re-weighting over a
// pool of real and generated images.
type mixWeights struct{ real, gen []float32 }

// newMixWeights gives each class the same total weight N/k (N rows in all, so the mean row weight
// is 1), a share f_c of it to its generated rows and 1-f_c to its real ones: f_c = genFrac for a
// class with both (GenMixUnion: at most n_gen / (n_gen + n_real)), 1 with generated rows only, 0
// with real rows only.
func newMixWeights(realLabels, genLabels []int64, k int, genFrac float64, mix string) *mixWeights {
	nr, ng := make([]float64, k), make([]float64, k)
	for _, y := range realLabels {
		nr[y]++
	}
	for _, y := range genLabels {
		ng[y]++
	}
	present := 0
	for c := 0; c < k; c++ {
		if nr[c]+ng[c] > 0 {
			present++
		}
	}
	per := float64(len(realLabels)+len(genLabels)) / float64(max(present, 1))
	w := &mixWeights{real: make([]float32, k), gen: make([]float32, k)}
	for c := 0; c < k; c++ {
		f := 0.0
		switch {
		case ng[c] > 0 && nr[c] == 0:
			f = 1
		case ng[c] > 0:
			f = genShare(genFrac, mix, int(ng[c]), int(nr[c]))
		}
		if nr[c] > 0 {
			w.real[c] = float32(per * (1 - f) / nr[c])
		}
		if ng[c] > 0 {
			w.gen[c] = float32(per * f / ng[c])
		}
	}
	return w
}

// reweightFactors are n_max / n_c per class (1 for a class with no images), normalised to mean 1.
func reweightFactors(labels []int64, k int) []float32 {
	counts := make([]int, k)
	for _, y := range labels {
		counts[y]++
	}
	maxN := 0
	for _, c := range counts {
		maxN = max(maxN, c)
	}
	w := make([]float32, k)
	var sum float64
	for c, n := range counts {
		w[c] = 1
		if n > 0 {
			w[c] = float32(maxN) / float32(n)
		}
		sum += float64(w[c])
	}
	for c := range w {
		w[c] = float32(float64(w[c]) * float64(k) / sum)
	}
	return w
}

type rngSource struct{ r *rand.Rand }

func (s rngSource) Uint64() uint64 { return s.r.Uint64() }

// Predictions are a classifier's outputs over a dataset.
type Predictions struct {
	Pred  []int64   // argmax per image
	Probs []float32 // N*K softmax
	K     int
}

// Predict runs m over ds in batches and returns the argmax and softmax per image.
func Predict(e *bindings.Engine, m *bindings.Model, ds *data.Dataset, batch int) (*Predictions, error) {
	if batch <= 0 {
		batch = 512
	}
	k := m.Meta.NumClasses
	out := &Predictions{Pred: make([]int64, ds.Len()), Probs: make([]float32, ds.Len()*k), K: k}
	sz := ds.ImageSize()
	for lo := 0; lo < ds.Len(); lo += batch {
		hi := min(lo+batch, ds.Len())
		x, err := e.FromF32(ds.Images[lo*sz:hi*sz], int64(hi-lo), int64(ds.C), int64(ds.H), int64(ds.W))
		if err != nil {
			return nil, err
		}
		lt, err := m.Forward(x)
		x.Close()
		if err != nil {
			return nil, err
		}
		logits, err := lt.F32()
		lt.Close()
		if err != nil {
			return nil, err
		}
		for i := 0; i < hi-lo; i++ {
			row := logits[i*k : (i+1)*k]
			Softmax(row, out.Probs[(lo+i)*k:(lo+i+1)*k])
			best := 0
			for c := range row {
				if row[c] > row[best] {
					best = c
				}
			}
			out.Pred[lo+i] = int64(best)
		}
	}
	return out, nil
}

// Softmax writes the softmax of one row of logits into dst (len(logits)).
func Softmax(logits, dst []float32) {
	mx := logits[0]
	for _, v := range logits {
		mx = max(mx, v)
	}
	var s float64
	for c, v := range logits {
		ev := math.Exp(float64(v - mx))
		dst[c] = float32(ev)
		s += ev
	}
	for c := range dst {
		dst[c] = float32(float64(dst[c]) / s)
	}
}
