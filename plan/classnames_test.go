package plan

import (
	"strings"
	"testing"
)

// TestClassNamesWithSlashes (issue 22, item 1): torchvision's "T-shirt/top" is a class name like
// any other: train_counts accepts it and its segments, and the plan carries the metrics' classes.
func TestClassNamesWithSlashes(t *testing.T) {
	doc := `{"format": "gam.metrics/v1", "classes": ["T-shirt/top", "Trouser", "Ankle boot"],
	  "attr_names": ["blur"],
	  "train_counts": {"T-shirt/top": 600, "T-shirt/top/blurry": 60, "Ankle boot": 50},
	  "predictions": {"true": [0, 0, 1, 1, 2, 2], "pred": [0, 1, 1, 1, 2, 0], "attrs": [[0.9], [0], [0.8], [0], [0], [0.7]]}}`
	m, err := ReadMetrics(strings.NewReader(doc), MetricsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m.PerClass[0].TrainCount != 600 {
		t.Fatalf("T-shirt/top's train count %d, want 600", m.PerClass[0].TrainCount)
	}
	p, err := BuildPlan(m, DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(p.ClassNames, ",") != "T-shirt/top,Trouser,Ankle boot" {
		t.Fatalf("the plan's classes: %q", p.ClassNames)
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	p.Targets[0].ClassName = "Bag"
	if err := p.Validate(); err == nil || !strings.Contains(err.Error(), `not "Bag"`) {
		t.Fatalf("a target whose name disagrees with the plan's classes: %v", err)
	}

	classes := []string{"T-shirt/top", "T-shirt", "coat"}
	for _, c := range []struct {
		id     string
		class  int
		bucket string
		ok     bool
	}{
		{"T-shirt/top", 0, "", true},
		{"T-shirt/top/blurry", 0, "blurry", true},
		{"T-shirt/blurry", 1, "blurry", true},
		{"T-shirt", 1, "", true},
		{"coat/noisy", 2, "noisy", true},
		{"coat/top", -1, "", false},
		{"hat", -1, "", false},
	} {
		k, b, ok := SplitID(c.id, classes)
		if k != c.class || b != c.bucket || ok != c.ok {
			t.Errorf("SplitID(%q) = %d, %q, %v; want %d, %q, %v", c.id, k, b, ok, c.class, c.bucket, c.ok)
		}
	}
	for _, c := range []struct{ tc, want string }{
		{`{"T-shirt/top/misty": 3}`, `unknown segment "misty"`},
		{`{"Hat/blurry": 3}`, `unknown class "Hat"`},
	} {
		bad := strings.Replace(doc, `{"T-shirt/top": 600, "T-shirt/top/blurry": 60, "Ankle boot": 50}`, c.tc, 1)
		if _, err := ReadMetrics(strings.NewReader(bad), MetricsOptions{}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("train_counts %s: %v, want %s", c.tc, err, c.want)
		}
	}
}
