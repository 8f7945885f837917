package generate

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/gam-native/gam-native/bindings"
	"github.com/gam-native/gam-native/data"
	"github.com/gam-native/gam-native/plan"
)

// Where z comes from (Config.Latent).
const (
	// LatentPrior draws z ~ N(0, temperature^2 I): what the generator was trained to decode.
	LatentPrior = "prior"
	// LatentReal draws z near real images of the target's class: z = mu_i + u (mu_j - mu_i) +
	// temperature * sigma_i * eps, where mu and sigma are the generator's posterior (its encode)
	// of two real training images i and j of the class and u ~ U(0, 1). A weak decoder's prior
	// samples drift to blurry class means; between real latents it stays near real images (the
	// idea of DeepSMOTE's latent interpolation). Needs a generator with encode.
	LatentReal = "real"
	// LatentTransfer draws z from real images of other classes and decodes it as the target's
	// class: z = mu_i + temperature * sigma_i * eps for a real training image i of a donor class,
	// the classes the target is confused with (plan.Target.ConfusedWith) when they have latents,
	// else every other class. A conditional VAE's z holds what the label does not (pose, size,
	// fit, brightness), so a scarce class borrows the variety of the plentiful ones instead of
	// re-mixing its own few images (the idea of major-to-minor translation, M2m; Kim et al. 2020);
	// from the confused classes, the images also sit where the target must be told from them.
	// The screen keeps only those that read as the target. Needs a generator with encode.
	LatentTransfer = "transfer"
	// LatentEdit edits real images of the target's class with the generator instead of replacing
	// them: x = clamp(G(z, y) + x_i - G(mu_i, y), 0, 1) with z drawn as LatentReal draws it around
	// real image i. The generator supplies the change of shape from i toward another real image of
	// the class; the residual x_i - G(mu_i, y), what the decoder cannot draw (prints, buttons,
	// collars, texture), is carried over from the real image. A decoder whose samples are smooth
	// class means (the zoo's cVAE: its shirts have no texture and taught the target that a
	// textureless shape is a shirt, docs/efficacy-log.md E19-E22) then adds shape variety without
	// erasing what tells a shirt from a coat. The record's provenance.content names image i
	// ("edit:REF"). Needs a generator with encode.
	LatentEdit = "edit"
	// LatentAuto is LatentReal for a generator with encode and LatentPrior for one without.
	LatentAuto = "auto"
)

// NeedsEncode says whether latent draws around real images' posteriors (EncodeReal), which needs a
// generator with encode; generate.blend needs them too (Config.NeedsEncode).
func NeedsEncode(latent string) bool {
	return latent == LatentReal || latent == LatentTransfer || latent == LatentEdit
}

// NeedsEncode says whether c draws latents around real images' posteriors.
func (c Config) NeedsEncode() bool { return NeedsEncode(c.Latent) || c.Blend > 0 }

// resolveLatent turns LatentAuto into the source g supports.
func resolveLatent(latent string, g *bindings.Model) string {
	if latent != LatentAuto {
		return latent
	}
	if g != nil && g.Meta.HasEncode {
		return LatentReal
	}
	return LatentPrior
}

// Latents holds, per class, the posterior of real training images: means and standard
// deviations, row-major [n, dim]; with residuals (LatentEdit) also each image's residual x_i -
// G(mu_i, y), row-major [n, pixels], and its reference (imageRef).
type Latents struct {
	Dim   int
	Mu    [][]float32
	Sigma [][]float32
	Resid [][]float32
	Refs  [][]string
}

// EncodeReal encodes up to perClass real images of every class of ds with g's encode (the first
// ones of each class, in dataset order, so the pool is deterministic).
// With resid, it also decodes each mean and keeps the residuals (LatentEdit).
func EncodeReal(e *bindings.Engine, g *bindings.Model, ds *data.Dataset, perClass int, resid bool) (*Latents, error) {
	if !g.Meta.HasEncode {
		return nil, fmt.Errorf("generate.latent = %q, %q or %q needs a generator with encode(x, y, attrs) -> (mu, logvar); %s has none (use latent = %q)",
			LatentReal, LatentTransfer, LatentEdit, g.Path, LatentPrior)
	}
	k, dim := g.Meta.NumClasses, g.Meta.LatentDim
	l := &Latents{Dim: dim, Mu: make([][]float32, k), Sigma: make([][]float32, k)}
	if resid {
		l.Resid, l.Refs = make([][]float32, k), make([][]string, k)
	}
	const chunk = 256
	for cls, idx := range firstPerClass(ds, k, perClass) {
		for s := 0; s < len(idx); s += chunk {
			part := idx[s:min(s+chunk, len(idx))]
			mu, lv, r, err := encodeReal(e, g, ds, part, cls, resid)
			if err != nil {
				return nil, fmt.Errorf("encoding real images of class %d: %w", cls, err)
			}
			if resid {
				l.Resid[cls] = append(l.Resid[cls], r...)
				for _, i := range part {
					l.Refs[cls] = append(l.Refs[cls], imageRef(ds, i))
				}
			}
			for j := range lv {
				lv[j] = float32(math.Exp(0.5 * float64(lv[j])))
			}
			l.Mu[cls] = append(l.Mu[cls], mu...)
			l.Sigma[cls] = append(l.Sigma[cls], lv...)
		}
	}
	return l, nil
}

// encodeReal encodes the real images idx of class cls; with resid it also decodes their means (no
// attributes) and returns each image's residual x_i - G(mu_i, y), row-major.
func encodeReal(e *bindings.Engine, g *bindings.Model, ds *data.Dataset, idx []int, cls int, resid bool) (mu, lv, res []float32, err error) {
	x, y, px, err := realBatch(e, ds, idx, cls)
	if err != nil {
		return nil, nil, nil, err
	}
	defer bindings.CloseAll(x, y)
	m, v, err := g.Encode(x, y, nil)
	if err != nil {
		return nil, nil, nil, err
	}
	defer bindings.CloseAll(m, v)
	if mu, err = m.F32(); err != nil {
		return nil, nil, nil, err
	}
	if lv, err = v.F32(); err != nil || !resid {
		return mu, lv, nil, err
	}
	var a *bindings.Tensor
	if na := int64(len(g.Meta.AttrNames)); na > 0 {
		if a, err = e.FromF32(make([]float32, int64(len(idx))*na), int64(len(idx)), na); err != nil {
			return nil, nil, nil, err
		}
		defer a.Close()
	}
	rec, err := g.Sample(m, y, a)
	if err != nil {
		return nil, nil, nil, err
	}
	defer rec.Close()
	r, err := rec.F32()
	if err != nil {
		return nil, nil, nil, err
	}
	if len(r) != len(px) {
		return nil, nil, nil, fmt.Errorf("the generator's sample has %d values for %d images of %d pixels", len(r), len(idx), ds.ImageSize())
	}
	for i := range px {
		px[i] -= r[i]
	}
	return mu, lv, px, nil
}

// Count is the number of real latents of class cls.
func (l *Latents) Count(cls int) int {
	if l == nil || cls < 0 || cls >= len(l.Mu) || l.Dim == 0 {
		return 0
	}
	return len(l.Mu[cls]) / l.Dim
}

// donors are the classes LatentTransfer draws from for a target of class cls: the confused
// classes that have latents, else every other class that has.
func (l *Latents) donors(cls int, confused []plan.Confuser) []int {
	var out []int
	for _, c := range confused {
		if c.Class != cls && l.Count(c.Class) > 0 {
			out = append(out, c.Class)
		}
	}
	if len(out) > 0 {
		return out
	}
	for c := range l.Mu {
		if c != cls && l.Count(c) > 0 {
			out = append(out, c)
		}
	}
	return out
}

// DrawFrom returns n latents [n, Dim] drawn around real images of the donor classes, each row's
// class uniform among them (see LatentTransfer).
func (l *Latents) DrawFrom(rng *rand.Rand, donors []int, n int, temperature float32) []float32 {
	d := l.Dim
	z := make([]float32, n*d)
	for r := 0; r < n; r++ {
		c := donors[rng.IntN(len(donors))]
		i := rng.IntN(l.Count(c))
		mu, sg := l.Mu[c], l.Sigma[c]
		for k := 0; k < d; k++ {
			z[r*d+k] = mu[i*d+k] + temperature*sg[i*d+k]*float32(rng.NormFloat64())
		}
	}
	return z
}

// Draw returns n latents [n, Dim] for class cls from rng (see LatentReal, with u ~ U(0, reach))
// and, per row, the real image i it was drawn around (an index into the class's latents).
func (l *Latents) Draw(rng *rand.Rand, cls, n int, temperature, reach float32) ([]float32, []int) {
	d, m := l.Dim, l.Count(cls)
	mu, sg := l.Mu[cls], l.Sigma[cls]
	z := make([]float32, n*d)
	from := make([]int, n)
	for r := 0; r < n; r++ {
		i, j := rng.IntN(m), rng.IntN(m)
		from[r] = i
		u := reach * rng.Float32()
		for c := 0; c < d; c++ {
			a, b := mu[i*d+c], mu[j*d+c]
			z[r*d+c] = a + u*(b-a) + temperature*sg[i*d+c]*float32(rng.NormFloat64())
		}
	}
	return z, from
}

// blendDonors are the confusers of a target of class cls that have latents, with their shares of
// its misses (Config.Blend); none when cls itself has no latents.
func (l *Latents) blendDonors(cls int, confused []plan.Confuser) (classes []int, shares []float64) {
	if l.Count(cls) == 0 {
		return nil, nil
	}
	for _, c := range confused {
		if c.Class != cls && l.Count(c.Class) > 0 && c.Share > 0 {
			classes, shares = append(classes, c.Class), append(shares, c.Share)
		}
	}
	return classes, shares
}

// DrawBlend returns n latents [n, Dim] between real images of class cls and of its donors (see
// Config.Blend): row r is (1-u) mu_i + u mu_j + temperature sigma_i eps with u ~ U(0, 1), i an
// image of cls and j one of donor with[r], drawn by share. It returns each row's donor and u.
func (l *Latents) DrawBlend(rng *rand.Rand, cls int, donors []int, shares []float64, n int, temperature float32) (z []float32, with []int64, u []float32) {
	d, m := l.Dim, l.Count(cls)
	var total float64
	for _, s := range shares {
		total += s
	}
	z, with, u = make([]float32, n*d), make([]int64, n), make([]float32, n)
	for r := 0; r < n; r++ {
		pick, acc := len(donors)-1, 0.0
		x := rng.Float64() * total
		for k, s := range shares {
			if acc += s; x < acc {
				pick = k
				break
			}
		}
		c := donors[pick]
		i, j := rng.IntN(m), rng.IntN(l.Count(c))
		a, b, sg := l.Mu[cls][i*d:(i+1)*d], l.Mu[c][j*d:(j+1)*d], l.Sigma[cls][i*d:(i+1)*d]
		u[r], with[r] = rng.Float32(), int64(c)
		for k := 0; k < d; k++ {
			z[r*d+k] = (1-u[r])*a[k] + u[r]*b[k] + temperature*sg[k]*float32(rng.NormFloat64())
		}
	}
	return z, with, u
}
