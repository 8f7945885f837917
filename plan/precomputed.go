package plan

import (
	"fmt"
	"math"
	"strings"
)

// precomputed validates a metrics-mode document and turns it into Metrics. Counts that the format
// does not carry (TP, FP, ...) are reconstructed from support, recall and precision, rounded.
func (doc *metricsFile) precomputed(opt MetricsOptions) (*Metrics, error) {
	md := doc.Metrics
	names := doc.Classes
	if err := (&Predictions{Classes: names, True: []int{0}, Pred: []int{0}}).Validate(); err != nil {
		return nil, err
	}
	index := map[string]int{}
	for i, c := range names {
		index[c] = i
	}
	if md.Classes == nil {
		return nil, fmt.Errorf("metrics.classes: missing field")
	}
	if md.Confusion != nil {
		if err := checkConfusion(md.Confusion, len(names)); err != nil {
			return nil, err
		}
	}
	m := &Metrics{Classes: names, Confusion: md.Confusion, PerClass: make([]UnitMetrics, len(names))}
	seen := make([]bool, len(names))
	for i, d := range md.Classes {
		field := fmt.Sprintf("metrics.classes[%d]", i)
		u, err := d.unit(field, index, names, "", nil)
		if err != nil {
			return nil, err
		}
		if seen[u.Class] {
			return nil, fmt.Errorf("%s.class: class %q listed twice", field, u.ClassName)
		}
		seen[u.Class] = true
		if md.Confusion != nil && d.ConfusedWith == nil {
			u.Concentration, u.ConfusedWith = confusers(md.Confusion[u.Class], u.Class, names)
			if d.Hardness == nil {
				u.Hardness = confusionHardness(u.Recall, u.Concentration, u.NoSupport)
			}
		}
		m.PerClass[u.Class] = u
	}
	for c, ok := range seen {
		if !ok {
			return nil, fmt.Errorf("metrics.classes: class %q has no entry (list every class; support 0 if it has no images)", names[c])
		}
	}
	segSeen := map[string]bool{}
	for i, d := range md.Segments {
		field := fmt.Sprintf("metrics.segments[%d]", i)
		if d.Condition == nil {
			return nil, fmt.Errorf("%s.condition: missing field", field)
		}
		bucket := *d.Condition
		if b, ok := BucketOf(bucket); ok {
			bucket = b
		}
		if bucketIndex(bucket) < 0 {
			return nil, fmt.Errorf("%s.condition: unknown condition %q (known: %s, or %s)", field, *d.Condition, strings.Join(Buckets, ", "), strings.Join(AttrNames, ", "))
		}
		u, err := d.unit(field, index, names, bucket, m.PerClass)
		if err != nil {
			return nil, err
		}
		if segSeen[u.ID] {
			return nil, fmt.Errorf("%s: segment %q listed twice", field, u.ID)
		}
		segSeen[u.ID] = true
		m.Segments = append(m.Segments, u)
	}
	applyTrainCounts(m, mergeCounts(doc.TrainCounts, m))
	m.Summary = summarize(m.PerClass)
	opt.Bootstrap.apply(m)
	return m, nil
}

// mergeCounts gives per-entry train_count precedence over the top-level map.
func mergeCounts(top map[string]int, m *Metrics) map[string]int {
	out := map[string]int{}
	for k, v := range top {
		out[k] = v
	}
	for _, u := range append(append([]UnitMetrics{}, m.PerClass...), m.Segments...) {
		if u.TrainCount > 0 {
			out[u.ID] = u.TrainCount
		}
	}
	return out
}

func checkConfusion(cm [][]int, k int) error {
	if len(cm) != k {
		return fmt.Errorf("metrics.confusion: %d rows, want one per class (%d)", len(cm), k)
	}
	for i, row := range cm {
		if len(row) != k {
			return fmt.Errorf("metrics.confusion[%d]: %d columns, want %d", i, len(row), k)
		}
		for j, v := range row {
			if v < 0 {
				return fmt.Errorf("metrics.confusion[%d][%d]: negative count %d", i, j, v)
			}
		}
	}
	return nil
}

func unitRate(field, name string, v *float64, required bool) (float64, bool, error) {
	if v == nil {
		if required {
			return 0, false, fmt.Errorf("%s.%s: missing field", field, name)
		}
		return 0, false, nil
	}
	if math.IsNaN(*v) || *v < 0 {
		return 0, false, fmt.Errorf("%s.%s: %v is below 0", field, name, *v)
	}
	if *v > 1 {
		return 0, false, fmt.Errorf("%s.%s: %v is above 1 (rates are fractions, not percentages)", field, name, *v)
	}
	return *v, true, nil
}

// unit validates one entry. Segments (classes != nil) may leave out precision, fpr and
// confused_with; they inherit their class's values.
func (d unitDoc) unit(field string, index map[string]int, names []string, bucket string, classes []UnitMetrics) (UnitMetrics, error) {
	var u UnitMetrics
	if d.Class == nil {
		return u, fmt.Errorf("%s.class: missing field", field)
	}
	c, ok := index[*d.Class]
	if !ok {
		return u, fmt.Errorf("%s.class: unknown class %q (known: %s)", field, *d.Class, strings.Join(names, ", "))
	}
	if d.Condition != nil && classes == nil {
		return u, fmt.Errorf("%s.condition: not allowed in metrics.classes (put segments in metrics.segments)", field)
	}
	if d.Support == nil {
		return u, fmt.Errorf("%s.support: missing field", field)
	}
	if *d.Support < 0 {
		return u, fmt.Errorf("%s.support: negative count %d", field, *d.Support)
	}
	seg := classes != nil
	u = UnitMetrics{ID: SegmentID(names[c], bucket), Class: c, ClassName: names[c], Segment: bucket, Support: *d.Support}
	var err error
	var has bool
	if u.Recall, _, err = unitRate(field, "recall", d.Recall, true); err != nil {
		return u, err
	}
	if u.Precision, has, err = unitRate(field, "precision", d.Precision, !seg); err != nil {
		return u, err
	} else if !has {
		u.Precision = classes[c].Precision
	}
	if u.FPR, has, err = unitRate(field, "fpr", d.FPR, !seg); err != nil {
		return u, err
	} else if !has {
		u.FPR = classes[c].FPR
	}
	if u.F1, has, err = unitRate(field, "f1", d.F1, false); err != nil {
		return u, err
	} else if !has {
		u.F1 = f1(u.Precision, u.Recall)
	}
	u.NoSupport = u.Support == 0
	if u.NoSupport && u.Recall != 0 {
		return u, fmt.Errorf("%s.recall: %v with support 0 (a class with no images has recall 0)", field, u.Recall)
	}
	u.TP = int(math.Round(u.Recall * float64(u.Support)))
	u.FN = u.Support - u.TP
	if u.Precision > 0 {
		u.Predicted = int(math.Round(float64(u.TP) / u.Precision))
		u.FP = u.Predicted - u.TP
	}
	if d.RecallCI != nil {
		if len(d.RecallCI) != 2 || d.RecallCI[0] < 0 || d.RecallCI[1] > 1 || d.RecallCI[0] > u.Recall || d.RecallCI[1] < u.Recall {
			return u, fmt.Errorf("%s.recall_ci: %v is not [low, high] with 0 <= low <= recall (%v) <= high <= 1", field, d.RecallCI, u.Recall)
		}
		u.RecallCI = [2]float64{d.RecallCI[0], d.RecallCI[1]}
	}
	if d.ConfusedWith != nil {
		total := 0.0
		for name, share := range d.ConfusedWith {
			j, ok := index[name]
			if !ok {
				return u, fmt.Errorf("%s.confused_with: unknown class %q", field, name)
			}
			if j == c {
				return u, fmt.Errorf("%s.confused_with: %q is the class itself", field, name)
			}
			if !(share >= 0 && share <= 1) {
				return u, fmt.Errorf("%s.confused_with[%q]: share %v is outside [0, 1]", field, name, share)
			}
			total += share
			u.Concentration = max(u.Concentration, share)
			if share >= confuserMinShare {
				u.ConfusedWith = append(u.ConfusedWith, Confuser{Class: j, Name: name, Share: share})
			}
		}
		if total > 1+1e-9 {
			return u, fmt.Errorf("%s.confused_with: shares sum to %.4f, above 1 (they are shares of the class's misses)", field, total)
		}
		sortConfusers(u.ConfusedWith)
		if len(u.ConfusedWith) > maxConfusers {
			u.ConfusedWith = u.ConfusedWith[:maxConfusers]
		}
	} else if seg {
		u.Concentration, u.ConfusedWith = classes[c].Concentration, classes[c].ConfusedWith
	}
	if u.Hardness, has, err = unitRate(field, "hardness", d.Hardness, false); err != nil {
		return u, err
	} else if !has {
		u.Hardness = confusionHardness(u.Recall, u.Concentration, u.NoSupport)
	}
	if d.TrainCount != nil {
		if *d.TrainCount < 0 {
			return u, fmt.Errorf("%s.train_count: negative count %d", field, *d.TrainCount)
		}
		u.TrainCount = *d.TrainCount
	}
	return u, nil
}
