package plan

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestDecodePlanIsStrict is issue 27's item 5: the plan `generate` reads is refused, naming the
// field and the range it wants, for every value row.
func TestDecodePlanIsStrict(t *testing.T) {
	target := func(fields string) string {
		return `{"format": "gam.plan/v1", "targets": [{"id": "coat/blurry", "class": 4, "class_name": "coat", "condition": "blur", ` + fields + `}]}`
	}
	cases := []struct {
		desc, doc string
		want      []string
	}{
		{"unknown top-level field", `{"format": "gam.plan/v1", "targetz": []}`, []string{`unknown field "targetz"`}},
		{"unknown target field", target(`"count": 5, "cnt": 3`), []string{`unknown field "cnt"`}},
		{"wrong format", `{"format": "gam.plan/v2", "targets": []}`, []string{`format "gam.plan/v2"`, `"gam.plan/v1"`}},
		{"negative count", target(`"count": -1`), []string{"targets[0] (coat/blurry).count = -1", "[0, 1000000]"}},
		{"count of 10^12", target(`"count": 1000000000000`), []string{"targets[0] (coat/blurry).count = 1000000000000", "[0, 1000000]"}},
		{"severity below 0", target(`"count": 5, "severity_min": -0.1, "severity_max": 1`), []string{"severity_min = -0.1", "[0, 1]"}},
		{"severity above 1", target(`"count": 5, "severity_min": 0.5, "severity_max": 1.5`), []string{"severity_max = 1.5", "[0, 1]"}},
		{"severity range reversed", target(`"count": 5, "severity_min": 0.9, "severity_max": 0.2`), []string{"severity_min 0.9 is above severity_max 0.2"}},
		{"negative class", `{"format": "gam.plan/v1", "targets": [{"id": "x", "class": -1, "count": 3}]}`, []string{"targets[0] (x).class = -1", ">= 0"}},
		{"target without id", `{"format": "gam.plan/v1", "targets": [{"class": 1, "count": 3}]}`, []string{"targets[0].id: empty"}},
		{"counts summing past the maximum", `{"format": "gam.plan/v1", "targets": [{"id": "a", "count": 600000}, {"id": "b", "count": 600000}]}`,
			[]string{"more than 1000000"}},
		{"data after the object", `{"format": "gam.plan/v1", "targets": []} {}`, []string{"data after"}},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			_, err := DecodePlan([]byte(c.doc))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q does not say %q", err, w)
				}
			}
		})
	}
	if _, err := DecodePlan([]byte(target(`"count": 5, "severity_min": 0.5, "severity_max": 1`))); err != nil {
		t.Fatalf("a good plan is refused: %v", err)
	}
}

// A plan that BuildPlan wrote decodes strictly: every field it writes is one DecodePlan knows.
func TestBuiltPlanDecodesStrictly(t *testing.T) {
	m, err := ReadMetricsFile("testdata/metrics.json", MetricsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Budget, cfg.Floor = 100, 40
	p, err := BuildPlan(m, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.FloorLowered == nil {
		t.Fatalf("a floor of 40 over %d targets and a budget of 100 is not reported as lowered", len(p.Targets))
	}
	b, err := jsonMarshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecodePlan(b); err != nil {
		t.Fatalf("BuildPlan's own plan is refused: %v", err)
	}
	cfg.Floor = 1
	if p, err = BuildPlan(m, cfg, nil); err != nil || p.FloorLowered != nil {
		t.Fatalf("a floor of 1 with a budget of 100: lowered %v, %v", p.FloorLowered, err)
	}
	cfg.Budget = MaxBudget + 1
	if _, err := BuildPlan(m, cfg, nil); err == nil || !strings.Contains(err.Error(), "plan.budget") || !strings.Contains(err.Error(), "1000000") {
		t.Fatalf("budget above the maximum: %v", err)
	}
}

func jsonMarshal(p *Plan) ([]byte, error) { return json.Marshal(p) }
