package plan

import (
	"math"
	"math/rand/v2"
	"slices"
)

// Bootstrap configures the recall confidence intervals. Recall is the mean of a 0/1 outcome over
// a unit's n images, so resampling those n images with replacement gives a count of hits that is
// exactly Binomial(n, hits/n); we draw that count directly (same distribution as index resampling,
// and it also works for precomputed metrics that carry only support and recall). The interval is
// the percentile interval of the resampled recalls.
type Bootstrap struct {
	Resamples int     `toml:"resamples" json:"resamples"` // default 1000; negative disables
	Seed      uint64  `toml:"seed" json:"seed"`           // the same seed gives the same intervals
	Level     float64 `toml:"level" json:"level"`         // default 0.95
}

func (b Bootstrap) withDefaults() Bootstrap {
	if b.Resamples == 0 {
		b.Resamples = 1000
	}
	if b.Level <= 0 || b.Level >= 1 {
		b.Level = 0.95
	}
	return b
}

// apply sets RecallCI on every unit that does not have one yet. Each unit gets its own stream,
// seeded from Seed and the unit's position, so intervals do not depend on which other units exist.
func (b Bootstrap) apply(m *Metrics) {
	b = b.withDefaults()
	buf := make([]float64, max(b.Resamples, 0))
	for i := range m.PerClass {
		b.unit(&m.PerClass[i], uint64(i), buf)
	}
	for i := range m.Segments {
		b.unit(&m.Segments[i], uint64(1<<32+i), buf)
	}
}

func (b Bootstrap) unit(u *UnitMetrics, stream uint64, buf []float64) {
	if u.RecallCI != [2]float64{} || u.NoSupport {
		return
	}
	if b.Resamples < 0 {
		u.RecallCI = [2]float64{u.Recall, u.Recall}
		return
	}
	u.RecallCI = recallInterval(u.Support, u.Recall, b, stream, buf)
}

func recallInterval(n int, recall float64, b Bootstrap, stream uint64, buf []float64) [2]float64 {
	rng := rand.New(rand.NewPCG(b.Seed, stream))
	for r := range buf {
		buf[r] = float64(binomial(rng, n, recall)) / float64(n)
	}
	slices.Sort(buf)
	alpha := (1 - b.Level) / 2
	return [2]float64{quantile(buf, alpha), quantile(buf, 1-alpha)}
}

// binomial draws Binomial(n, p): exact Bernoulli sums for small n, a clamped normal approximation
// above 1000 trials where its error is far below the interval's own resolution.
func binomial(rng *rand.Rand, n int, p float64) int {
	if p <= 0 {
		return 0
	}
	if p >= 1 {
		return n
	}
	if n > 1000 {
		mu, sd := float64(n)*p, math.Sqrt(float64(n)*p*(1-p))
		return min(n, max(0, int(math.Round(mu+sd*rng.NormFloat64()))))
	}
	k := 0
	for range n {
		if rng.Float64() < p {
			k++
		}
	}
	return k
}

// quantile is the linear-interpolation quantile of sorted values.
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	pos := q * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(sorted)-1)
	return sorted[lo] + (pos-float64(lo))*(sorted[hi]-sorted[lo])
}
