package plan

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Predictions is one validation pass, as plain slices so that any data source can fill it.
type Predictions struct {
	Classes []string // class names, index = label
	True    []int    // true label per image
	Pred    []int    // predicted label per image
	// Probs is optional: N*K class probabilities, row-major. With it, hardness is measured from
	// the probability margin instead of being inferred from the confusion matrix.
	Probs []float64
	// Attrs is optional: N*len(AttrNames) severities in [0, 1], row-major, in the order of AttrOrder
	// (default AttrNames: blur, shadow, low_contrast, noise). Without it there are no segments.
	Attrs     []float64
	AttrOrder []string
	// TrainCounts optionally gives training images per unit ID ("coat", "coat/blurry").
	TrainCounts map[string]int
}

// MetricsOptions tune ComputeMetrics; the zero value means the defaults.
type MetricsOptions struct {
	SeverityThreshold float64   // default DefaultSeverityThreshold
	Bootstrap         Bootstrap // recall confidence intervals
}

func (o MetricsOptions) threshold() float64 {
	if o.SeverityThreshold <= 0 {
		return DefaultSeverityThreshold
	}
	return o.SeverityThreshold
}

// Validate checks shapes and ranges; errors name the offending field and index.
func (p *Predictions) Validate() error {
	k := len(p.Classes)
	if k < 2 {
		return fmt.Errorf("classes: need at least 2 class names, got %d", k)
	}
	seen := map[string]bool{}
	for i, c := range p.Classes {
		if c == "" {
			return fmt.Errorf("classes[%d]: empty class name", i)
		}
		if seen[c] {
			return fmt.Errorf("classes[%d]: duplicate class name %q", i, c)
		}
		seen[c] = true
	}
	n := len(p.True)
	if n == 0 {
		return fmt.Errorf("predictions.true: no images")
	}
	if len(p.Pred) != n {
		return fmt.Errorf("predictions.pred: %d labels for %d images in predictions.true", len(p.Pred), n)
	}
	for i := range n {
		if p.True[i] < 0 || p.True[i] >= k {
			return fmt.Errorf("predictions.true[%d]: unknown class %d (classes has %d names)", i, p.True[i], k)
		}
		if p.Pred[i] < 0 || p.Pred[i] >= k {
			return fmt.Errorf("predictions.pred[%d]: unknown class %d (classes has %d names)", i, p.Pred[i], k)
		}
	}
	if p.Probs != nil {
		if len(p.Probs) != n*k {
			return fmt.Errorf("predictions.probs: %d values, want images*classes = %d*%d", len(p.Probs), n, k)
		}
		for i := range n {
			sum := 0.0
			for j := range k {
				v := p.Probs[i*k+j]
				if !(v >= 0 && v <= 1) {
					return fmt.Errorf("predictions.probs[%d][%d]: %v is not a probability in [0, 1]", i, j, v)
				}
				sum += v
			}
			if math.Abs(sum-1) > 1e-3 {
				return fmt.Errorf("predictions.probs[%d]: sums to %.4f, want 1 (softmax, not logits)", i, sum)
			}
		}
	}
	order := p.attrOrder()
	for i, a := range order {
		if _, ok := BucketOf(a); !ok {
			return fmt.Errorf("attr_names[%d]: unknown condition %q (known: %s)", i, a, strings.Join(AttrNames, ", "))
		}
	}
	if p.Attrs != nil {
		a := len(order)
		if len(p.Attrs) != n*a {
			return fmt.Errorf("predictions.attrs: %d values, want images*attributes = %d*%d", len(p.Attrs), n, a)
		}
		for i, v := range p.Attrs {
			if !(v >= 0 && v <= 1) {
				return fmt.Errorf("predictions.attrs[%d][%d] (%s): severity %v is outside [0, 1]", i/a, i%a, order[i%a], v)
			}
		}
	}
	for id, c := range p.TrainCounts {
		if c < 0 {
			return fmt.Errorf("train_counts[%q]: negative count %d", id, c)
		}
	}
	return nil
}

func (p *Predictions) attrOrder() []string {
	if len(p.AttrOrder) > 0 {
		return p.AttrOrder
	}
	return AttrNames
}

// ComputeMetrics measures per-class and per-segment metrics, the confusion matrices, the summary and
// bootstrap recall intervals. It is deterministic for a given Bootstrap.Seed.
func ComputeMetrics(p Predictions, opt MetricsOptions) (*Metrics, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	k, n := len(p.Classes), len(p.True)
	cm := newMatrix(k)
	for i := range n {
		cm[p.True[i]][p.Pred[i]]++
	}
	m := &Metrics{Classes: p.Classes, Confusion: cm}
	for c := range k {
		m.PerClass = append(m.PerClass, unitFromConfusion(cm, n, c, p.Classes, ""))
	}
	if p.Probs != nil {
		applyMarginHardness(m.PerClass, p, nil, -1)
	}
	if p.Attrs != nil {
		m.Segments = segmentMetrics(p, opt.threshold())
	}
	applyTrainCounts(m, p.TrainCounts)
	m.Summary = summarize(m.PerClass)
	m.Summary.Images = n
	opt.Bootstrap.apply(m)
	return m, nil
}

func newMatrix(k int) [][]int {
	cells := make([]int, k*k)
	cm := make([][]int, k)
	for i := range cm {
		cm[i] = cells[i*k : (i+1)*k]
	}
	return cm
}

// segmentMetrics builds one confusion matrix per bucket over the images in it and reads the class
// figures off each; a unit is reported only when the bucket holds an image of its class or predicted
// as it.
func segmentMetrics(p Predictions, thr float64) []UnitMetrics {
	k, n := len(p.Classes), len(p.True)
	order := p.attrOrder()
	a := len(order)
	cms := make([][][]int, len(Buckets))
	totals := make([]int, len(Buckets))
	members := make([][]bool, len(Buckets))
	for b := range Buckets {
		cms[b] = newMatrix(k)
		if p.Probs != nil {
			members[b] = make([]bool, n)
		}
	}
	clean := bucketIndex(BucketClean)
	for i := range n {
		inSome := false
		for j, name := range order {
			if p.Attrs[i*a+j] >= thr {
				bname, _ := BucketOf(name)
				b := bucketIndex(bname)
				cms[b][p.True[i]][p.Pred[i]]++
				totals[b]++
				inSome = true
				if members[b] != nil {
					members[b][i] = true
				}
			}
		}
		if !inSome {
			cms[clean][p.True[i]][p.Pred[i]]++
			totals[clean]++
			if members[clean] != nil {
				members[clean][i] = true
			}
		}
	}
	var out []UnitMetrics
	for c := range k {
		for b, bname := range Buckets {
			u := unitFromConfusion(cms[b], totals[b], c, p.Classes, bname)
			if u.Support == 0 && u.Predicted == 0 {
				continue
			}
			out = append(out, u)
			if p.Probs != nil {
				applyMarginHardness(out[len(out)-1:], p, members[b], c)
			}
		}
	}
	return out
}

// applyMarginHardness sets Hardness to the mean closeness to the decision boundary,
// 1 - |p(true) - p(strongest rival)|, over each unit's images (restricted to in when not nil).
func applyMarginHardness(units []UnitMetrics, p Predictions, in []bool, only int) {
	k := len(p.Classes)
	sum := make([]float64, k)
	cnt := make([]int, k)
	for i, t := range p.True {
		if (in != nil && !in[i]) || (only >= 0 && t != only) {
			continue
		}
		row := p.Probs[i*k : (i+1)*k]
		rival := 0.0
		for j, v := range row {
			if j != t && v > rival {
				rival = v
			}
		}
		sum[t] += 1 - math.Abs(row[t]-rival)
		cnt[t]++
	}
	for i := range units {
		c := units[i].Class
		if cnt[c] > 0 {
			units[i].Hardness = sum[c] / float64(cnt[c])
		}
	}
}

// confusionHardness infers boundary closeness without probabilities: the geometric mean of how often
// the unit is missed and how concentrated the misses are on one rival.
func confusionHardness(recall, concentration float64, noSupport bool) float64 {
	if noSupport {
		return 0
	}
	return math.Sqrt((1 - recall) * concentration)
}

// applyTrainCounts copies known training counts and estimates a segment's from its class's count and
// the segment's share of the class's validation images.
func applyTrainCounts(m *Metrics, counts map[string]int) {
	for i := range m.PerClass {
		m.PerClass[i].TrainCount = counts[m.PerClass[i].ID]
	}
	for i := range m.Segments {
		s := &m.Segments[i]
		if c, ok := counts[s.ID]; ok {
			s.TrainCount = c
			continue
		}
		cls := m.PerClass[s.Class]
		if cls.TrainCount > 0 && cls.Support > 0 && s.Support > 0 {
			s.TrainCount = max(1, int(math.Round(float64(cls.TrainCount)*float64(s.Support)/float64(cls.Support))))
		}
	}
}

func sortConfusers(c []Confuser) {
	sort.SliceStable(c, func(i, j int) bool {
		if c[i].Share != c[j].Share {
			return c[i].Share > c[j].Share
		}
		return c[i].Class < c[j].Class
	})
}
