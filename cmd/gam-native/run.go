package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/gam-native/gam-native/data"
	"github.com/gam-native/gam-native/internal/promfile"
	"github.com/gam-native/gam-native/loop"
	"github.com/gam-native/gam-native/review"
)

func init() {
	commands = append(commands, &cli.Command{
		Name:  "run",
		Usage: "run the closed loop: train, measure, plan, generate, screen, retrain, feed back",
		Description: "Runs a job file (docs/job.md documents every key), or the embedded default job when\n" +
			"--config is not given: Fashion-MNIST long-tail at IF=100 with the zoo's cVAE, target CNN and\n" +
			"screen, 3 rounds, a few minutes on a 2-core CPU. Every result goes to a run folder\n" +
			"(docs/run-folder.md): metrics, plans, accepted images (ImageFolder + manifest), trained models,\n" +
			"report.json, report.md and plots. A run killed at any moment continues with --resume.\n\n" +
			"Examples:\n" +
			"   gam-native run                                  # the default job\n" +
			"   gam-native run --config job.toml\n" +
			"   gam-native run --print-default > job.toml       # start your own job from the default\n" +
			"   gam-native run --resume runs/fashion-mnist-lt-20261126-101500\n\n" +
			"SIGINT or SIGTERM stops the run between batches; the stage it was in is not recorded as done,\n" +
			"and --resume redoes it (the images it had accepted are kept, each once).\n\n" +
			"A run holds its folder (DIR/.lock, with its pid) while it runs: a second `run --resume DIR` is\n" +
			"refused with the holder's pid. loop.rounds = 0 trains the generator and screen only (set-up):\n" +
			"DIR/models/generator.pt and screen.pt, for `gam-native generate` (as `gam-native train-models`).\n" + exitCodesHelp,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Usage: "job `TOML` file (default: the embedded default job)"},
			&cli.StringFlag{Name: "resume", Usage: "continue the run in `DIR` from its last completed stage"},
			&cli.StringFlag{Name: "dir", Usage: "run folder to create: a new or empty folder (default: OUT/NAME-TIMESTAMP)"},
			&cli.BoolFlag{Name: "print-default", Usage: "print the embedded default job and exit"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress output"},
			metricsFileFlag(),
		},
		Action: runRun,
	})
}

func runRun(c *cli.Context) error {
	if c.Bool("print-default") {
		_, err := os.Stdout.Write(loop.DefaultJobTOML)
		return err
	}
	metrics, err := promfile.New(c.String("metrics-file"))
	if err != nil {
		return err
	}
	e, err := openEngine(c)
	if err != nil {
		return err
	}
	defer e.Close()
	var r *loop.Runner
	if dir := c.String("resume"); dir != "" {
		if r, err = loop.Resume(e, dir); err != nil {
			return err
		}
	} else {
		job, err := configJob(c)
		if err != nil {
			return err
		}
		if r, err = loop.Prepare(e, job, c.String("dir")); err != nil {
			return err
		}
	}
	defer r.Close()
	r.Metrics = metrics
	r.ShardCommand = shardCommand(c.String("engine"))
	r.Reviewed = func(dir string, classes []string) ([]data.Record, error) {
		acc, _, err := review.Resolved(dir, classes)
		return acc, err
	}
	ctx, stop := signalContext()
	defer stop()
	if err := r.Run(ctx); err != nil {
		return fmt.Errorf("%w (continue with: gam-native run --resume %s)", withCause(ctx, err), r.Dir)
	}
	if r.Job.Generate.ReviewBand > 0 {
		// The decisions so far reach the dataset (accepted/), also on a resume of a finished run.
		res, err := applyReview(r.Dir, filepath.Join(r.Dir, "accepted"), nil)
		if err != nil {
			return err
		}
		if res.Accepted+res.Relabeled+res.Removed > 0 {
			fmt.Printf("review: %d accepted, %d relabeled images in %s (%d rejected)\n", res.Accepted, res.Relabeled, filepath.Join(r.Dir, "accepted"), res.Rejected)
		}
	}
	if r.Job.Loop.Rounds == 0 {
		fmt.Printf("set-up only (loop.rounds = 0): %s, %s\n", filepath.Join(r.Dir, "models", "generator.pt"), filepath.Join(r.Dir, "models", "screen.pt"))
		return nil
	}
	if err := loop.PrintSummary(os.Stdout, r); err != nil {
		return err
	}
	fmt.Printf("report: %s\n", filepath.Join(r.Dir, "report.md"))
	return nil
}
