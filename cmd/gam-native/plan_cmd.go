package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/gam-native/gam-native/internal/jsonfile"
	"github.com/urfave/cli/v2"

	"github.com/gam-native/gam-native/plan"
)

func init() {
	commands = append(commands, &cli.Command{
		Name:      "plan",
		Usage:     "score weak classes and segments from validation metrics and split a generation budget over them",
		ArgsUsage: " ",
		Description: "Reads a gam.metrics/v1 JSON file (docs/metrics-format.md) holding either raw predictions\n" +
			"(true label, predicted label, optional probabilities and image conditions) or precomputed\n" +
			"per-class and per-segment metrics, as an external training service would write it. Prints the\n" +
			"summary (accuracy, balanced accuracy, macro-F1, g-mean and worst-class recall), the difficulty\n" +
			"table (hardest first) and the plan: how many images to generate for each class or\n" +
			"class-and-condition segment (docs/planning.md explains the formulas).\n\n" +
			"Settings come from the [plan] table of --config (defaults otherwise); flags override them.\n\n" +
			"Examples:\n" +
			"   gam-native plan --metrics val_metrics.json --budget 2000\n" +
			"   gam-native plan --metrics val_metrics.json --config job.toml --json --out plan.json",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "metrics", Aliases: []string{"m"}, Required: true, Usage: "metrics JSON `FILE` (format gam.metrics/v1)"},
			&cli.IntFlag{Name: "budget", Aliases: []string{"n"}, Usage: "images to generate this round (at most 1000000, plan.MaxBudget)", DefaultText: "[plan] budget, else 1000"},
			&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Usage: "job `TOML` whose [plan] table sets weights, temperature, floor, cap"},
			&cli.Float64Flag{Name: "temperature", Usage: "softmax temperature over difficulty: lower concentrates the budget", DefaultText: "[plan] temperature, else 0.2"},
			&cli.IntFlag{Name: "floor", Usage: "least images per target (when the budget cannot give every target as many, a line on stderr says so and each gets budget/targets)", DefaultText: "[plan] floor, else 0"},
			&cli.IntFlag{Name: "cap", Usage: "most images per target (0: no cap)", DefaultText: "[plan] cap, else 0"},
			&cli.BoolFlag{Name: "json", Usage: "print the plan as JSON instead of tables"},
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "also write the plan JSON to `FILE` (atomically: old or new, never half)"},
		},
		Action: runPlan,
	})
}

func runPlan(c *cli.Context) error {
	cfg := plan.DefaultConfig()
	if path := c.String("config"); path != "" {
		var err error
		if cfg, err = plan.LoadConfig(path); err != nil {
			return err
		}
	}
	if c.IsSet("budget") {
		cfg.Budget = c.Int("budget")
	}
	if c.IsSet("temperature") {
		cfg.Temperature = c.Float64("temperature")
	}
	if c.IsSet("floor") {
		cfg.Floor = c.Int("floor")
	}
	if c.IsSet("cap") {
		cfg.Cap = c.Int("cap")
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	m, err := plan.ReadMetricsFile(c.String("metrics"), plan.MetricsOptions{SeverityThreshold: cfg.SeverityThreshold, Bootstrap: cfg.Bootstrap})
	if err != nil {
		return err
	}
	p, err := plan.BuildPlan(m, cfg, nil)
	if err != nil {
		return err
	}
	if p.FloorLowered != nil {
		fmt.Fprintf(c.App.ErrWriter, "gam-native plan: floor %d cannot be met: a budget of %d does not give every target %d images; each gets at least %d (raise --budget, or lower --floor or plan.max_targets)\n",
			cfg.Floor, cfg.Budget, cfg.Floor, *p.FloorLowered)
	}
	if out := c.String("out"); out != "" {
		if err := writePlanJSON(out, p); err != nil {
			return err
		}
	}
	w := c.App.Writer
	if c.Bool("json") {
		return encodePlan(w, p)
	}
	if err := plan.WriteTable(w, p); err != nil {
		return err
	}
	if out := c.String("out"); out != "" {
		fmt.Fprintf(w, "\nplan written to %s\n", out)
	}
	return nil
}

func encodePlan(w io.Writer, p *plan.Plan) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(p)
}

// writePlanJSON writes to a temporary file in the same folder, fsyncs and renames it.
func writePlanJSON(path string, p *plan.Plan) error {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	return jsonfile.WriteUserFile(path, append(b, '\n'))
}
