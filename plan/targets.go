package plan

import "math"

// Target is one thing to generate: a class, optionally within a condition at a severity range,
// aimed at a hardness (0: typical images of the class, 1: images at the boundary with the classes in
// ConfusedWith). Count is filled by the allocation.
type Target struct {
	ID        string `json:"id"` // "shirt" or "coat/blurry": the unit whose metric measures the target
	Class     int    `json:"class"`
	ClassName string `json:"class_name"`
	// Condition is the contract attribute name (blur, shadow, low_contrast, noise); "" for none.
	Condition    string     `json:"condition,omitempty"`
	SeverityMin  float64    `json:"severity_min,omitempty"`
	SeverityMax  float64    `json:"severity_max,omitempty"`
	Hardness     float64    `json:"hardness"`
	ConfusedWith []Confuser `json:"confused_with,omitempty"`
	Difficulty   float64    `json:"difficulty"`
	Count        int        `json:"count"`
}

// TargetsFrom makes one target per class and one per condition segment that is weaker than its class:
// the upper end of its recall interval is below the class's recall, or its condition is weak over all
// classes (WeakConditions) and its recall is below its class's. A segment that does as well as its
// class is covered by the class's images, and a separate target would count the class twice. The
// clean bucket is the class itself. A segment's severity range is [threshold, 1], where it was measured.
// With cover, every segment of a condition weak over all classes is a target, whatever its recall
// (Config.CoverWeakConditions).
func TargetsFrom(m *Metrics, classes, segments []Difficulty, threshold float64, cover bool) []Target {
	if threshold <= 0 {
		threshold = DefaultSeverityThreshold
	}
	var out []Target
	for i, u := range m.PerClass {
		out = append(out, Target{ID: u.ID, Class: u.Class, ClassName: u.ClassName, Hardness: u.Hardness,
			ConfusedWith: u.ConfusedWith, Difficulty: classes[i].Score})
	}
	weak := WeakConditions(m)
	for i, u := range m.Segments {
		attr, ok := AttrOf(u.Segment)
		if !ok || u.NoSupport {
			continue
		}
		classRecall := m.PerClass[u.Class].Recall
		if u.RecallCI[1] >= classRecall && !(weak[u.Segment] && (cover || u.Recall < classRecall)) {
			continue
		}
		out = append(out, Target{ID: u.ID, Class: u.Class, ClassName: u.ClassName, Condition: attr,
			SeverityMin: threshold, SeverityMax: 1, Hardness: u.Hardness, ConfusedWith: u.ConfusedWith,
			Difficulty: segments[i].Score})
	}
	return out
}

// WeakConditions names the condition buckets that are weak over all classes: pooled over every class,
// the upper end of the bucket's 95% Wilson interval for recall is below the recall of the clean images
// (the clean bucket pooled, or every image when there is none). With 100 validation images per class
// and 30% of them degraded, one class's blurry segment holds ~15 images and its own interval rarely
// clears its class's recall; pooled, the condition's ~150 images show a 20-point gap plainly. Each
// segment of a weak condition that is below its class then becomes a target.
func WeakConditions(m *Metrics) map[string]bool {
	type pool struct{ hits, n float64 }
	by := map[string]*pool{}
	for _, u := range m.Segments {
		if u.NoSupport || u.Support <= 0 {
			continue
		}
		p := by[u.Segment]
		if p == nil {
			p = &pool{}
			by[u.Segment] = p
		}
		p.hits += math.Round(u.Recall * float64(u.Support))
		p.n += float64(u.Support)
	}
	var ref pool
	if c := by[BucketClean]; c != nil && c.n > 0 {
		ref = *c
	} else {
		for _, u := range m.PerClass {
			if !u.NoSupport && u.Support > 0 {
				ref.hits += math.Round(u.Recall * float64(u.Support))
				ref.n += float64(u.Support)
			}
		}
	}
	out := map[string]bool{}
	if ref.n == 0 {
		return out
	}
	for b, p := range by {
		if _, ok := AttrOf(b); !ok || p.n == 0 {
			continue
		}
		if wilsonUpper(p.hits, p.n, 1.96) < ref.hits/ref.n {
			out[b] = true
		}
	}
	return out
}

// wilsonUpper is the upper end of the Wilson score interval for hits successes in n trials.
func wilsonUpper(hits, n, z float64) float64 {
	p := hits / n
	z2 := z * z
	centre := p + z2/(2*n)
	half := z * math.Sqrt(p*(1-p)/n+z2/(4*n*n))
	return (centre + half) / (1 + z2/n)
}
