package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPlanRefusesBadBudgetAndSaysWhenFloorIsLowered: `plan --budget` above plan.MaxBudget is
// refused before anything is written, and a --floor the budget cannot meet is said on stderr.
func TestPlanRefusesBadBudgetAndSaysWhenFloorIsLowered(t *testing.T) {
	metrics := filepath.Join("..", "..", "plan", "testdata", "metrics.json")
	out := filepath.Join(t.TempDir(), "plan.json")
	app := newApp()
	var stderr bytes.Buffer
	app.ErrWriter = &stderr
	err := app.Run([]string{"gam-native", "plan", "--metrics", metrics, "--budget", "9223372036854775807", "--out", out})
	if err == nil || !strings.Contains(err.Error(), "plan.budget") || !strings.Contains(err.Error(), "[0, 1000000]") {
		t.Fatalf("plan --budget 9223372036854775807: %v; want plan.budget refused with its range", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatal("a plan was written for a refused budget")
	}
	app = newApp()
	app.ErrWriter = &stderr
	app.Writer = &bytes.Buffer{}
	if err := app.Run([]string{"gam-native", "plan", "--metrics", metrics, "--budget", "30", "--floor", "20", "--out", out}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr.String(), "floor 20 cannot be met") {
		t.Fatalf("nothing said about a floor of 20 that a budget of 30 cannot meet; stderr:\n%s", stderr.String())
	}
	b, err := os.ReadFile(out)
	if err != nil || !bytes.Contains(b, []byte(`"floor_lowered_to"`)) {
		t.Fatalf("the plan does not record the lowered floor: %v\n%s", err, b)
	}
}

// TestGenerateRefusesBadPlanBeforeWriting: a plan with an unknown field, a negative count or a
// severity outside [0, 1] is refused before --out exists (and before the engine is opened).
func TestGenerateRefusesBadPlanBeforeWriting(t *testing.T) {
	for _, c := range []struct{ desc, doc, want string }{
		{"unknown field", `{"format": "gam.plan/v1", "targetz": []}`, `unknown field "targetz"`},
		{"negative count", `{"format": "gam.plan/v1", "targets": [{"id": "shirt", "class": 6, "count": -4}]}`, "count = -4: want a value in [0, 1000000]"},
		{"severity above 1", `{"format": "gam.plan/v1", "targets": [{"id": "coat/blurry", "class": 4, "condition": "blur", "severity_min": 0.3, "severity_max": 3, "count": 4}]}`,
			"severity_max = 3: want a value in [0, 1]"},
	} {
		t.Run(c.desc, func(t *testing.T) {
			dir := t.TempDir()
			p, out := filepath.Join(dir, "plan.json"), filepath.Join(dir, "out")
			os.WriteFile(p, []byte(c.doc), 0o644)
			_, err := capture(t, "generate", "--plan", p, "--out", out)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), p) {
				t.Fatalf("generate: %v; want an error naming %s and saying %q", err, p, c.want)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Fatal("--out was created for a refused plan")
			}
		})
	}
}
