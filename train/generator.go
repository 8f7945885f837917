package train

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/gam-native/gam-native/bindings"
	"github.com/gam-native/gam-native/data"
	"github.com/gam-native/gam-native/progress"
)

// GeneratorOptions configure training a contract-v1 generator (VAE or GAN).
type GeneratorOptions struct {
	Epochs    int     `toml:"epochs"`
	BatchSize int     `toml:"batch_size"`
	LR        float32 `toml:"lr"`
	LRD       float32 `toml:"lr_d"`
	Seed      uint64  `toml:"seed"`
	// Balanced draws classes equally often, so the tail classes are learned as well as the head.
	Balanced bool `toml:"balanced"`
	// CondProb is the chance that each condition the generator lists in attr_names is applied
	// (by the native operation, at a severity uniform in [0.2, 1]) to a training image, with the
	// severity passed as its attribute: that is how the generator learns the condition.
	CondProb float64 `toml:"cond_prob"`
	Label    string  `toml:"-"`
	// Ctx, when set, is checked between batches: a cancelled one ends training with its error
	// (wrapping context.Canceled), never with a model reported as trained.
	Ctx context.Context `toml:"-" json:"-"`
	// OOM, when set, receives the out-of-memory recovery: a step that runs out of engine memory is
	// run again in halves (stepHalving).
	OOM *OOMStats `toml:"-"`
}

// Defaults fills zero fields: 20 epochs of class-balanced sampling (the reference cVAE's), Adam
// 1e-3 (2e-4 for a GAN), conditions on a quarter of the images.
func (o *GeneratorOptions) Defaults(kind string) {
	if o.Epochs == 0 {
		o.Epochs = 20
	}
	if o.BatchSize == 0 {
		o.BatchSize = 128
	}
	if o.LR == 0 {
		o.LR = 1e-3
		if kind == "gan" {
			o.LR = 2e-4
		}
	}
	if o.LRD == 0 {
		o.LRD = o.LR
	}
	if o.CondProb == 0 {
		o.CondProb = 0.25
	}
	if o.Label == "" {
		o.Label = "train " + kind
	}
}

// Generator trains g on ds and returns the mean loss per epoch (the discriminator's for a GAN).
func Generator(e *bindings.Engine, g *bindings.Model, ds *data.Dataset, o GeneratorOptions) ([]float32, error) {
	o.Defaults(g.Meta.Kind)
	if !g.Meta.Trainable {
		return nil, fmt.Errorf("generator %s has no training members: give it pre-trained", g.Path)
	}
	if err := e.Seed(o.Seed); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0xbb67ae8584caa73b))
	sampling := SampleUniform
	if o.Balanced {
		sampling = SampleBalanced
	}
	dr := newDrawer(ds.Labels, nil, g.Meta.NumClasses, sampling, 0, GenMixFixed, rng)
	tr, err := g.NewTrainer(o.LR, o.LRD)
	if err != nil {
		return nil, err
	}
	defer tr.Close()
	bs, sz := o.BatchSize, ds.ImageSize()
	px := make([]float32, bs*sz)
	ys := make([]int64, bs)
	isGen := make([]bool, bs)
	steps := (dr.n + bs - 1) / bs
	bar := progress.New(o.Epochs*steps, o.Label)
	defer bar.Done()
	var hist []float32
	var seed uint64 = o.Seed * 1000003
	chunk := bs
	for ep := 0; ep < o.Epochs; ep++ {
		idx := dr.epoch()
		var sum float64
		for s := 0; s < steps; s++ {
			if o.Ctx != nil && o.Ctx.Err() != nil {
				return hist, fmt.Errorf("%s: interrupted in epoch %d/%d: %w", o.Label, ep+1, o.Epochs, o.Ctx.Err())
			}
			lo, hi := s*bs, min((s+1)*bs, len(idx))
			n := hi - lo
			gather(ds, nil, idx[lo:hi], px, ys, isGen, nil)
			seed++
			loss, err := stepHalving(n, &chunk, o.OOM, o.Label, func(lo, hi int) (float32, error) {
				return generatorStep(e, g, tr, px[lo*sz:hi*sz], ys[lo:hi], ds, o.CondProb, seed, rng)
			})
			if err != nil {
				return hist, err
			}
			sum += float64(loss)
			bar.Add(1, fmt.Sprintf("epoch %d/%d loss %.3f", ep+1, o.Epochs, sum/float64(s+1)))
		}
		hist = append(hist, float32(sum/float64(steps)))
	}
	return hist, nil
}

func generatorStep(e *bindings.Engine, g *bindings.Model, tr *bindings.Trainer, px []float32, ys []int64, ds *data.Dataset,
	condProb float64, seed uint64, rng *rand.Rand) (float32, error) {
	n := len(ys)
	x, err := e.FromF32(px, int64(n), int64(ds.C), int64(ds.H), int64(ds.W))
	if err != nil {
		return 0, err
	}
	defer func() { x.Close() }()
	y, err := e.FromI64(ys, int64(n))
	if err != nil {
		return 0, err
	}
	defer y.Close()
	names := g.Meta.AttrNames
	var attrs *bindings.Tensor
	if len(names) > 0 {
		av := make([]float32, n*len(names))
		for j, name := range names {
			sev := make([]float32, n)
			any := false
			for i := range sev {
				if rng.Float64() < condProb {
					sev[i] = 0.2 + 0.8*rng.Float32()
					av[i*len(names)+j] = sev[i]
					any = true
				}
			}
			if !any {
				continue
			}
			nx, err := e.ConditionNamed(x, name, sev, seed+uint64(j)*7919)
			if err != nil {
				return 0, err
			}
			x.Close()
			x = nx
		}
		if attrs, err = e.FromF32(av, int64(n), int64(len(names))); err != nil {
			return 0, err
		}
		defer attrs.Close()
	}
	if g.Meta.Kind == "gan" {
		z, err := e.Randn(1, seed, int64(n), int64(g.Meta.LatentDim))
		if err != nil {
			return 0, err
		}
		defer z.Close()
		d, _, err := tr.StepGAN(x, z, y, attrs)
		return d, err
	}
	return tr.StepVAE(x, y, attrs)
}
