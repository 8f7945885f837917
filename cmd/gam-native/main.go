// Command gam-native is the CLI of the Generative Augmentation Module: it reads a classifier's
// weak spots, generates images aimed at them, screens them and feeds them back into training.
package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/gam-native/gam-native/progress"
)

// commands is filled by the init functions of this package's files, one file per command, so
// that commands can be added without touching this file.
var commands []*cli.Command

func newApp() *cli.App {
	return &cli.App{
		Name:    "gam-native",
		Version: version(),
		Usage:   "targeted generative data augmentation for a classifier's weak classes and segments",
		Description: "gam-native closes the loop between a classifier's weaknesses and its training data:\n" +
			"it measures per-class and per-segment validation metrics, plans a generation budget over\n" +
			"the weak targets, generates images for them with a conditional VAE or GAN, screens them,\n" +
			"retrains and feeds the measured change into the next round.\n\n" +
			"Start with `gam-native info`, then `gam-native run` (the embedded default job).",
		Commands:             commands,
		EnableBashCompletion: true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "engine", Usage: "path of the engine library (libgam_engine.so); default: next to the binary, then ../lib, then build/", EnvVars: []string{"GAM_ENGINE"}},
			&cli.StringFlag{Name: "log-format", Value: "text", Usage: "text, or json: every log and progress line a JSON object (time, level, msg; task, done, total for progress) for a log collector", EnvVars: []string{"GAM_LOG_FORMAT"}},
		},
		Before: func(c *cli.Context) error { return progress.SetFormat(c.String("log-format")) },
	}
}

// metricsFileFlag is run's and generate's --metrics-file (a new flag each call: urfave/cli keeps state in flags).
func metricsFileFlag() cli.Flag {
	return &cli.StringFlag{Name: "metrics-file", Usage: "write Prometheus text-format metrics to `PATH` at each stage's end " +
		"(accepted and rejected images, images/s, stage seconds, last success time; for node_exporter's textfile collector)"}
}

func main() {
	if err := newApp().Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "gam-native:", err)
		os.Exit(exitCode(err))
	}
}
