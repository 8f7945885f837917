package plan

import (
	"fmt"
	"sort"
)

// PlanFormat is the version string of the plan JSON that `gam-native generate` reads.
const PlanFormat = "gam.plan/v1"

// Plan is one round's generation plan together with the figures it was derived from.
type Plan struct {
	Format string `json:"format"`
	// ClassNames are the metrics' classes, index = the targets' class: generate matches its
	// models' classes to these names, never to the indices alone (a service that trained on a
	// torchvision ImageFolder numbers its classes alphabetically). Absent in older plans.
	ClassNames  []string `json:"classes,omitempty"`
	Budget      int      `json:"budget"`
	Temperature float64  `json:"temperature"`
	Floor       int      `json:"floor"`
	Cap         int      `json:"cap"`
	// FloorLowered is set when the budget cannot give every target Floor images: each then has at
	// least this many (budget / targets). Absent when the floor is met.
	FloorLowered *int         `json:"floor_lowered_to,omitempty"`
	Summary      Summary      `json:"summary"`
	Classes      []Difficulty `json:"class_difficulty"`
	Segments     []Difficulty `json:"segment_difficulty,omitempty"`
	// Targets holds the targets that received images, most images first.
	Targets []Target `json:"targets"`
}

// BuildPlan scores difficulty, makes targets and splits cfg.Budget over them. learner may be nil
// (first round); otherwise its log weights tilt the split: softmax(difficulty/T + logweight).
func BuildPlan(m *Metrics, cfg Config, learner *Learner) (*Plan, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	classes, segments := ScoreDifficulty(m, cfg.Weights)
	targets := inFocus(TargetsFrom(m, classes, segments, cfg.SeverityThreshold, cfg.CoverWeakConditions), cfg.Focus)
	p := &Plan{Format: PlanFormat, ClassNames: m.Classes, Budget: cfg.Budget, Temperature: cfg.Temperature, Floor: cfg.Floor, Cap: cfg.Cap,
		Summary: m.Summary, Classes: classes, Segments: segments}
	if len(targets) == 0 {
		return p, nil // nothing in focus (no segment weaker than its class): nothing to generate
	}
	logits := make([]float64, len(targets))
	for i, t := range targets {
		logits[i] = t.Difficulty/cfg.Temperature + learner.LogWeight(t.ID)
	}
	if cfg.MaxTargets > 0 && len(targets) > cfg.MaxTargets {
		targets, logits = hardest(targets, logits, cfg.MaxTargets)
	}
	if n := len(targets); cfg.Floor > 0 && cfg.Floor*n > cfg.Budget {
		lowered := cfg.Budget / n
		p.FloorLowered = &lowered
	}
	counts, err := allocateLogits(cfg.Budget, logits, cfg.Floor, cfg.Cap)
	if err != nil {
		return nil, fmt.Errorf("plan: %w", err)
	}
	for i := range targets {
		targets[i].Count = counts[i]
		if counts[i] > 0 {
			p.Targets = append(p.Targets, targets[i])
		}
	}
	sort.SliceStable(p.Targets, func(a, b int) bool {
		if p.Targets[a].Count != p.Targets[b].Count {
			return p.Targets[a].Count > p.Targets[b].Count
		}
		return p.Targets[a].Difficulty > p.Targets[b].Difficulty
	})
	return p, nil
}

// inFocus keeps the class targets, the segment targets, or both (Config.Focus).
func inFocus(targets []Target, focus string) []Target {
	if focus == "" || focus == FocusAll {
		return targets
	}
	var out []Target
	for _, t := range targets {
		if (t.Condition != "") == (focus == FocusSegments) {
			out = append(out, t)
		}
	}
	return out
}

// hardest keeps the n targets with the largest logits, in their original order.
func hardest(targets []Target, logits []float64, n int) ([]Target, []float64) {
	idx := make([]int, len(targets))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return logits[idx[a]] > logits[idx[b]] })
	keep := idx[:n]
	sort.Ints(keep)
	t2, l2 := make([]Target, n), make([]float64, n)
	for i, j := range keep {
		t2[i], l2[i] = targets[j], logits[j]
	}
	return t2, l2
}

// Count returns the images planned for a target ID (0 when it got none).
func (p *Plan) Count(id string) int {
	for _, t := range p.Targets {
		if t.ID == id {
			return t.Count
		}
	}
	return 0
}
