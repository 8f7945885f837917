package generate

import (
	"fmt"
	"slices"

	"github.com/gam-native/gam-native/bindings"
	"github.com/gam-native/gam-native/data"
)

// Calibration maps a generator's raw confidence to its percentile among real training images of
// the same class, so one threshold means the same for every class and every generator (a VAE's
// ELBO and a GAN's discriminator live on different scales).
type Calibration struct {
	PerClass [][]float32 // sorted raw scores of real images, per class
}

// Calibrate scores up to perClass real images of each class of ds with g's confidence.
func Calibrate(e *bindings.Engine, g *bindings.Model, ds *data.Dataset, perClass int) (*Calibration, error) {
	k := g.Meta.NumClasses
	byClass := firstPerClass(ds, k, perClass)
	c := &Calibration{PerClass: make([][]float32, k)}
	sz := ds.ImageSize()
	for cls, idx := range byClass {
		if len(idx) == 0 {
			continue
		}
		px := make([]float32, len(idx)*sz)
		ys := make([]int64, len(idx))
		for j, i := range idx {
			copy(px[j*sz:], ds.Image(i))
			ys[j] = int64(cls)
		}
		scores, err := confidenceOf(e, g, px, ys, ds)
		if err != nil {
			return nil, fmt.Errorf("calibrating class %d: %w", cls, err)
		}
		slices.Sort(scores)
		c.PerClass[cls] = scores
	}
	return c, nil
}

// firstPerClass lists the indices of the first perClass images of each of k classes, in dataset order.
func firstPerClass(ds *data.Dataset, k, perClass int) [][]int {
	byClass := make([][]int, k)
	for i, y := range ds.Labels {
		if int(y) < k && len(byClass[y]) < perClass {
			byClass[y] = append(byClass[y], i)
		}
	}
	return byClass
}

func confidenceOf(e *bindings.Engine, g *bindings.Model, px []float32, ys []int64, ds *data.Dataset) ([]float32, error) {
	n := int64(len(ys))
	x, err := e.FromF32(px, n, int64(ds.C), int64(ds.H), int64(ds.W))
	if err != nil {
		return nil, err
	}
	defer x.Close()
	y, err := e.FromI64(ys, n)
	if err != nil {
		return nil, err
	}
	defer y.Close()
	conf, err := g.Confidence(x, y, nil)
	if err != nil {
		return nil, err
	}
	defer conf.Close()
	return conf.F32()
}

// Percentile is the share of class cls's real scores at or below v (1 when the class has none,
// so that a class without real images is not blocked).
func (c *Calibration) Percentile(cls int, v float32) float32 {
	if c == nil || cls >= len(c.PerClass) || len(c.PerClass[cls]) == 0 {
		return 1
	}
	s := c.PerClass[cls]
	i, _ := slices.BinarySearch(s, v)
	for i < len(s) && s[i] <= v {
		i++
	}
	return float32(i) / float32(len(s))
}
