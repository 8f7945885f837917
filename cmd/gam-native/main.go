// Command gam-native is the CLI of the Generative Augmentation Module: it reads a classifier's
// weak spots, generates images aimed at them, screens them and feeds them back into training.
package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"
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
		},
	}
}

func main() {
	if err := newApp().Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "gam-native:", err)
		os.Exit(exitCode(err))
	}
}
