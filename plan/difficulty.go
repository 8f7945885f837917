package plan

import (
	"fmt"
	"math"
)

// Weights combine the difficulty terms (docs/planning.md). Each term lies in [0, 1]; the raw score
// is their weighted mean over the terms that are known, so it also lies in [0, 1].
type Weights struct {
	Miss          float64 `toml:"miss" json:"miss"`                     // 1 - recall
	FalsePositive float64 `toml:"false_positive" json:"false_positive"` // min(1, FPR * (K-1))
	Imprecision   float64 `toml:"imprecision" json:"imprecision"`       // 1 - precision
	Confusion     float64 `toml:"confusion" json:"confusion"`           // largest single rival's share of the unit's images
	Scarcity      float64 `toml:"scarcity" json:"scarcity"`             // sqrt(min train count / train count)
	// NoShrink turns off the empirical-Bayes shrinkage toward the mean.
	NoShrink bool `toml:"no_shrink" json:"no_shrink"`
}

// DefaultWeights put half the weight on missed images: the figures GAM must move are recall-based.
func DefaultWeights() Weights {
	return Weights{Miss: 0.5, FalsePositive: 0.1, Imprecision: 0.15, Confusion: 0.1, Scarcity: 0.15}
}

// Validate rejects negative weights and an all-zero set.
func (w Weights) Validate() error {
	sum := 0.0
	for name, v := range map[string]float64{"miss": w.Miss, "false_positive": w.FalsePositive,
		"imprecision": w.Imprecision, "confusion": w.Confusion, "scarcity": w.Scarcity} {
		if !(v >= 0) || math.IsInf(v, 0) {
			return fmt.Errorf("weights.%s: %v, want a finite number >= 0", name, v)
		}
		sum += v
	}
	if sum == 0 {
		return fmt.Errorf("weights: all zero")
	}
	return nil
}

// Terms are a unit's difficulty components, each in [0, 1].
type Terms struct {
	Miss          float64 `json:"miss"`
	FalsePositive float64 `json:"false_positive"`
	Imprecision   float64 `json:"imprecision"`
	Confusion     float64 `json:"confusion"`
	Scarcity      float64 `json:"scarcity"`
}

// Difficulty is one row of the difficulty table.
type Difficulty struct {
	ID        string     `json:"id"`
	Class     int        `json:"class"`
	ClassName string     `json:"class_name"`
	Segment   string     `json:"segment,omitempty"`
	Support   int        `json:"support"`
	Recall    float64    `json:"recall"`
	RecallCI  [2]float64 `json:"recall_ci"`
	Precision float64    `json:"precision"`
	FPR       float64    `json:"fpr"`
	Terms     Terms      `json:"terms"`
	Raw       float64    `json:"raw"`    // weighted mean of the terms
	Shrink    float64    `json:"shrink"` // lambda: weight of Raw against the pool mean
	Score     float64    `json:"score"`  // lambda*Raw + (1-lambda)*mean
}

// ScoreDifficulty scores classes and segments, each level pooled on its own for the shrinkage.
func ScoreDifficulty(m *Metrics, w Weights) (classes, segments []Difficulty) {
	k := len(m.Classes)
	classes = scorePool(m.PerClass, k, w)
	segments = scorePool(m.Segments, k, w)
	return classes, segments
}

func scorePool(units []UnitMetrics, k int, w Weights) []Difficulty {
	if len(units) == 0 {
		return nil
	}
	minTrain := math.MaxInt
	for _, u := range units {
		if u.TrainCount > 0 {
			minTrain = min(minTrain, u.TrainCount)
		}
	}
	out := make([]Difficulty, len(units))
	for i, u := range units {
		d := Difficulty{ID: u.ID, Class: u.Class, ClassName: u.ClassName, Segment: u.Segment, Support: u.Support,
			Recall: u.Recall, RecallCI: u.RecallCI, Precision: u.Precision, FPR: u.FPR}
		d.Terms = Terms{
			Miss:          1 - u.Recall,
			FalsePositive: math.Min(1, u.FPR*float64(k-1)),
			Imprecision:   1 - u.Precision,
			Confusion:     (1 - u.Recall) * u.Concentration,
		}
		num := w.Miss*d.Terms.Miss + w.FalsePositive*d.Terms.FalsePositive + w.Imprecision*d.Terms.Imprecision + w.Confusion*d.Terms.Confusion
		den := w.Miss + w.FalsePositive + w.Imprecision + w.Confusion
		if minTrain != math.MaxInt {
			// Units with an unknown count get the scarcest known one's term: unknown is no evidence of plenty.
			d.Terms.Scarcity = 1
			if u.TrainCount > 0 {
				d.Terms.Scarcity = math.Sqrt(float64(minTrain) / float64(u.TrainCount))
			}
			num += w.Scarcity * d.Terms.Scarcity
			den += w.Scarcity
		}
		if den > 0 {
			d.Raw = num / den
		}
		out[i] = d
	}
	shrink(out, units, w)
	return out
}

// shrink applies empirical-Bayes (James-Stein style) shrinkage: a unit's score is
// lambda*raw + (1-lambda)*mean with lambda = tau^2 / (tau^2 + sigma^2), where sigma is the
// standard error of the unit's raw score (from its recall interval, or the Agresti-Coull variance
// when that is narrower) and tau^2 the spread of true scores across the pool (method of moments).
// Units with no support have infinite sigma and get the mean.
func shrink(ds []Difficulty, units []UnitMetrics, w Weights) {
	sig2 := make([]float64, len(ds))
	mean, n := 0.0, 0
	sens := recallSensitivity(w)
	for i, u := range units {
		if u.NoSupport {
			sig2[i] = math.Inf(1)
			continue
		}
		mean += ds[i].Raw
		n++
		sig2[i] = sens * sens * recallVariance(u)
	}
	if n == 0 {
		return
	}
	mean /= float64(n)
	variance, meanSig2 := 0.0, 0.0
	for i, u := range units {
		if u.NoSupport {
			continue
		}
		variance += (ds[i].Raw - mean) * (ds[i].Raw - mean)
		meanSig2 += sig2[i]
	}
	variance /= float64(n)
	meanSig2 /= float64(n)
	tau2 := math.Max(variance-meanSig2, 0)
	for i := range ds {
		lambda := 1.0
		switch {
		case w.NoShrink && !units[i].NoSupport:
		case math.IsInf(sig2[i], 1) || tau2 == 0:
			lambda = 0
		default:
			lambda = tau2 / (tau2 + sig2[i])
		}
		ds[i].Shrink = lambda
		ds[i].Score = lambda*ds[i].Raw + (1-lambda)*mean
	}
}

// recallSensitivity is how much the raw score moves per unit of recall: the miss and confusion
// terms both fall with recall (confusion at most one for one).
func recallSensitivity(w Weights) float64 {
	total := w.Miss + w.FalsePositive + w.Imprecision + w.Confusion + w.Scarcity
	if total == 0 {
		return 0
	}
	return (w.Miss + w.Confusion) / total
}

// recallVariance is the larger of the bootstrap interval's implied variance and the Agresti-Coull
// one, which stays positive at recall 0 or 1 where a percentile interval collapses.
func recallVariance(u UnitMetrics) float64 {
	half := (u.RecallCI[1] - u.RecallCI[0]) / 2
	ci := (half / 1.96) * (half / 1.96)
	return math.Max(agrestiCoullVar(u.Recall, u.Support), ci)
}

// agrestiCoullVar is the Agresti-Coull variance of a recall measured on n images: p~(1-p~)/(n+4)
// with p~ = (hits+2)/(n+4), positive even at a recall of 0 or 1.
func agrestiCoullVar(recall float64, n int) float64 {
	nf := float64(n)
	pt := (recall*nf + 2) / (nf + 4)
	return pt * (1 - pt) / (nf + 4)
}
