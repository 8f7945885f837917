package main

import (
	"slices"

	"github.com/gam-native/gam-native/bindings"
	"github.com/gam-native/gam-native/data"
	"github.com/gam-native/gam-native/loop"
	"github.com/gam-native/gam-native/plan"
)

// checkGenerateFits refuses, before --out is written to, a --generator, --screen or --target
// that does not fit the --data (channels, height and width, classes), and a plan whose
// conditions the generator neither lists nor the engine applies natively (loop.CheckModel,
// loop.CheckConditions: the error names the flag, the file, the member, what it has and needs).
func checkGenerateFits(source, planPath string, real *data.Dataset, p *plan.Plan, models generate3) error {
	want := loop.DataShape{C: real.C, H: real.H, W: real.W, Classes: real.NumClasses()}
	for _, m := range []struct {
		flag string
		m    *bindings.Model
	}{{"--generator", models.generator}, {"--screen", models.screen}, {"--target", models.target}} {
		if m.m == nil {
			continue
		}
		if err := loop.CheckModel(m.flag, m.m.Path, m.m.Meta, want, source); err != nil {
			return err
		}
	}
	var conds []string
	for _, t := range p.Targets {
		if t.Condition != "" && !slices.Contains(conds, t.Condition) {
			conds = append(conds, t.Condition)
		}
	}
	return loop.CheckConditions("--generator", models.generator.Path, models.generator.Meta, conds, "the plan "+planPath)
}

// generate3 is generate's three models (target may be nil).
type generate3 struct{ generator, screen, target *bindings.Model }
