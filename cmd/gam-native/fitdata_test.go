package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gam-native/gam-native/bindings"
	"github.com/gam-native/gam-native/data"
)

// TestGenerateRefusesModelsThatDoNotFit: generate --plan checks its models against --data and
// the plan's conditions before it writes to --out, and names the flag, the file and the member.
func TestGenerateRefusesModelsThatDoNotFit(t *testing.T) {
	e := cliEngine(t)
	e.Close()
	zoo := bindings.FindZoo()
	gen, screen := filepath.Join(zoo, "cvae.pt"), filepath.Join(zoo, "screen.pt")
	tmp := t.TempDir()
	shapes := filepath.Join(tmp, "shapes")
	for i, split := range []string{"train", "test"} {
		ds, err := data.Shapes([]int{8, 6, 4}, 3, 32, uint64(i))
		if err != nil {
			t.Fatal(err)
		}
		if err := data.WriteSplitFolder(shapes, split, ds); err != nil {
			t.Fatal(err)
		}
	}
	plan := func(name, targets string) string {
		p := filepath.Join(tmp, name)
		if err := os.WriteFile(p, []byte(`{"format": "gam.plan/v1", "targets": [`+targets+`]}`), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cfg := filepath.Join(tmp, "job.toml")
	if err := os.WriteFile(cfg, []byte("[data.scenario_params]\nval_per_class = 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	shapesPlan := plan("shapes.json", `{"id": "circle", "class": 0, "class_name": "circle", "count": 4}`)
	fogPlan := plan("fog.json", `{"id": "shirt/foggy", "class": 6, "class_name": "shirt", "condition": "fog", "count": 4}`)
	for _, tc := range []struct {
		desc string
		args []string
		want []string
	}{
		{"a 1x28x28 generator on 3x32x32 data", []string{"--plan", shapesPlan, "--data", "imagefolder:" + shapes, "--config", cfg},
			[]string{"--generator: " + gen, "image_shape is [1, 28, 28] (1 channel, grayscale)", "is 3x32x32 (3 channels, RGB)"}},
		{"a plan condition nobody applies", []string{"--plan", fogPlan},
			[]string{"--generator: " + gen, "attr_names is [blur, shadow]", `condition "fog"`, "the plan " + fogPlan}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			out := filepath.Join(tmp, fmt.Sprintf("out-%d", len(tc.desc)))
			args := append([]string{"generate", "--out", out, "--generator", gen, "--screen", screen, "-q"}, tc.args...)
			_, err := capture(t, args...)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nlacks %q", err, w)
				}
			}
			t.Log(err)
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("--out was created: %v", err)
			}
		})
	}
}
