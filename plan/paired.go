package plan

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Paired compares two models' predictions on the same images: the difference in balanced
// accuracy (B minus A) with a paired bootstrap interval, and McNemar's exact test on the images
// that exactly one of them gets right. On 100 validation images a class, a 0.5-point difference
// in balanced accuracy is well inside the noise of one model; the pairing removes the images'
// own difficulty, which both models share, and says whether B's gain is more than chance.
type Paired struct {
	DeltaBA float64    `json:"delta_balanced_accuracy"` // BA(B) - BA(A)
	CI      [2]float64 `json:"delta_ci"`                // paired bootstrap percentile interval of DeltaBA
	Level   float64    `json:"level"`
	// PBootstrap is the share of resamples in which B is not better than A (one-sided).
	PBootstrap float64 `json:"p_bootstrap"`
	// OnlyA, OnlyB count the images only A, only B classify right; PMcNemar is the two-sided
	// exact binomial p-value of OnlyB against OnlyA (1 when both are 0).
	OnlyA    int     `json:"only_a_right"`
	OnlyB    int     `json:"only_b_right"`
	PMcNemar float64 `json:"p_mcnemar"`
}

// Better says whether B beats A beyond chance: the bootstrap interval's lower end above 0 and
// McNemar's p below 1 - Level. Both, because with few discordant images the percentile interval
// is too narrow (four images that only B gets right, and none that only A does, put every
// resample at or above 0), where the exact test is not.
func (p Paired) Better() bool { return p.CI[0] > 0 && p.PMcNemar < 1-p.Level }

// String is one line for logs and reports.
func (p Paired) String() string {
	return fmt.Sprintf("ΔBA %+.4f (%.0f%% CI %+.4f to %+.4f, one-sided p %.3f; McNemar %d vs %d right alone, p %.3f)",
		p.DeltaBA, 100*p.Level, p.CI[0], p.CI[1], p.PBootstrap, p.OnlyB, p.OnlyA, p.PMcNemar)
}

// ComparePaired compares predictions predA and predB of the same images with true labels y over
// k classes. The bootstrap resamples images within each class (stratified, so that every resample
// has each class's support and balanced accuracy stays defined); b gives resamples, level and seed.
func ComparePaired(y, predA, predB []int64, k int, b Bootstrap) (Paired, error) {
	if len(predA) != len(y) || len(predB) != len(y) {
		return Paired{}, fmt.Errorf("paired comparison: %d labels, %d and %d predictions", len(y), len(predA), len(predB))
	}
	b = b.withDefaults()
	byClass := make([][]int, k)
	for i, c := range y {
		if c < 0 || int(c) >= k {
			return Paired{}, fmt.Errorf("paired comparison: label %d of image %d outside [0, %d)", c, i, k)
		}
		byClass[c] = append(byClass[c], i)
	}
	// d[i] is +1 when only B is right on image i, -1 when only A is, else 0.
	d := make([]float64, len(y))
	var out Paired
	for i := range y {
		ra, rb := predA[i] == y[i], predB[i] == y[i]
		switch {
		case rb && !ra:
			d[i] = 1
			out.OnlyB++
		case ra && !rb:
			d[i] = -1
			out.OnlyA++
		}
	}
	present := 0
	delta := func(pick func(c, j int) int) float64 {
		var s float64
		for c, idx := range byClass {
			if len(idx) == 0 {
				continue
			}
			var cs float64
			for j := range idx {
				cs += d[pick(c, j)]
			}
			s += cs / float64(len(idx))
		}
		return s / float64(present)
	}
	for _, idx := range byClass {
		if len(idx) > 0 {
			present++
		}
	}
	if present == 0 {
		return Paired{}, fmt.Errorf("paired comparison: no images")
	}
	out.DeltaBA = delta(func(c, j int) int { return byClass[c][j] })
	out.Level = b.Level
	out.PMcNemar = mcnemarExact(out.OnlyA, out.OnlyB)
	if b.Resamples < 0 {
		out.CI = [2]float64{out.DeltaBA, out.DeltaBA}
		return out, nil
	}
	rng := rand.New(rand.NewPCG(b.Seed, 0x9a1bed))
	res := make([]float64, b.Resamples)
	notBetter := 0
	for r := range res {
		res[r] = delta(func(c, _ int) int { return byClass[c][rng.IntN(len(byClass[c]))] })
		if res[r] <= 0 {
			notBetter++
		}
	}
	slices.Sort(res)
	alpha := (1 - b.Level) / 2
	out.CI = [2]float64{quantile(res, alpha), quantile(res, 1-alpha)}
	out.PBootstrap = float64(notBetter) / float64(len(res))
	return out, nil
}

// mcnemarExact is the two-sided exact p-value of b successes in a+b fair coin flips.
func mcnemarExact(a, b int) float64 {
	n := a + b
	if n == 0 {
		return 1
	}
	lo := min(a, b)
	// P(X <= lo) for X ~ Binomial(n, 1/2), in logs to stay finite for large n.
	var p float64
	for x := 0; x <= lo; x++ {
		lg, _ := math.Lgamma(float64(n + 1))
		l1, _ := math.Lgamma(float64(x + 1))
		l2, _ := math.Lgamma(float64(n - x + 1))
		p += math.Exp(lg - l1 - l2 - float64(n)*math.Ln2)
	}
	return math.Min(1, 2*p)
}
