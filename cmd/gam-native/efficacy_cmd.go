package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/gam-native/gam-native/efficacy"
	"github.com/gam-native/gam-native/loop"
	"github.com/gam-native/gam-native/progress"
)

// Registered from a variable initializer rather than init(), so that the command is in
// benchSubcommands before any init function (bench_cmd.go's included) reads the slice.
var _ = registerEfficacy()

func registerEfficacy() bool {
	benchSubcommands = append(benchSubcommands, &cli.Command{
		Name:  "efficacy",
		Usage: "compare GAM with the usual remedies on one split and one classifier, over seeds",
		Description: "Trains the same target classifier (zoo:cnn, 30 epochs, Adam 1e-3 decayed to 0 by a cosine, batch 128)\n" +
			"under each method: erm, oversample, reweight, augment (shifts + flips), mixup, the strong remedies\n" +
			"oversample-augment (balanced draws, pad-2 crop + flip), balanced-softmax (log prior added to the\n" +
			"logits in the loss), balanced-softmax-augment and mixup-balanced (mixup + balanced softmax + crop/flip),\n" +
			"the ceiling real-balanced (as many real images, drawn balanced from the full pool), untargeted (generation with the same\n" +
			"generator and budget, spread evenly, no screen), gam (the closed loop) and gam-plus (GAM's images\n" +
			"with the best of augment and mixup by validation balanced accuracy added to the training; with\n" +
			"--plus-loop, a second loop with that remedy); condition-shift adds condaug (static\n" +
			"blur/shadow augmentation). Reports test accuracy, balanced accuracy, macro-F1, g-mean recall,\n" +
			"worst-class recall, per-class recall and wall time, mean ± sd over seeds, in OUT/results.json,\n" +
			"results.md and bars.png. Each (method, seed) result is saved as it finishes; running the same\n" +
			"command again skips finished cells (docs/efficacy.md).\n\n" +
			"Examples:\n" +
			"   gam-native bench efficacy                               # long-tail IF=100, seeds 0,1,2\n" +
			"   gam-native bench efficacy --scenario condition-shift --seeds 0\n" +
			"   gam-native bench efficacy --methods balanced-softmax-augment,gam --gam-remedy balanced-softmax-augment --gen-from 0.7\n" +
			"   gam-native bench efficacy --tiny --out /tmp/eff-tiny    # a smoke test in seconds",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "scenario", Value: "long-tail", Usage: "long-tail | scarce | condition-shift"},
			&cli.StringFlag{Name: "seeds", Value: "0,1,2", Usage: "comma-separated training `SEEDS` (the data split is the same for all)"},
			&cli.StringFlag{Name: "methods", Usage: "comma-separated methods (default: all for the scenario): " + strings.Join(efficacy.AllMethods, ",")},
			&cli.BoolFlag{Name: "tiny", Usage: "a few hundred images, 1 epoch, 1 seed: a smoke test"},
			&cli.StringFlag{Name: "out", Usage: "result `DIR` (default runs/efficacy-SCENARIO); an existing one is resumed"},
			&cli.IntFlag{Name: "epochs", Usage: "target classifier epochs (default 30: every method trained to convergence; 12 is the old reference protocol)"},
			&cli.StringFlag{Name: "lr-schedule", Usage: "every method's target learning rate: cosine (default: decayed to 0, far less seed noise) or constant (the old reference protocol)"},
			&cli.StringFlag{Name: "gam-remedy", Usage: "the strong remedy GAM's (and untargeted's) target training is built on, its generated images trained the same way: " + strings.Join(efficacy.StrongRemedies, ", ") + " (default: none, class-balanced mixing alone)"},
			&cli.StringFlag{Name: "gen-mix", Usage: "how generated images enter the draws: fixed (default), union, or replace (uniform draws: a real draw replaced by a generated image of its class at --gen-fraction; the real class prior kept)"},
			&cli.Float64Flag{Name: "gen-from", Usage: "defer generated images to the last 1-F of the epochs, real images only before (default 0: from the start)"},
			&cli.StringFlag{Name: "generator", Usage: "the shared generator of untargeted generation and GAM: a zoo name (zoo:cvae, zoo:cvae_conv, zoo:cgan) or a TorchScript `FILE` (default zoo:cvae)"},
			&cli.StringFlag{Name: "screen", Usage: "the shared screen of GAM: a zoo name (zoo:screen, zoo:cnn) or a TorchScript `FILE` (default zoo:screen)"},
			&cli.IntFlag{Name: "gen-epochs", Usage: "generator epochs, class-balanced (default 20)"},
			&cli.IntFlag{Name: "screen-epochs", Usage: "screen epochs, class-balanced (default 4)"},
			&cli.IntFlag{Name: "budget", Usage: "generated images per seed, for untargeted and GAM alike (default 6000)"},
			&cli.IntFlag{Name: "rounds", Usage: "GAM loop rounds (default 3)"},
			&cli.Float64Flag{Name: "gen-fraction", Usage: "share of each class's draws that are generated images (default 0.25)"},
			&cli.Float64Flag{Name: "mixup-alpha", Usage: "mixup's Beta(alpha, alpha) (default 0.2)"},
			&cli.StringFlag{Name: "plus-from", Usage: "remedies gam-plus may add to GAM (default augment,mixup)"},
			&cli.BoolFlag{Name: "plus-loop", Usage: "run gam-plus as a second closed loop (default: retrain once on GAM's images with the remedy)"},
			&cli.StringFlag{Name: "gam-job", Usage: "job TOML `FILE` whose keys are applied over GAM's job (e.g. [generate] prob_threshold, [plan] temperature)"},
			&cli.IntFlag{Name: "train-limit", Usage: "keep at most N training images (default: all; 20000 for condition-shift)"},
			&cli.IntFlag{Name: "test-limit", Usage: "keep at most N test images (default: all)"},
			&cli.StringFlag{Name: "data", Usage: "the `DATA`: fashion-mnist (default), fashion-mnist-rgb (32x32, tinted, on coloured grounds), mnist:DIR, idx:DIR, imagefolder:DIR, or a DIR of IDX files (classes named by their numbers unless it is Debian's Fashion-MNIST); zoo models are shaped to it"},
			&cli.StringFlag{Name: "device", Value: "auto", Usage: "engine device"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress output"},
		},
		Action: runEfficacy,
	})
	return true
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func runEfficacy(c *cli.Context) error {
	o := efficacy.Options{
		Scenario: c.String("scenario"), Methods: splitList(c.String("methods")), Tiny: c.Bool("tiny"), Out: c.String("out"),
		Epochs: c.Int("epochs"), LRSchedule: c.String("lr-schedule"), GenEpochs: c.Int("gen-epochs"), ScreenEpochs: c.Int("screen-epochs"), Budget: c.Int("budget"),
		Rounds: c.Int("rounds"), GenFraction: c.Float64("gen-fraction"), MixupAlpha: c.Float64("mixup-alpha"),
		GAMRemedy: c.String("gam-remedy"), GenFrom: c.Float64("gen-from"), GenMix: c.String("gen-mix"),
		PlusFrom: splitList(c.String("plus-from")), PlusLoop: c.Bool("plus-loop"), TrainLimit: c.Int("train-limit"), TestLimit: c.Int("test-limit"),
		Device: c.String("device"), Command: strings.Join(os.Args, " "), Generator: c.String("generator"), Screen: c.String("screen"),
	}
	var err error
	if o.Source, o.DataDir, err = efficacy.ParseData(c.String("data")); err != nil {
		return err
	}
	if f := c.String("gam-job"); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("--gam-job: %w", err)
		}
		// Checked now, over the default job, so that a typo fails before hours of training.
		if _, err := loop.ParseJob(f, b); err != nil {
			return fmt.Errorf("--gam-job: %w", err)
		}
		o.GAMJob, o.GAMJobTOML = f, string(b)
	}
	if c.IsSet("seeds") || !o.Tiny {
		for _, f := range splitList(c.String("seeds")) {
			s, err := strconv.ParseUint(f, 10, 64)
			if err != nil {
				return fmt.Errorf("--seeds: %q is not a seed", f)
			}
			o.Seeds = append(o.Seeds, s)
		}
	}
	if o.Out == "" {
		o.Out = filepath.Join("runs", "efficacy-"+o.Scenario)
		if o.Tiny {
			o.Out += "-tiny"
		}
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return err
	}
	logf, err := os.OpenFile(filepath.Join(o.Out, "progress.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	if !c.Bool("quiet") {
		progress.Out = io.MultiWriter(os.Stderr, logf)
	}
	e, err := openEngine(c)
	if err != nil {
		return err
	}
	defer e.Close()
	b, err := efficacy.New(e, o)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	r, err := b.Run(ctx)
	if err != nil {
		return fmt.Errorf("%w (run the same command again to continue in %s)", err, o.Out)
	}
	fmt.Print(efficacy.Markdown(r))
	fmt.Printf("\nresults: %s\n", filepath.Join(o.Out, "results.md"))
	return nil
}
