package efficacy

import (
	"github.com/gam-native/gam-native/bindings"
	"github.com/gam-native/gam-native/data"
	"github.com/gam-native/gam-native/plan"
	"github.com/gam-native/gam-native/train"
)

// Eval is a model's figures on one dataset.
type Eval struct {
	Summary plan.Summary `json:"summary"`
	Recall  []float64    `json:"recall_per_class"`
	// Shift is set when the dataset carries conditions: the figures on clean and on shifted
	// (any condition applied) images separately, and per condition.
	Shift *ShiftEval `json:"shift,omitempty"`
}

// ShiftEval separates clean from shifted images.
type ShiftEval struct {
	Clean   plan.Summary            `json:"clean"`
	Shifted plan.Summary            `json:"shifted"`
	ByCond  map[string]plan.Summary `json:"by_condition"`
}

// Evaluate predicts ds with m and computes its figures (bench/seednoise uses it too).
func Evaluate(e *bindings.Engine, m *bindings.Model, ds *data.Dataset) (*Eval, error) {
	pr, err := train.Predict(e, m, ds, 512)
	if err != nil {
		return nil, err
	}
	all := make([]int, ds.Len())
	for i := range all {
		all[i] = i
	}
	met, err := metricsOn(ds, pr.Pred, all)
	if err != nil {
		return nil, err
	}
	ev := &Eval{Summary: met.Summary}
	for _, u := range met.PerClass {
		ev.Recall = append(ev.Recall, u.Recall)
	}
	if ds.Attrs == nil {
		return ev, nil
	}
	var clean, shifted []int
	byCond := map[string][]int{}
	for i := 0; i < ds.Len(); i++ {
		a := ds.AttrsOf(i)
		best := -1
		for k, v := range a {
			if v > 0 && (best < 0 || v > a[best]) {
				best = k
			}
		}
		if best < 0 {
			clean = append(clean, i)
			continue
		}
		shifted = append(shifted, i)
		byCond[data.AttrNames[best]] = append(byCond[data.AttrNames[best]], i)
	}
	if len(shifted) == 0 {
		return ev, nil
	}
	ev.Shift = &ShiftEval{ByCond: map[string]plan.Summary{}}
	if m, err := metricsOn(ds, pr.Pred, clean); err == nil {
		ev.Shift.Clean = m.Summary
	}
	if m, err := metricsOn(ds, pr.Pred, shifted); err == nil {
		ev.Shift.Shifted = m.Summary
	}
	for c, idx := range byCond {
		if m, err := metricsOn(ds, pr.Pred, idx); err == nil {
			ev.Shift.ByCond[c] = m.Summary
		}
	}
	return ev, nil
}

// metricsOn computes the metrics of the images at idx.
func metricsOn(ds *data.Dataset, pred []int64, idx []int) (*plan.Metrics, error) {
	p := plan.Predictions{Classes: ds.ClassNames, True: make([]int, len(idx)), Pred: make([]int, len(idx))}
	for j, i := range idx {
		p.True[j], p.Pred[j] = int(ds.Labels[i]), int(pred[i])
	}
	return plan.ComputeMetrics(p, plan.MetricsOptions{})
}
