package plan

import (
	"slices"
	"testing"
)

func TestFeedbackRounds(t *testing.T) {
	targets := []Target{
		{ID: "shirt", ClassName: "shirt", ConfusedWith: []Confuser{{Name: "t-shirt", Share: 0.6}}},
		{ID: "coat/blurry", ClassName: "coat", Condition: AttrBlur},
	}
	diff := []float64{0.5, 0.5}
	share := func(l *Learner) []int {
		logits := []float64{diff[0]/0.1 + l.LogWeight("shirt"), diff[1]/0.1 + l.LogWeight("coat/blurry")}
		c, err := allocateLogits(1000, logits, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	type round struct {
		desc     string
		target   map[string]float64
		class    map[string]float64
		check    func(before, after []int) bool
		harmed   []string
		rollback []string
	}
	rounds := []round{
		{"shirt helped, coat/blurry did not: budget moves to shirt",
			map[string]float64{"shirt": 0.04, "coat/blurry": 0}, map[string]float64{"shirt": 0.04, "coat": 0, "t-shirt": 0.001},
			func(b, a []int) bool { return a[0] > b[0] && a[1] < b[1] }, nil, nil},
		{"coat/blurry rose, shirt stalled: budget moves back",
			map[string]float64{"shirt": 0.001, "coat/blurry": 0.05}, map[string]float64{"shirt": 0, "coat": 0.02},
			func(b, a []int) bool { return a[1] > b[1] && a[0] < b[0] }, nil, nil},
		{"shirt helped itself but cost t-shirt 3 points: flagged, shirt rolled back",
			map[string]float64{"shirt": 0.05, "coat/blurry": 0.01}, map[string]float64{"shirt": 0.05, "coat": 0, "t-shirt": -0.03, "bag": -0.005},
			func(b, a []int) bool { return a[0] < b[0] }, []string{"t-shirt"}, []string{"shirt"}},
		{"harm no target is aimed at rolls back the whole round",
			map[string]float64{"shirt": 0.01, "coat/blurry": 0.01}, map[string]float64{"sneaker": -0.05},
			func(b, a []int) bool { return true }, []string{"sneaker"}, []string{"shirt", "coat/blurry"}},
	}
	l := NewLearner(DefaultFeedback())
	for _, r := range rounds {
		t.Run(r.desc, func(t *testing.T) {
			before := share(l)
			rep, err := l.Update(RoundResult{Targets: targets, TargetDelta: r.target, ClassDelta: r.class})
			if err != nil {
				t.Fatal(err)
			}
			after := share(l)
			if !r.check(before, after) {
				t.Errorf("allocation %v -> %v", before, after)
			}
			var harmed []string
			for _, h := range rep.Harmed {
				harmed = append(harmed, h.Class)
			}
			if !slices.Equal(harmed, r.harmed) || !slices.Equal(rep.Rollback, r.rollback) || rep.Flagged() != (len(r.harmed) > 0) {
				t.Errorf("harmed %v rollback %v, want %v %v", harmed, rep.Rollback, r.harmed, r.rollback)
			}
		})
	}
	if _, err := l.Update(RoundResult{Targets: targets, TargetDelta: map[string]float64{"shirt": 0}}); err == nil {
		t.Error("a round missing a target's measurement was accepted")
	}
}
