package plan

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

// TargetsFrom makes one target per class and one per condition segment that is weaker than its class
// (the upper end of its recall interval is below the class's recall): a segment that does as well as
// its class is covered by the class's images, and a separate target would count the class twice. The
// clean bucket is the class itself. A segment's severity range is [threshold, 1], where it was measured.
func TargetsFrom(m *Metrics, classes, segments []Difficulty, threshold float64) []Target {
	if threshold <= 0 {
		threshold = DefaultSeverityThreshold
	}
	var out []Target
	for i, u := range m.PerClass {
		out = append(out, Target{ID: u.ID, Class: u.Class, ClassName: u.ClassName, Hardness: u.Hardness,
			ConfusedWith: u.ConfusedWith, Difficulty: classes[i].Score})
	}
	for i, u := range m.Segments {
		attr, ok := AttrOf(u.Segment)
		if !ok || u.NoSupport || u.RecallCI[1] >= m.PerClass[u.Class].Recall {
			continue
		}
		out = append(out, Target{ID: u.ID, Class: u.Class, ClassName: u.ClassName, Condition: attr,
			SeverityMin: threshold, SeverityMax: 1, Hardness: u.Hardness, ConfusedWith: u.ConfusedWith,
			Difficulty: segments[i].Score})
	}
	return out
}
