package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/gam-native/gam-native/bench"
	"github.com/gam-native/gam-native/internal/jsonfile"
	"github.com/gam-native/gam-native/progress"
)

// benchSubcommands are the subcommands of `gam-native bench` (e.g. `bench efficacy`), added by
// the init functions of other files. Their names take precedence over benchmark names.
var benchSubcommands []*cli.Command

func init() {
	commands = append(commands, &cli.Command{
		Name:      "bench",
		Usage:     "measure throughput and memory of each stage, the pipeline, its ceiling and a PyTorch peer",
		ArgsUsage: "[NAMES...]",
		Description: "Runs the named benchmarks (all by default: " + strings.Join(bench.Names, ", ") + ")\n" +
			"and prints a table: for each figure the median over repeated runs after warm-up, pooled over\n" +
			"--rounds passes through the benchmarks (so that a busy minute shows in the spread instead of\n" +
			"moving the median unseen), its spread (half the min..max range), peak resident memory (and on a GPU the allocator's peak and NVML's\n" +
			"view), and with --peer the same figure measured by bench/peer.py (hand-written PyTorch eager on\n" +
			"the same TorchScript files) and the ratio gam-native / peer. `pipeline` is accepted images/s\n" +
			"through the generation pipeline with a counting sink (the peer's work), `pipeline_dedup` the\n" +
			"same behind the product's near-duplicate check; `pipeline_dirsink` is\n" +
			"the product path (dedup, PNG files and manifest in a temporary folder), `pipeline_webdataset`\n" +
			"the same writing tar shards (--format webdataset); both carry vs_pipeline, their rate over\n" +
			"pipeline's, and vs_pipeline_dedup, over pipeline_dedup's (the sink's own cost). `ceiling` is the raw\n" +
			"model work of one attempt (sample, confidence, screen forward, fused screen) with no Go stages;\n" +
			"efficiency = pipeline attempts/s / the best ceiling_forward (sample + screen forward). The two\n" +
			"headline ratios are paired: each timed pipeline run sits between one ceiling_forward run and\n" +
			"(with --peer) one run of the peer's loop, and each ratio is the median of the per-run ratios;\n" +
			"the ratios of the separate figures' medians are kept as *_unpaired.\n" +
			"`leak` runs load/sample/close cycles.\n" +
			"`kernels` (only when named) compares each CUDA kernel with its CPU path.\n" +
			"Flags go before the names. Examples:\n" +
			"   gam-native bench --peer --json bench.json\n" +
			"   gam-native bench --batch 256 --repeat 3 sample pipeline\n" +
			"   gam-native bench --quick --compare old.json\n" +
			"   gam-native bench --engine build-cuda/libgam_engine.so kernels",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "engine", Usage: "path of the engine library", EnvVars: []string{"GAM_ENGINE"}},
			&cli.StringFlag{Name: "batch", Usage: "comma-separated batch sizes (default 64,256,1024; --quick 8,32)"},
			&cli.IntFlag{Name: "repeat", Usage: "timed runs per figure and round after warm-up (default 3; --quick 2)"},
			&cli.IntFlag{Name: "rounds", Usage: "passes through the chosen benchmarks (and the peer), taken in turn; each figure pools\n" +
				"\tthe runs of every pass, so its spread covers the load changes of the whole session (default 3; --quick 1)"},
			&cli.IntFlag{Name: "warmup", Usage: "warm-up runs per figure (default 2; --quick 1)"},
			&cli.DurationFlag{Name: "min-time", Usage: "least duration of one timed run of a stage (default 400ms)"},
			&cli.StringFlag{Name: "json", Usage: "write the result as JSON to `OUT`"},
			&cli.StringFlag{Name: "cpuprofile", Usage: "write a Go CPU profile of the whole run to `FILE` (go tool pprof FILE; the engine's C++ frames show as cgo calls)"},
			&cli.StringFlag{Name: "compare", Usage: "compare with an earlier result `OLD.json`: ratio per figure, drops beyond the spread flagged (exit 3)"},
			&cli.BoolFlag{Name: "peer", Usage: "run bench/peer.py (PyTorch eager) in the same run and show ratios"},
			&cli.StringFlag{Name: "python", Usage: "interpreter for the peer (default /usr/bin/python3)"},
			&cli.StringFlag{Name: "peer-script", Usage: "path of peer.py (default: found from the binary or the working directory)"},
			&cli.BoolFlag{Name: "quick", Usage: "tiny batches and short runs (a smoke test, not a measurement)"},
			&cli.StringFlag{Name: "zoo", Usage: "model zoo folder (default $GAM_ZOO or build/zoo)"},
			&cli.StringFlag{Name: "models-dir", Usage: "cache of the briefly trained bench models (default ZOO/../bench-models)"},
			&cli.StringFlag{Name: "data", Usage: "Fashion-MNIST folder for training the bench models (default Debian's)"},
			&cli.IntFlag{Name: "accepted", Usage: "accepted images per pipeline run (default 2000; --quick 40)"},
			&cli.IntFlag{Name: "leak-cycles", Usage: "load/sample/close cycles of `leak` (default 10000; --quick 20)"},
			&cli.StringFlag{Name: "device", Usage: "engine device: auto, cpu, cuda", Value: "auto"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress lines"},
		},
		Subcommands: benchSubcommands,
		Action:      runBench,
	})
}

func runBench(c *cli.Context) error {
	names := c.Args().Slice()
	for _, n := range names {
		if strings.HasPrefix(n, "-") {
			return fmt.Errorf("flag %q after a benchmark name: put flags before the names", n)
		}
	}
	o := bench.Options{Names: names, Repeat: c.Int("repeat"), Rounds: c.Int("rounds"), Warmup: c.Int("warmup"), MinTime: c.Duration("min-time"),
		Quick: c.Bool("quick"), Peer: c.Bool("peer"), Python: c.String("python"), PeerScript: c.String("peer-script"),
		Zoo: c.String("zoo"), ModelsDir: c.String("models-dir"), Data: c.String("data"), Accepted: c.Int("accepted"),
		LeakCycles: c.Int("leak-cycles"), Device: c.String("device")}
	if s := c.String("batch"); s != "" {
		for _, f := range strings.Split(s, ",") {
			b, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || b < 1 {
				return fmt.Errorf("--batch %q: want positive integers separated by commas", s)
			}
			o.Batches = append(o.Batches, b)
		}
	}
	if !c.Bool("quiet") {
		o.Logf = func(format string, args ...any) {
			fmt.Fprintf(os.Stderr, "%s %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
		}
	}
	var old *bench.Result
	if p := c.String("compare"); p != "" {
		var err error
		if old, err = bench.LoadResult(p); err != nil {
			return err
		}
		// Same figures as the old run unless chosen otherwise, so every figure has a partner.
		if len(names) == 0 {
			o.Names = slices.DeleteFunc(slices.Clone(old.Options.Names), func(n string) bool { return n == "leak" })
		}
		if !c.IsSet("batch") && len(old.Options.Batches) > 0 {
			o.Batches = old.Options.Batches
		}
	}
	e, err := openEngine(c)
	if err != nil {
		return err
	}
	defer e.Close()
	if c.Bool("quiet") {
		progress.Quiet = true
	}
	if p := c.String("cpuprofile"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			os.Remove(p)
			return fmt.Errorf("--cpuprofile %s: %w", p, err)
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := bench.Run(ctx, e, o)
	if err != nil {
		return err
	}
	res.Print(os.Stdout)
	if p := c.String("json"); p != "" {
		if err := jsonfile.WriteJSON(p, res); err != nil {
			return err
		}
		fmt.Printf("\nresult: %s\n", p)
	}
	if old != nil {
		if drops := bench.PrintCompare(os.Stdout, c.String("compare"), bench.Compare(old, res)); drops > 0 {
			return cli.Exit(fmt.Sprintf("gam-native: %d figures dropped beyond their spread", drops), 3)
		}
	}
	return nil
}
