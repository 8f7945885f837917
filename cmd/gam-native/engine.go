package main

import (
	"github.com/urfave/cli/v2"

	"github.com/gam-native/gam-native/bindings"
	"github.com/gam-native/gam-native/progress"
)

// openEngine loads the engine library named by --engine (or found in the default places).
func openEngine(c *cli.Context) (*bindings.Engine, error) {
	if c.Bool("quiet") {
		progress.Quiet = true
	}
	return bindings.Open(c.String("engine"))
}
