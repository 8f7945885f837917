package plan

import (
	"os"
	"strings"
	"testing"
)

func TestReadMetricsExamples(t *testing.T) {
	tests := []struct {
		desc, file string
		classes    int
		segments   bool
	}{
		{"predictions document (docs/metrics-format.md example 1)", "testdata/predictions.json", 4, true},
		{"precomputed metrics document (example 2)", "testdata/metrics.json", 10, true},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			m, err := ReadMetricsFile(tc.file, MetricsOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(m.PerClass) != tc.classes || (len(m.Segments) > 0) != tc.segments {
				t.Errorf("got %d classes, %d segments", len(m.PerClass), len(m.Segments))
			}
		})
	}
}

func TestPredictionsFileMatchesHandExample(t *testing.T) {
	m, err := ReadMetricsFile("testdata/predictions.json", MetricsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !near(m.Summary.BalancedAccuracy, 17.0/36) || !near(m.Summary.MacroF1, 26.0/63) {
		t.Errorf("summary %+v differs from the hand example", m.Summary)
	}
	// With probabilities, hardness is the mean closeness to the boundary: class a's images have
	// margins .85, .70, .50, -.10, so 1-|m| averages (0.15+0.30+0.50+0.90)/4.
	if a := m.PerClass[0]; !near(a.Hardness, (0.15+0.30+0.50+0.90)/4) {
		t.Errorf("hardness of a = %.17g", a.Hardness)
	}
	if s, _ := m.Unit("c/blurry"); s != nil {
		t.Errorf("c has no blurry images, got segment %+v", s)
	}
}

const goodHead = `"format": "gam.metrics/v1", "classes": ["a", "b"]`

func TestBadMetricsInput(t *testing.T) {
	tests := []struct {
		desc, doc, want string
	}{
		{"wrong version", `{"format": "gam.metrics/v2", "classes": ["a","b"], "metrics": {"classes": []}}`, `format: unsupported version "gam.metrics/v2"`},
		{"missing version", `{"classes": ["a","b"], "metrics": {"classes": []}}`, "format: missing field"},
		{"missing classes", `{"format": "gam.metrics/v1", "metrics": {"classes": []}}`, "classes: missing field"},
		{"neither predictions nor metrics", `{` + goodHead + `}`, "predictions, metrics: missing field"},
		{"both predictions and metrics", `{` + goodHead + `, "predictions": {"true": [0], "pred": [0]}, "metrics": {"classes": []}}`, "not both"},
		{"unknown class in metrics", `{` + goodHead + `, "metrics": {"classes": [{"class": "c", "support": 1, "precision": 1, "recall": 1, "fpr": 0}]}}`,
			`metrics.classes[0].class: unknown class "c"`},
		{"recall above 1", `{` + goodHead + `, "metrics": {"classes": [{"class": "a", "support": 10, "precision": 0.9, "recall": 85, "fpr": 0}]}}`,
			"metrics.classes[0].recall: 85 is above 1"},
		{"negative precision", `{` + goodHead + `, "metrics": {"classes": [{"class": "a", "support": 10, "precision": -0.1, "recall": 0.5, "fpr": 0}]}}`,
			"metrics.classes[0].precision: -0.1 is below 0"},
		{"missing recall", `{` + goodHead + `, "metrics": {"classes": [{"class": "a", "support": 10, "precision": 0.9, "fpr": 0}]}}`,
			"metrics.classes[0].recall: missing field"},
		{"missing support", `{` + goodHead + `, "metrics": {"classes": [{"class": "a", "precision": 0.9, "recall": 0.5, "fpr": 0}]}}`,
			"metrics.classes[0].support: missing field"},
		{"missing class entry", `{` + goodHead + `, "metrics": {"classes": [{"class": "a", "support": 10, "precision": 0.9, "recall": 0.5, "fpr": 0}]}}`,
			`metrics.classes: class "b" has no entry`},
		{"segment with unknown condition", `{` + goodHead + `, "metrics": {"classes": [
			{"class": "a", "support": 10, "precision": 0.9, "recall": 0.5, "fpr": 0},
			{"class": "b", "support": 10, "precision": 0.9, "recall": 0.5, "fpr": 0}],
			"segments": [{"class": "a", "condition": "foggy", "support": 3, "recall": 0.3}]}}`, `metrics.segments[0].condition: unknown condition "foggy"`},
		{"segment recall above 1", `{` + goodHead + `, "metrics": {"classes": [
			{"class": "a", "support": 10, "precision": 0.9, "recall": 0.5, "fpr": 0},
			{"class": "b", "support": 10, "precision": 0.9, "recall": 0.5, "fpr": 0}],
			"segments": [{"class": "a", "condition": "blur", "support": 3, "recall": 1.5}]}}`, "metrics.segments[0].recall: 1.5 is above 1"},
		{"unknown confuser", `{` + goodHead + `, "metrics": {"classes": [
			{"class": "a", "support": 10, "precision": 0.9, "recall": 0.5, "fpr": 0, "confused_with": {"z": 0.5}},
			{"class": "b", "support": 10, "precision": 0.9, "recall": 0.5, "fpr": 0}]}}`, `metrics.classes[0].confused_with: unknown class "z"`},
		{"misspelt field", `{` + goodHead + `, "metrics": {"classes": [{"class": "a", "support": 10, "precision": 0.9, "recal": 0.5, "fpr": 0}]}}`,
			`unknown field "recal"`},
		{"wrong type", `{` + goodHead + `, "metrics": {"classes": [{"class": "a", "support": "ten"}]}}`, "metrics.classes.support"},
		{"syntax error", `{` + goodHead + `,`, "invalid JSON"},
		{"prediction label out of range", `{` + goodHead + `, "predictions": {"true": [0, 1], "pred": [0, 2]}}`, "predictions.pred[1]: unknown class 2"},
		{"missing pred", `{` + goodHead + `, "predictions": {"true": [0, 1]}}`, "predictions.pred: missing field"},
		{"attrs row too short", `{` + goodHead + `, "predictions": {"true": [0], "pred": [0], "attrs": [[0.1, 0.2]]}}`, "predictions.attrs[0]: 2 values, want 4"},
		{"severity above 1", `{` + goodHead + `, "predictions": {"true": [0], "pred": [0], "attrs": [[0, 0, 3, 0]]}}`, "predictions.attrs[0][2] (low_contrast): severity 3"},
		{"logits instead of probabilities", `{` + goodHead + `, "predictions": {"true": [0], "pred": [0], "probs": [[0.9, 0.9]]}}`, "predictions.probs[0]: sums to 1.8000"},
		{"unknown class in train_counts", `{` + goodHead + `, "train_counts": {"q": 3}, "predictions": {"true": [0], "pred": [0]}}`, `train_counts["q"]: unknown class "q"`},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			_, err := ReadMetrics(strings.NewReader(tc.doc), MetricsOptions{})
			if err == nil {
				t.Fatalf("no error, want one containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q\ndoes not contain %q", err, tc.want)
			}
		})
	}
}

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		desc, toml, want string
		budget           int
	}{
		{"defaults kept, budget set, other tables ignored", "[run]\nx = 1\n[plan]\nbudget = 500\n[plan.weights]\nmiss = 0.7\n", "", 500},
		{"typo in [plan] is an error", "[plan]\nbugdet = 5\n", "unknown key plan.bugdet", 0},
		{"bad value names the field", "[plan]\ntemperature = -1.0\n", "plan.temperature", 0},
		{"bad weight names the field", "[plan.weights]\nmiss = -1.0\n", "plan.weights.miss", 0},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			p := t.TempDir() + "/job.toml"
			if err := os.WriteFile(p, []byte(tc.toml), 0o644); err != nil {
				t.Fatal(err)
			}
			c, err := LoadConfig(p)
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("error %v, want %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Budget != tc.budget || c.Weights.Miss != 0.7 || c.Weights.Scarcity != DefaultWeights().Scarcity {
				t.Errorf("config %+v", c)
			}
		})
	}
}
