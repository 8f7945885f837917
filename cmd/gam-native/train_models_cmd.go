package main

import (
	"fmt"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/gam-native/gam-native/loop"
)

func init() {
	commands = append(commands, &cli.Command{
		Name:  "train-models",
		Usage: "train only the generator and the screen of a job, for `gam-native generate`",
		Description: "Runs the set-up stages of a run and nothing else: it trains the job's generator and screen\n" +
			"(models.generator, models.screen, with [generator_training] and [screen_training]) on the job's\n" +
			"data and writes them to DIR/generator.pt and DIR/screen.pt (their loss histories to DIR/setup/).\n" +
			"The zoo's models are exported untrained; `generate` refuses them until they are trained here (or\n" +
			"in a run: its models/ folder). A job with loop.rounds = 0 does the same inside a run folder.\n\n" +
			"Example:\n" +
			"   gam-native train-models --config job.toml --out models/\n" +
			"   gam-native generate --plan plan.json --out gen/ --generator models/generator.pt \\\n" +
			"       --screen models/screen.pt --data fashion-mnist\n\n" + exitCodesHelp,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Usage: "job `TOML` file (default: the embedded default job)"},
			&cli.StringFlag{Name: "out", Required: true, Usage: "`DIR` for generator.pt and screen.pt (created when missing)"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress output"},
		},
		Action: runTrainModels,
	})
}

func runTrainModels(c *cli.Context) error {
	job, err := configJob(c)
	if err != nil {
		return err
	}
	out := c.String("out")
	unlock, err := lockDir(out)
	if err != nil {
		return err
	}
	defer unlock()
	e, err := openEngine(c)
	if err != nil {
		return err
	}
	defer e.Close()
	ctx, stop := signalContext()
	defer stop()
	if err := loop.TrainModels(ctx, e, job, out); err != nil {
		return withCause(ctx, err)
	}
	fmt.Printf("generator: %s\nscreen:    %s\n", filepath.Join(out, "generator.pt"), filepath.Join(out, "screen.pt"))
	return nil
}

// configJob is --config's job, or the embedded default job without one.
func configJob(c *cli.Context) (loop.Job, error) {
	if p := c.String("config"); p != "" {
		return loop.LoadJob(p)
	}
	return loop.DefaultJob(), nil
}
