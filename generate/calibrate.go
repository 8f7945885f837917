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
	// Screen holds, per class, the screen's sorted probability of the class on its real images
	// (CalibrateScreen; nil unless generate.prob_calibrated).
	Screen [][]float32
}

// CalibrateScreen records the screen's probability of the true class on up to perClass real
// images of each class of ds, for Config.ProbCalibrated.
func (c *Calibration) CalibrateScreen(e *bindings.Engine, screen *bindings.Model, ds *data.Dataset, perClass int) error {
	k := screen.Meta.NumClasses
	c.Screen = make([][]float32, k)
	for cls, idx := range firstPerClass(ds, k, perClass) {
		if len(idx) == 0 {
			continue
		}
		p, err := screenProbOf(e, screen, ds, idx, cls)
		if err != nil {
			return fmt.Errorf("calibrating the screen on class %d: %w", cls, err)
		}
		slices.Sort(p)
		c.Screen[cls] = p
	}
	return nil
}

func screenProbOf(e *bindings.Engine, screen *bindings.Model, ds *data.Dataset, idx []int, cls int) ([]float32, error) {
	x, y, _, err := realBatch(e, ds, idx, cls)
	if err != nil {
		return nil, err
	}
	defer bindings.CloseAll(x, y)
	logits, err := screen.Forward(x)
	if err != nil {
		return nil, err
	}
	defer logits.Close()
	verdict, prob, acc, err := e.Screen(logits, y, nil, 0, 0)
	if err != nil {
		return nil, err
	}
	defer bindings.CloseAll(verdict, prob, acc)
	return prob.F32()
}

// ScreenThreshold is class cls's screen threshold at percentile q of its real images' probabilities
// (the nearest rank below), or q itself when the class has none.
func (c *Calibration) ScreenThreshold(cls int, q float32) float32 {
	if c == nil || cls >= len(c.Screen) || len(c.Screen[cls]) == 0 {
		return q
	}
	s := c.Screen[cls]
	return s[int(q*float32(len(s)-1))]
}

// Calibrate scores up to perClass real images of each class of ds with g's confidence.
func Calibrate(e *bindings.Engine, g *bindings.Model, ds *data.Dataset, perClass int) (*Calibration, error) {
	k := g.Meta.NumClasses
	c := &Calibration{PerClass: make([][]float32, k)}
	for cls, idx := range firstPerClass(ds, k, perClass) {
		if len(idx) == 0 {
			continue
		}
		scores, err := confidenceOf(e, g, ds, idx, cls)
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

// realBatch uploads the images of ds at idx as x [n, C, H, W] and, when cls >= 0, n labels cls as
// y (nil otherwise); px is the same pixels on the Go side. The caller closes x and y.
func realBatch(e *bindings.Engine, ds *data.Dataset, idx []int, cls int) (x, y *bindings.Tensor, px []float32, err error) {
	sz := ds.ImageSize()
	px = make([]float32, len(idx)*sz)
	for j, i := range idx {
		copy(px[j*sz:], ds.Image(i))
	}
	n := int64(len(idx))
	if x, err = e.FromF32(px, n, int64(ds.C), int64(ds.H), int64(ds.W)); err != nil {
		return nil, nil, nil, err
	}
	if cls >= 0 {
		ys := make([]int64, n)
		for j := range ys {
			ys[j] = int64(cls)
		}
		if y, err = e.FromI64(ys, n); err != nil {
			x.Close()
			return nil, nil, nil, err
		}
	}
	return x, y, px, nil
}

func confidenceOf(e *bindings.Engine, g *bindings.Model, ds *data.Dataset, idx []int, cls int) ([]float32, error) {
	x, y, _, err := realBatch(e, ds, idx, cls)
	if err != nil {
		return nil, err
	}
	defer bindings.CloseAll(x, y)
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
