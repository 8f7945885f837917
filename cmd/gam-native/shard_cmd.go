package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"

	"github.com/urfave/cli/v2"

	"github.com/gam-native/gam-native/loop"
	"github.com/gam-native/gam-native/plan"
)

// generate-shard is the process a sharded round of `run` starts per shard ([generate] shards =
// N): hidden, as people run `generate --shard` themselves.
func init() {
	commands = append(commands, &cli.Command{
		Name:   "generate-shard",
		Hidden: true,
		Usage:  "make one shard of a run's round (started by `gam-native run` when [generate] shards > 1)",
		Description: "Makes shard I of N of round R of the run in DIR into OUT, with the run's training split, models,\n" +
			"seed and the batch the run chose; reads DIR and never writes it. `gam-native run` starts one per\n" +
			"shard and merges their folders into accepted/; a finished shard (OUT/shard.json) returns at once.\n\n" +
			"Example (what run starts for [generate] shards = 2):\n" +
			"   gam-native generate-shard --run runs/job --round 1 --shard 0/2 --batch-size 128 --out runs/job/rounds/r1/shards/shard-0",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "run", Required: true, Usage: "the run `DIR` (read only)"},
			&cli.IntFlag{Name: "round", Required: true, Usage: "the round"},
			&cli.StringFlag{Name: "shard", Required: true, Usage: "`I/N`"},
			&cli.IntFlag{Name: "batch-size", Required: true, Usage: "the batch the run chose"},
			&cli.StringFlag{Name: "out", Required: true, Usage: "the shard's `DIR`"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress output"},
		},
		Action: func(c *cli.Context) error {
			s, err := plan.ParseShard(c.String("shard"))
			if err != nil {
				return fmt.Errorf("--shard: %w", err)
			}
			e, err := openEngine(c)
			if err != nil {
				return err
			}
			defer e.Close()
			ctx, stop := signalContext()
			defer stop()
			res, err := loop.GenerateShard(ctx, e, c.String("run"), c.Int("round"), s, c.Int("batch-size"), c.String("out"))
			if err != nil {
				return withCause(ctx, err)
			}
			fmt.Printf("shard %s: %d accepted of %d tried in %.1fs\n", s, res.Accepted, res.Attempts, res.Seconds)
			return nil
		},
	})
}

// shardCommand runs this same binary's generate-shard, with the engine this process was given.
func shardCommand(engine string) loop.ShardCommand {
	return func(ctx context.Context, runDir string, n int, s plan.Shard, batch int, out string) *exec.Cmd {
		exe, err := os.Executable()
		if err != nil {
			exe = os.Args[0]
		}
		var args []string
		if engine != "" {
			args = append(args, "--engine", engine)
		}
		args = append(args, "generate-shard", "--run", runDir, "--round", fmt.Sprint(n), "--shard", s.String(),
			"--batch-size", fmt.Sprint(batch), "--out", out, "-q")
		cmd := exec.CommandContext(ctx, exe, args...)
		// A cancelled run (SIGINT, SIGTERM) stops its shards the same way: each keeps what it
		// made durable, and the resumed round continues them.
		cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
		return cmd
	}
}
