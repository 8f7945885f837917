package plan

import (
	"math"
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

// A harm flag needs a drop beyond the tolerance and beyond HarmZ standard errors of the change: one
// image of 100 (0.01 in float, -0.010000000000000009) is not one, nor is three, at z = 1.
func TestHarmNeedsMoreThanNoise(t *testing.T) {
	if se := DeltaSE(0.9, 100, 0.8, 100); math.Abs(se-0.05084) > 1e-4 {
		t.Fatalf("DeltaSE(0.9, 100, 0.8, 100) = %.5f, want 0.05084 (hand-computed, Agresti-Coull)", se)
	}
	c := DefaultFeedback()
	oneImage := 0.87 - 0.88
	cases := []struct {
		desc string
		z    float64
		d    float64
		want bool
	}{
		{"one image, tolerance only", 0, oneImage, false},
		{"two images, tolerance only", 0, 0.86 - 0.88, true},
		{"three images at z = 1", 1, 0.85 - 0.88, false},
		{"ten images at z = 1", 1, 0.78 - 0.88, true},
	}
	for _, tc := range cases {
		c.HarmZ = tc.z
		se := DeltaSE(0.88, 100, 0.88+tc.d, 100)
		if got := c.Harmful(tc.d, se); got != tc.want {
			t.Errorf("%s: Harmful(%.3f, se %.3f) = %v, want %v", tc.desc, tc.d, se, got, tc.want)
		}
	}
	l := NewLearner(DefaultFeedback())
	tg := []Target{{ID: "shirt", ClassName: "shirt"}}
	rep, err := l.Update(RoundResult{Targets: tg, TargetDelta: map[string]float64{"shirt": 0.05},
		ClassDelta: map[string]float64{"coat": 0.85 - 0.88, "dress": 0.78 - 0.88},
		ClassSE:    map[string]float64{"coat": DeltaSE(0.88, 100, 0.85, 100), "dress": DeltaSE(0.88, 100, 0.78, 100)}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Harmed) != 1 || rep.Harmed[0].Class != "dress" {
		t.Errorf("harmed %v, want only dress (coat's 3 images are within one standard error)", rep.Harmed)
	}
}
