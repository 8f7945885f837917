package plan

import (
	"fmt"
	"math"
	"slices"
)

// FeedbackConfig tunes the round-to-round update (docs/planning.md, "Feedback").
type FeedbackConfig struct {
	Eta           float64 `toml:"eta" json:"eta"`                       // Hedge learning rate; default 1
	GainScale     float64 `toml:"gain_scale" json:"gain_scale"`         // recall change worth a full reward; default 0.02
	MinGain       float64 `toml:"min_gain" json:"min_gain"`             // change a target must beat to count as helping; default 0.002
	HarmTolerance float64 `toml:"harm_tolerance" json:"harm_tolerance"` // recall drop of an untargeted class that flags a round; default 0.01
	// HarmZ: a drop must also exceed HarmZ standard errors of the change (RoundResult.ClassSE), so that
	// a class losing one or two of its 100 validation images does not roll a round back; default 1.
	HarmZ        float64 `toml:"harm_z" json:"harm_z"`
	MaxLogWeight float64 `toml:"max_log_weight" json:"max_log_weight"` // |log weight| bound, so no target is starved for good; default 3
}

// DefaultFeedback returns the documented defaults.
func DefaultFeedback() FeedbackConfig {
	return FeedbackConfig{Eta: 1, GainScale: 0.02, MinGain: 0.002, HarmTolerance: 0.01, HarmZ: 1, MaxLogWeight: 3}
}

// Validate rejects settings the update cannot use.
func (c FeedbackConfig) Validate() error {
	switch {
	case !(c.Eta > 0):
		return fmt.Errorf("feedback.eta: %v, want > 0", c.Eta)
	case !(c.GainScale > 0):
		return fmt.Errorf("feedback.gain_scale: %v, want > 0", c.GainScale)
	case !(c.HarmTolerance >= 0):
		return fmt.Errorf("feedback.harm_tolerance: %v, want >= 0", c.HarmTolerance)
	case !(c.HarmZ >= 0):
		return fmt.Errorf("feedback.harm_z: %v, want >= 0", c.HarmZ)
	case !(c.MaxLogWeight > 0):
		return fmt.Errorf("feedback.max_log_weight: %v, want > 0", c.MaxLogWeight)
	}
	return nil
}

// Learner keeps one Hedge (multiplicative weights) log-weight per target ID across rounds. Every
// target of a round is measured after it (full information), so Hedge fits and EXP3's importance
// weighting is not needed. The allocation uses softmax(difficulty/T + logweight): a target's
// weight multiplies its difficulty-based share.
type Learner struct {
	Config     FeedbackConfig     `json:"config"`
	LogWeights map[string]float64 `json:"log_weights"`
	Rounds     int                `json:"rounds"`
}

// NewLearner starts with all weights equal (log weight 0).
func NewLearner(c FeedbackConfig) *Learner {
	return &Learner{Config: c, LogWeights: map[string]float64{}}
}

// LogWeight is the target's log weight; unseen targets get 0, the mean.
func (l *Learner) LogWeight(id string) float64 {
	if l == nil {
		return 0
	}
	return l.LogWeights[id]
}

// RoundResult is what was measured after a round: the change of each target's own metric (the
// validation recall of its class or segment) and the change of every class's recall.
type RoundResult struct {
	Targets     []Target
	TargetDelta map[string]float64 // by target ID
	ClassDelta  map[string]float64 // by class name
	// ClassSE and TargetSE are the standard errors of those changes (DeltaSE); a missing entry is 0,
	// and then only the tolerance counts.
	ClassSE  map[string]float64
	TargetSE map[string]float64
}

// DeltaSE is the standard error of the change between two recalls measured on n0 and n1 images,
// sqrt(p0(1-p0)/n0 + p1(1-p1)/n1), each p shrunk toward 1/2 as Agresti-Coull does ((hits+2)/(n+4)),
// so that a recall of 1 still has a spread. Treating the two as independent overstates the noise a
// little when the images are the same ones; a harm flag should err that way.
func DeltaSE(p0 float64, n0 int, p1 float64, n1 int) float64 {
	v := func(p float64, n int) float64 {
		if n <= 0 {
			return 0
		}
		return agrestiCoullVar(p, n)
	}
	return math.Sqrt(v(p0, n0) + v(p1, n1))
}

// Harmful says whether a recall change d with standard error se is a harm: a drop beyond the
// tolerance and beyond HarmZ standard errors. Recalls are counts over images, so a drop of exactly
// the tolerance (one image of 100 at 0.01) is not beyond it; the 1e-9 absorbs float rounding.
func (c FeedbackConfig) Harmful(d, se float64) bool {
	return d < -math.Max(c.HarmTolerance, c.HarmZ*se)-1e-9
}

// Harm is an untargeted class whose recall fell beyond the tolerance.
type Harm struct {
	Class string  `json:"class"`
	Delta float64 `json:"delta"`
}

// RoundReport says what the update did and what to roll back.
type RoundReport struct {
	Rewards  map[string]float64 `json:"rewards"`            // per target, in [-1, 1]
	Harmed   []Harm             `json:"harmed,omitempty"`   // sorted by class name
	Rollback []string           `json:"rollback,omitempty"` // target IDs whose samples should be removed
}

// Flagged reports whether the round hurt an untargeted class.
func (r RoundReport) Flagged() bool { return len(r.Harmed) > 0 }

// Update applies one round. Reward r = clamp((delta - MinGain) / GainScale, -1, 1), so a target that
// did not beat MinGain loses weight; logw += Eta * r, then weights are centred and bounded. If an
// untargeted class lost more than HarmTolerance recall and HarmZ standard errors, the round is flagged; the targets aimed at
// that class's boundary (it is in their ConfusedWith), or every target when none is, are to be rolled
// back and get reward -1.
func (l *Learner) Update(r RoundResult) (RoundReport, error) {
	if err := l.Config.Validate(); err != nil {
		return RoundReport{}, err
	}
	if l.LogWeights == nil {
		l.LogWeights = map[string]float64{}
	}
	rep := RoundReport{Rewards: map[string]float64{}}
	targeted := map[string]bool{}
	for _, t := range r.Targets {
		d, ok := r.TargetDelta[t.ID]
		if !ok {
			return rep, fmt.Errorf("target_delta[%q]: missing (every target of the round must be measured)", t.ID)
		}
		if math.IsNaN(d) {
			return rep, fmt.Errorf("target_delta[%q]: NaN", t.ID)
		}
		rep.Rewards[t.ID] = math.Max(-1, math.Min(1, (d-l.Config.MinGain)/l.Config.GainScale))
		targeted[t.ClassName] = true
	}
	for class, d := range r.ClassDelta {
		if !targeted[class] && l.Config.Harmful(d, r.ClassSE[class]) {
			rep.Harmed = append(rep.Harmed, Harm{Class: class, Delta: d})
		}
	}
	slices.SortFunc(rep.Harmed, func(a, b Harm) int { return cmpString(a.Class, b.Class) })
	if rep.Flagged() {
		rep.Rollback = culprits(r.Targets, rep.Harmed)
		for _, id := range rep.Rollback {
			rep.Rewards[id] = -1
		}
	}
	for _, t := range r.Targets {
		l.LogWeights[t.ID] += l.Config.Eta * rep.Rewards[t.ID]
	}
	l.normalize()
	l.Rounds++
	return rep, nil
}

func culprits(targets []Target, harmed []Harm) []string {
	hurt := map[string]bool{}
	for _, h := range harmed {
		hurt[h.Class] = true
	}
	var ids, all []string
	for _, t := range targets {
		all = append(all, t.ID)
		for _, c := range t.ConfusedWith {
			if hurt[c.Name] {
				ids = append(ids, t.ID)
				break
			}
		}
	}
	if len(ids) == 0 {
		return all
	}
	return ids
}

// normalize centres the log weights (softmax ignores a common shift, and a new target's 0 then means
// "average") and bounds them so that a target can always win budget back.
func (l *Learner) normalize() {
	if len(l.LogWeights) == 0 {
		return
	}
	// Summed in sorted key order: map order would change the last bits from run to run, and
	// state.json must be the same for the same seed.
	ids := make([]string, 0, len(l.LogWeights))
	for id := range l.LogWeights {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	mean := 0.0
	for _, id := range ids {
		mean += l.LogWeights[id]
	}
	mean /= float64(len(l.LogWeights))
	for id, v := range l.LogWeights {
		l.LogWeights[id] = math.Max(-l.Config.MaxLogWeight, math.Min(l.Config.MaxLogWeight, v-mean))
	}
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
