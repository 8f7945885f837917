package plan

import "math"

// summarize computes the imbalanced-data figures over classes with support: a class with no
// validation images has no recall to average and is left out (ClassesScored says how many counted).
func summarize(classes []UnitMetrics) Summary {
	var s Summary
	tp, total := 0, 0
	logSum := 0.0
	zero := false
	s.WorstRecall = math.Inf(1)
	for _, u := range classes {
		if u.NoSupport {
			continue
		}
		s.ClassesScored++
		tp += u.TP
		total += u.Support
		s.BalancedAccuracy += u.Recall
		s.MacroF1 += u.F1
		if u.Recall == 0 {
			zero = true
		} else {
			logSum += math.Log(u.Recall)
		}
		if u.Recall < s.WorstRecall {
			s.WorstRecall, s.WorstClass = u.Recall, u.ClassName
		}
	}
	if s.ClassesScored == 0 {
		s.WorstRecall = 0
		return s
	}
	k := float64(s.ClassesScored)
	s.Accuracy = ratio(tp, total)
	s.BalancedAccuracy /= k
	s.MacroF1 /= k
	if !zero {
		s.GeoMeanRecall = math.Exp(logSum / k)
	}
	s.Images = total
	return s
}
