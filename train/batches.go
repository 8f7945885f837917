// Package train runs the training and evaluation loops over datasets through the engine: the
// target classifier with the usual imbalance remedies (oversampling, re-weighting, classic
// augmentation, mixup, mixing in generated images) and the generators.
package train

import (
	"math/rand/v2"

	"github.com/gam-native/gam-native/data"
)

// Sampling says how an epoch draws training images.
const (
	SampleUniform  = "uniform"  // each image once per epoch, shuffled (plain ERM)
	SampleBalanced = "balanced" // classes equally often, images with replacement within a class
)

// drawer yields the indices of one epoch's draws into a pool of real then generated images.
type drawer struct {
	rng       *rand.Rand
	mix       string    // GenMix mode
	realClass []int64   // class of each real image
	n         int       // draws per epoch
	sampling  string    // SampleUniform or SampleBalanced
	real      [][]int   // per class, indices of real images
	gen       [][]int   // per class, indices of generated images (offset past the real ones)
	genFrac   []float64 // balanced: per class, the share of its draws that come from its generated images
	numReal   int
	numGen    int
}

// Generated-image mixing modes (ClassifierOptions.GenMix).
const (
	// GenMixFixed: every class that has generated images takes GenFraction of its draws from them.
	GenMixFixed = "fixed"
	// GenMixUnion: a class's draws are uniform over its real and generated images together, the
	// generated share capped at GenFraction: n_gen / (n_gen + n_real), at most GenFraction. A class
	// with thousands of real images barely sees its generated ones; a scarce class gets the cap.
	GenMixUnion = "union"
	// GenMixReplace, with uniform sampling: each draw of a real image of a class that has
	// generated images is replaced by one of them with probability GenFraction. The draws keep
	// the real class frequencies, and so does balanced softmax's prior: the generated images add
	// variety to their class without making it look more frequent than it is.
	GenMixReplace = "replace"
)

// genShare is the share of a class's draws (or loss weight) given to its generated images:
// genFrac, or with GenMixUnion n_gen / (n_gen + n_real) capped at genFrac. A class without
// generated images gets genFrac too; callers use it only when there are some.
func genShare(genFrac float64, mix string, nGen, nReal int) float64 {
	if mix == GenMixUnion && nGen > 0 {
		return min(genFrac, float64(nGen)/float64(nGen+nReal))
	}
	return genFrac
}

func newDrawer(realLabels, genLabels []int64, k int, sampling string, genFrac float64, mix string, rng *rand.Rand) *drawer {
	d := &drawer{rng: rng, mix: mix, sampling: sampling, genFrac: make([]float64, k), numReal: len(realLabels), numGen: len(genLabels),
		real: make([][]int, k), gen: make([][]int, k)}
	for i, y := range realLabels {
		d.real[y] = append(d.real[y], i)
	}
	d.realClass = realLabels
	for i, y := range genLabels {
		d.gen[y] = append(d.gen[y], len(realLabels)+i)
	}
	for c := range d.genFrac {
		d.genFrac[c] = genShare(genFrac, mix, len(d.gen[c]), len(d.real[c]))
	}
	// An epoch is as many draws as there are real images, whatever is mixed in, so that every
	// method trains for the same number of steps (uniform: a random subset of real + generated).
	d.n = len(realLabels)
	return d
}

// classPrior is the probability that a draw of this drawer is of each class.
func (d *drawer) classPrior() []float64 {
	k := len(d.real)
	p := make([]float64, k)
	if d.sampling == SampleBalanced {
		present := 0
		for c := 0; c < k; c++ {
			if len(d.real[c])+len(d.gen[c]) > 0 {
				present++
			}
		}
		for c := 0; c < k; c++ {
			if len(d.real[c])+len(d.gen[c]) > 0 {
				p[c] = 1 / float64(present)
			}
		}
		return p
	}
	total := float64(d.numReal + d.numGen)
	for c := 0; c < k; c++ {
		p[c] = float64(len(d.real[c])+len(d.gen[c])) / total
		if d.mix == GenMixReplace {
			p[c] = float64(len(d.real[c])) / float64(d.numReal)
		}
	}
	return p
}

// epoch returns one epoch of indices.
func (d *drawer) epoch() []int {
	if d.sampling != SampleBalanced && d.mix == GenMixReplace {
		out := d.rng.Perm(d.numReal)
		for j, i := range out {
			c := d.realClass[i]
			if g := d.gen[c]; len(g) > 0 && d.rng.Float64() < d.genFrac[c] {
				out[j] = g[d.rng.IntN(len(g))]
			}
		}
		return out
	}
	if d.sampling != SampleBalanced {
		return d.rng.Perm(d.numReal + d.numGen)[:d.n]
	}
	var classes []int
	for c := range d.real {
		if len(d.real[c])+len(d.gen[c]) > 0 {
			classes = append(classes, c)
		}
	}
	out := make([]int, d.n)
	for i := range out {
		c := classes[d.rng.IntN(len(classes))]
		r, g := d.real[c], d.gen[c]
		useGen := len(g) > 0 && (len(r) == 0 || d.rng.Float64() < d.genFrac[c])
		if useGen {
			out[i] = g[d.rng.IntN(len(g))]
		} else {
			out[i] = r[d.rng.IntN(len(r))]
		}
	}
	return out
}

// gather copies the images and labels at idx (into real, then generated) into one batch.
func gather(realDS, genDS *data.Dataset, idx []int, px []float32, ys []int64, isGen []bool, mix []data.Mix) {
	sz := realDS.ImageSize()
	for j, i := range idx {
		src, g := realDS, false
		if i >= realDS.Len() {
			src, i, g = genDS, i-realDS.Len(), true
		}
		copy(px[j*sz:(j+1)*sz], src.Image(i))
		ys[j] = src.Labels[i]
		isGen[j] = g
		if mix != nil {
			mix[j] = src.MixOf(i)
		}
	}
}

// augment applies classic augmentation in place: a random shift of up to 2 pixels each way
// (zero fill) and, when flip is set, a horizontal flip with probability 1/2, per image.
func augment(px []float32, n, c, h, w int, flip bool, rng *rand.Rand) {
	tmp := make([]float32, c*h*w)
	for i := 0; i < n; i++ {
		img := px[i*c*h*w : (i+1)*c*h*w]
		dx, dy := rng.IntN(5)-2, rng.IntN(5)-2
		fl := flip && rng.IntN(2) == 0
		for k := range tmp {
			tmp[k] = 0
		}
		for ch := 0; ch < c; ch++ {
			for y := 0; y < h; y++ {
				sy := y - dy
				if sy < 0 || sy >= h {
					continue
				}
				for x := 0; x < w; x++ {
					sx := x - dx
					if fl {
						sx = w - 1 - sx
					}
					if sx < 0 || sx >= w {
						continue
					}
					tmp[ch*h*w+y*w+x] = img[ch*h*w+sy*w+sx]
				}
			}
		}
		copy(img, tmp)
	}
}
