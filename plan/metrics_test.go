package plan

import (
	"math"
	"testing"
)

// handExample: 10 images, 4 classes. "c" is never predicted; "d" has no support but is predicted once.
//
//	true\pred  a  b  c  d
//	a          3  1  0  0
//	b          1  2  0  0
//	c          1  1  0  1
//	d          0  0  0  0
func handExample() Predictions {
	return Predictions{
		Classes: []string{"a", "b", "c", "d"},
		True:    []int{0, 0, 0, 0, 1, 1, 1, 2, 2, 2},
		Pred:    []int{0, 0, 0, 1, 1, 1, 0, 0, 1, 3},
		// Only the first a->a, the a->b and the b->a images are blurry.
		Attrs: []float64{
			0.9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.6, 0, 0, 0,
			0, 0, 0, 0, 0, 0, 0, 0, 0.7, 0, 0, 0,
			0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		},
	}
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12 }

func TestHandCheckedMetrics(t *testing.T) {
	m, err := ComputeMetrics(handExample(), MetricsOptions{Bootstrap: Bootstrap{Seed: 7}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc                       string
		id                         string
		support, predicted, tp, fp int
		fn, tn                     int
		precision, recall, f1, fpr float64
		noSupport                  bool
		concentration              float64
	}{
		{"ordinary class", "a", 4, 5, 3, 2, 1, 4, 3.0 / 5, 3.0 / 4, 2.0 / 3, 2.0 / 6, false, 1},
		{"ordinary class with one miss", "b", 3, 4, 2, 2, 1, 5, 2.0 / 4, 2.0 / 3, 4.0 / 7, 2.0 / 7, false, 1},
		{"never predicted: precision 0, not NaN", "c", 3, 0, 0, 0, 3, 7, 0, 0, 0, 0, false, 1.0 / 3},
		{"no support: recall 0 and flagged", "d", 0, 1, 0, 1, 0, 9, 0, 0, 0, 1.0 / 10, true, 0},
		{"segment a/blurry", "a/blurry", 2, 2, 1, 1, 1, 0, 0.5, 0.5, 0.5, 1, false, 1},
		{"segment b/blurry: missed and never right", "b/blurry", 1, 1, 0, 1, 1, 1, 0, 0, 0, 0.5, false, 1},
		{"segment a/clean", "a/clean", 2, 3, 2, 1, 0, 4, 2.0 / 3, 1, 0.8, 1.0 / 5, false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			u, ok := m.Unit(tc.id)
			if !ok {
				t.Fatalf("unit %q missing", tc.id)
			}
			if u.Support != tc.support || u.Predicted != tc.predicted || u.TP != tc.tp || u.FP != tc.fp || u.FN != tc.fn || u.TN != tc.tn {
				t.Errorf("counts support/pred/tp/fp/fn/tn = %d/%d/%d/%d/%d/%d, want %d/%d/%d/%d/%d/%d",
					u.Support, u.Predicted, u.TP, u.FP, u.FN, u.TN, tc.support, tc.predicted, tc.tp, tc.fp, tc.fn, tc.tn)
			}
			for _, c := range []struct {
				name      string
				got, want float64
			}{{"precision", u.Precision, tc.precision}, {"recall", u.Recall, tc.recall}, {"f1", u.F1, tc.f1},
				{"fpr", u.FPR, tc.fpr}, {"concentration", u.Concentration, tc.concentration}} {
				if !near(c.got, c.want) || math.IsNaN(c.got) {
					t.Errorf("%s = %.17g, want %.17g", c.name, c.got, c.want)
				}
			}
			if u.NoSupport != tc.noSupport {
				t.Errorf("NoSupport = %v, want %v", u.NoSupport, tc.noSupport)
			}
		})
	}
	want := [][]int{{3, 1, 0, 0}, {1, 2, 0, 0}, {1, 1, 0, 1}, {0, 0, 0, 0}}
	for i := range want {
		for j := range want[i] {
			if m.Confusion[i][j] != want[i][j] {
				t.Fatalf("confusion[%d][%d] = %d, want %d", i, j, m.Confusion[i][j], want[i][j])
			}
		}
	}
}

func TestSummary(t *testing.T) {
	hand, err := ComputeMetrics(handExample(), MetricsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	two, err := ComputeMetrics(Predictions{Classes: []string{"x", "y"},
		True: []int{0, 0, 1, 1, 1, 1, 1}, Pred: []int{0, 1, 1, 1, 1, 1, 0}}, MetricsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc                            string
		got                             Summary
		acc, bal, macroF1, gmean, worst float64
		worstClass                      string
		scored                          int
	}{
		// Class d (no support) is left out; c has recall 0 so the geometric mean is 0.
		{"hand example", hand.Summary, 5.0 / 10, 17.0 / 36, 26.0 / 63, 0, 0, "c", 3},
		// x: recall 1/2, precision 1/2; y: recall 4/5, precision 4/5.
		{"two classes", two.Summary, 5.0 / 7, 0.65, 0.65, math.Sqrt(0.4), 0.5, "x", 2},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			s := tc.got
			if !near(s.Accuracy, tc.acc) || !near(s.BalancedAccuracy, tc.bal) || !near(s.MacroF1, tc.macroF1) ||
				!near(s.GeoMeanRecall, tc.gmean) || !near(s.WorstRecall, tc.worst) || s.WorstClass != tc.worstClass || s.ClassesScored != tc.scored {
				t.Errorf("summary = %+v\nwant acc %.17g bal %.17g macroF1 %.17g gmean %.17g worst %.17g (%s) scored %d",
					s, tc.acc, tc.bal, tc.macroF1, tc.gmean, tc.worst, tc.worstClass, tc.scored)
			}
		})
	}
}

func TestBootstrapIntervals(t *testing.T) {
	big := Predictions{Classes: []string{"x", "y"}}
	for i := range 1200 {
		big.True = append(big.True, 0)
		big.Pred = append(big.Pred, map[bool]int{true: 0, false: 1}[i%10 < 6])
	}
	for i := range 12 {
		big.True = append(big.True, 1)
		big.Pred = append(big.Pred, map[bool]int{true: 1, false: 0}[i%10 < 6])
	}
	a, _ := ComputeMetrics(big, MetricsOptions{Bootstrap: Bootstrap{Seed: 3}})
	b, _ := ComputeMetrics(big, MetricsOptions{Bootstrap: Bootstrap{Seed: 3}})
	tests := []struct {
		desc string
		ok   bool
	}{
		{"same seed, same intervals", a.PerClass[0].RecallCI == b.PerClass[0].RecallCI && a.PerClass[1].RecallCI == b.PerClass[1].RecallCI},
		{"interval holds the recall", a.PerClass[0].RecallCI[0] <= a.PerClass[0].Recall && a.PerClass[0].Recall <= a.PerClass[0].RecallCI[1]},
		{"12 images give a wider interval than 1,200",
			a.PerClass[1].RecallCI[1]-a.PerClass[1].RecallCI[0] > 4*(a.PerClass[0].RecallCI[1]-a.PerClass[0].RecallCI[0])},
		{"1,200 images at 0.6: half-width near 1.96*sqrt(.24/1200)=0.028",
			math.Abs((a.PerClass[0].RecallCI[1]-a.PerClass[0].RecallCI[0])/2-0.0277) < 0.006},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			if !tc.ok {
				t.Errorf("failed: class CIs %v %v", a.PerClass[0].RecallCI, a.PerClass[1].RecallCI)
			}
		})
	}
}
