package plan

// UnitMetrics are the validation figures of one unit: a class (Segment == "") or a segment (a class
// within one condition bucket). A unit with no support has Recall 0, F1 0 and NoSupport set; it is left
// out of the summary figures and gets the mean difficulty (see docs/planning.md). A class that is never
// predicted has Precision 0, not NaN.
type UnitMetrics struct {
	ID        string `json:"id"`
	Class     int    `json:"class"`
	ClassName string `json:"class_name"`
	Segment   string `json:"segment,omitempty"`

	Support   int `json:"support"`   // validation images whose true label is the class (in the bucket)
	Predicted int `json:"predicted"` // validation images predicted as the class (in the bucket)
	TP        int `json:"tp"`
	FP        int `json:"fp"`
	FN        int `json:"fn"`
	TN        int `json:"tn"`

	Precision float64    `json:"precision"`
	Recall    float64    `json:"recall"`
	F1        float64    `json:"f1"`
	FPR       float64    `json:"fpr"`
	RecallCI  [2]float64 `json:"recall_ci"`
	NoSupport bool       `json:"no_support,omitempty"`

	// Concentration is the share of the unit's misses that go to its most frequent wrong class
	// (0 without misses); ConfusedWith lists the wrong classes that take at least 10% of its misses.
	Concentration float64    `json:"concentration"`
	ConfusedWith  []Confuser `json:"confused_with,omitempty"`
	// Hardness in [0, 1]: how close the unit's images sit to the decision boundary (docs/planning.md).
	Hardness float64 `json:"hardness"`
	// TrainCount is the number of training images of the unit; 0 means unknown.
	TrainCount int `json:"train_count,omitempty"`
}

// Confuser is a class that takes a share of a unit's misses.
type Confuser struct {
	Class int     `json:"class"`
	Name  string  `json:"name"`
	Share float64 `json:"share"` // of the unit's misses
}

// Summary holds the figures reported for imbalanced data, over classes with support.
type Summary struct {
	Accuracy         float64 `json:"accuracy"`
	BalancedAccuracy float64 `json:"balanced_accuracy"`
	MacroF1          float64 `json:"macro_f1"`
	GeoMeanRecall    float64 `json:"gmean_recall"`
	WorstRecall      float64 `json:"worst_recall"`
	WorstClass       string  `json:"worst_class"`
	ClassesScored    int     `json:"classes_scored"` // classes with support
	Images           int     `json:"images"`
}

// Metrics is everything measured on one validation pass.
type Metrics struct {
	Classes   []string      `json:"classes"`
	Confusion [][]int       `json:"confusion,omitempty"` // [true][pred]; nil for precomputed input without one
	PerClass  []UnitMetrics `json:"per_class"`
	Segments  []UnitMetrics `json:"segments,omitempty"`
	Summary   Summary       `json:"summary"`
}

// Unit finds a class or segment by ID.
func (m *Metrics) Unit(id string) (*UnitMetrics, bool) {
	for i := range m.PerClass {
		if m.PerClass[i].ID == id {
			return &m.PerClass[i], true
		}
	}
	for i := range m.Segments {
		if m.Segments[i].ID == id {
			return &m.Segments[i], true
		}
	}
	return nil, false
}

// ratio is a/b, or 0 when b is 0: the convention for never-predicted and unsupported classes.
func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func f1(p, r float64) float64 {
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}

// unitFromConfusion fills the counts and rates of class c from a confusion matrix restricted to one
// bucket (or the whole set).
func unitFromConfusion(cm [][]int, total int, c int, names []string, bucket string) UnitMetrics {
	u := UnitMetrics{ID: SegmentID(names[c], bucket), Class: c, ClassName: names[c], Segment: bucket}
	for _, v := range cm[c] {
		u.Support += v
	}
	for i := range cm {
		u.Predicted += cm[i][c]
	}
	u.TP = cm[c][c]
	u.FP = u.Predicted - u.TP
	u.FN = u.Support - u.TP
	u.TN = total - u.TP - u.FP - u.FN
	u.Precision = ratio(u.TP, u.Predicted)
	u.Recall = ratio(u.TP, u.Support)
	u.F1 = f1(u.Precision, u.Recall)
	u.FPR = ratio(u.FP, u.FP+u.TN)
	u.NoSupport = u.Support == 0
	u.Concentration, u.ConfusedWith = confusers(cm[c], c, names)
	u.Hardness = confusionHardness(u.Recall, u.Concentration, u.NoSupport)
	return u
}

// confuserMinShare is the smallest share of a unit's misses for a class to be listed as a confuser.
const confuserMinShare = 0.10

// maxConfusers bounds the list; the generator aims hard examples at these boundaries.
const maxConfusers = 3

func confusers(row []int, c int, names []string) (float64, []Confuser) {
	miss := 0
	for j, v := range row {
		if j != c {
			miss += v
		}
	}
	if miss == 0 {
		return 0, nil
	}
	var out []Confuser
	top := 0
	for j, v := range row {
		if j == c || v == 0 {
			continue
		}
		top = max(top, v)
		if s := float64(v) / float64(miss); s >= confuserMinShare {
			out = append(out, Confuser{Class: j, Name: names[j], Share: s})
		}
	}
	sortConfusers(out)
	if len(out) > maxConfusers {
		out = out[:maxConfusers]
	}
	return float64(top) / float64(miss), out
}
