package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/gam-native/gam-native/bindings"
	"github.com/gam-native/gam-native/data"
	"github.com/gam-native/gam-native/generate"
	"github.com/gam-native/gam-native/internal/human"
	"github.com/gam-native/gam-native/internal/jsonfile"
	"github.com/gam-native/gam-native/internal/promfile"
	"github.com/gam-native/gam-native/loop"
	"github.com/gam-native/gam-native/plan"
	"github.com/gam-native/gam-native/progress"
	"github.com/gam-native/gam-native/report"
	"github.com/gam-native/gam-native/review"
)

func init() {
	commands = append(commands, &cli.Command{
		Name:  "generate",
		Usage: "generate, score and screen images for a plan; write them as ImageFolder + manifest",
		Description: "For an external training pipeline: reads a gam.plan/v1 file (from `gam-native plan`), samples\n" +
			"each target's images from the generator, scores their generation confidence (calibrated on the\n" +
			"real images of --data), screens them with --screen, drops near-duplicates, and writes the\n" +
			"accepted ones to OUT, an ImageFolder root: OUT/<class>/*.png, a folder for every class (names\n" +
			"escaped as %XX where they hold / or %), with OUT/manifest.jsonl (data/MANIFEST.md), its Hugging\n" +
			"Face view OUT/metadata.jsonl (file_name, label, provenance), classes.json and generate.json. The\n" +
			"plan's classes are matched to the models' (the classes of --data) by name, never by index. The\n" +
			"generator and screen should be trained (e.g. a run folder's models/generator.pt and screen.pt).\n" +
			"The [generate] table of --config sets thresholds, review band, latent search and batch size.\n\n" +
			"Example:\n" +
			"   gam-native generate --plan plan.json --out gen/ --generator runs/X/models/generator.pt \\\n" +
			"       --screen runs/X/models/screen.pt --data fashion-mnist\n\n" +
			"Interrupted (SIGINT, SIGTERM), it keeps the images accepted so far in the manifest and exits\n" +
			"non-zero; the same command again (same plan, seed and --out) makes the same images, keeps\n" +
			"each one once and completes the quotas.\n\n" +
			"The zoo's models (zoo:NAME, the defaults) are exported untrained: generate refuses them unless\n" +
			"--allow-untrained; train them first with `gam-native train-models --config job.toml --out DIR`.\n" +
			"A target that gets fewer images than its count is a shortfall: the images are written, the table\n" +
			"says it, and generate exits 3, unless --allow-shortfall. generate holds --out (OUT/.lock, with its\n" +
			"pid) while it runs: a second generate into the same folder is refused with the holder's pid.\n" +
			"An existing OUT is resumed only when its generate.json records the same inputs (plan, seed,\n" +
			"round, models, data, [generate]); any other is refused before a file is touched.\n" +
			"With a review band, the images to review go to OUT.review/ (--review-dir), outside the dataset;\n" +
			"`gam-native review OUT` serves them and `gam-native review apply OUT` (also run at the end of\n" +
			"each generate) merges the decisions into OUT.\n\n" +
			exitCodesHelp + "\n" + exitShortfallHelp,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "plan", Required: true, Usage: "plan `FILE` (gam.plan/v1)"},
			&cli.StringFlag{Name: "out", Required: true, Usage: "output `DIR` (ImageFolder + manifest.jsonl, or tar shards with --format webdataset; appended to when it exists)"},
			&cli.StringFlag{Name: "format", Value: formatImageFolder, Usage: "output format: imagefolder (<class>/NAME.png, manifest.jsonl, metadata.jsonl) or webdataset " +
				"(DIR/shard-000000.tar, ... of about 1 GiB each: KEY.png, KEY.cls with the label, KEY.json with the record; read by webdataset and Hugging Face datasets as they are; " +
				"no review queue, and merge takes imagefolder shards)"},
			&cli.StringFlag{Name: "generator", Value: "zoo:cvae", Usage: "generator: a trained TorchScript file, or zoo:NAME (untrained: needs --allow-untrained)"},
			&cli.StringFlag{Name: "screen", Value: "zoo:screen", Usage: "screen classifier: a trained TorchScript file, or zoo:NAME (untrained: needs --allow-untrained)"},
			&cli.StringFlag{Name: "target", Usage: "target classifier for the hardness search (needs [generate] search_steps > 0)"},
			&cli.StringFlag{Name: "data", Value: "fashion-mnist", Usage: "real training data for calibration and duplicate checks (a job's data.source)"},
			&cli.StringFlag{Name: "config", Usage: "job `TOML` whose [generate] table is used"},
			&cli.Uint64Flag{Name: "seed", Usage: "seed: the same seed and plan give the same images"},
			&cli.IntFlag{Name: "round", Value: 1, Usage: "round number written into provenance"},
			metricsFileFlag(),
			&cli.StringFlag{Name: "shard", Usage: "make only shard `I/N` of the plan (each target's quota split N ways, a seed of its own) into --out; " +
				"`gam-native merge` joins the shards. Default: from JOB_COMPLETION_INDEX with --num-shards (Kubernetes Indexed Job) or SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT (Slurm array), else the whole plan"},
			&cli.IntFlag{Name: "num-shards", Usage: "the number of shards `N` when the shard index comes from the environment (a Kubernetes Indexed Job's completions)"},
			&cli.BoolFlag{Name: "allow-shortfall", Usage: "exit 0 when a target gets fewer images than its count (without it: exit 3)"},
			&cli.BoolFlag{Name: "allow-untrained", Usage: "accept the zoo's untrained models (zoo:NAME) for --generator, --screen, --target"},
			&cli.StringFlag{Name: "review-dir", Usage: "review queue `DIR` when [generate] review_band > 0 (default OUT.review, beside OUT; never inside it)"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress output"},
		},
		Action: runGenerate,
	})
}

func runGenerate(c *cli.Context) error {
	metrics, err := promfile.New(c.String("metrics-file"))
	if err != nil {
		return err
	}
	job, err := configJob(c)
	if err != nil {
		return err
	}
	planPath := c.String("plan")
	p, err := plan.ReadPlanFile(planPath)
	if err != nil {
		return err
	}
	shard, err := generateShard(c)
	if err != nil {
		return err
	}
	p = p.Split(shard)
	seed := shard.Seed(c.Uint64("seed"))
	if !c.Bool("allow-untrained") {
		for _, flag := range []string{"generator", "screen", "target"} {
			if err := refuseUntrained(flag, c.String(flag)); err != nil {
				return err
			}
		}
	}
	format := c.String("format")
	if err := checkOutputFormat(format, job.Generate.ReviewBand, c.String("config")); err != nil {
		return err
	}
	// --out is this process's before anything is loaded: a second generate into it is refused at once.
	out := c.String("out")
	if fi, err := os.Stat(out); err == nil && !fi.IsDir() {
		return fmt.Errorf("--out %s: exists and is not a folder (%s); give a folder for the dataset", out, fi.Mode().Type())
	}
	unlock, err := lockDir(out)
	if err != nil {
		return err
	}
	defer unlock()
	// What decides the images: an existing --out made from other inputs is refused here, before
	// the engine opens or any file is written.
	want := genRecord{Format: genRecordFormat, Inputs: map[string]string{
		"seed": fmt.Sprint(c.Uint64("seed")), "round": fmt.Sprint(c.Int("round")), "data": c.String("data")}}
	if !shard.Whole() {
		want.Inputs["shard"], want.Shard = shard.String(), shard.String()
	}
	if format == formatWebDataset {
		want.Inputs["output"], want.Output = format, format
	}
	if want.Inputs["plan"], err = fileSHA256(planPath); err != nil {
		return fmt.Errorf("plan %s: %w", planPath, err)
	}
	paths := map[string]string{}
	for _, flag := range []string{"generator", "screen", "target"} {
		if ref := c.String(flag); ref != "" {
			if paths[flag], err = loop.ResolveModel(ref); err != nil {
				return err
			}
			if want.Inputs[flag], err = fileSHA256(paths[flag]); err != nil {
				return fmt.Errorf("--%s %s: %w", flag, ref, err)
			}
		}
	}
	gj, _ := json.Marshal(job.Generate)
	sum := sha256.Sum256(gj)
	want.Inputs["generate_config"] = hex.EncodeToString(sum[:])
	old, err := checkGenerateOut(out, want)
	if err != nil {
		return err
	}
	reviewRoot := ""
	if job.Generate.ReviewBand > 0 {
		if reviewRoot = c.String("review-dir"); reviewRoot == "" {
			reviewRoot = defaultReviewRoot(out)
		}
		if !outside(out, reviewRoot) {
			return fmt.Errorf("--review-dir %s: inside --out %s; the review queue must lie outside the dataset", reviewRoot, out)
		}
		absOut, _ := filepath.Abs(out)
		absRoot, _ := filepath.Abs(reviewRoot)
		if want.ReviewDir, err = filepath.Rel(absOut, absRoot); err != nil {
			return fmt.Errorf("--review-dir %s: %w", reviewRoot, err)
		}
	}
	if old != nil && job.Generate.BatchSize == 0 {
		job.Generate.BatchSize = old.BatchSize // the batch the images were made with
	}
	e, err := openEngine(c)
	if err != nil {
		return err
	}
	defer e.Close()
	g, err := e.LoadModel(paths["generator"], bindings.RoleGenerator)
	if err != nil {
		return err
	}
	defer g.Close()
	screen, err := e.LoadModel(paths["screen"], bindings.RoleClassifier)
	if err != nil {
		return err
	}
	defer screen.Close()
	models := generate.Models{Generator: g, GeneratorName: c.String("generator"), Screen: screen}
	if paths["target"] != "" {
		if models.Target, err = e.LoadModel(paths["target"], bindings.RoleClassifier); err != nil {
			return err
		}
		defer models.Target.Close()
	}
	job.Data.Source, job.Data.Scenario = c.String("data"), data.BalancedScenario
	real, err := loop.LoadTraining(e, &job)
	if err != nil {
		return err
	}
	if err := checkGenerateFits(c.String("data"), planPath, real, p, generate3{g, screen, models.Target}); err != nil {
		return err
	}
	// The plan's classes are the models' by name (the metrics may number them otherwise).
	targets, matches, err := generate.MatchClasses(p.Targets, p.ClassNames, real.ClassNames)
	if err != nil {
		return fmt.Errorf("plan %s: %w", planPath, err)
	}
	for _, m := range matches {
		if m.Loose {
			fmt.Fprintf(c.App.ErrWriter, "gam-native generate: the plan's class %q is the models' %q\n", m.Plan, m.Model)
		}
	}
	want.Classes = real.ClassNames
	if old != nil && !slices.Equal(old.Classes, want.Classes) {
		return fmt.Errorf("--out %s holds the output of another generate (its classes differ: %s); nothing was written", out, strings.Join(old.Classes, ", "))
	}
	// generate.batch_size left out: the memory budget ([plan.memory]) sizes the batch.
	gcfg, batch, err := loop.GenerateBatch(e, job, models)
	if err != nil {
		return err
	}
	opts, err := generate.NewOptions(e, g, screen, real, gcfg, seed, c.Int("round"))
	if err != nil {
		return err
	}
	want.BatchSize = gcfg.BatchSize
	want.Screen, want.DupThreshold = paths["screen"], gcfg.DupThreshold
	if err := jsonfile.WriteJSON(filepath.Join(out, genRecordName), want); err != nil {
		return err
	}
	if err := writeClasses(out, real.ClassNames); err != nil {
		return err
	}
	reviewDir := ""
	if reviewRoot != "" {
		if err := writeClasses(reviewRoot, real.ClassNames); err != nil {
			return err
		}
		reviewDir = filepath.Join(reviewRoot, review.ReviewDir)
	}
	s := g.Meta.ImageShape
	var sink interface {
		generate.Sink
		Close() error
	}
	written := filepath.Join(out, "manifest.jsonl")
	if format == formatWebDataset {
		ws, err := generate.OpenWebDatasetSink(out, real.ClassNames, c.Int("round"), c.String("generator"), s[0], s[1], s[2], 0)
		if err != nil {
			return err
		}
		sink, written = ws, filepath.Join(out, "shard-*.tar")
	} else {
		ds, err := generate.OpenDirSink(out, reviewDir, real.ClassNames, c.Int("round"), c.String("generator"), s[0], s[1], s[2])
		if err != nil {
			return err
		}
		sink = ds
		if n, err := ds.Sweep(); err != nil {
			ds.Close()
			return err
		} else if n > 0 {
			progress.Logf("%s: removed %d image(s) and temporary file(s) that no record names (an earlier generate cut short)", out, n)
		}
	}
	defer sink.Close()
	ctx, stop := signalContext()
	defer stop()
	res, err := generate.Run(ctx, e, models, targets, opts, sink)
	if err != nil {
		return withCause(ctx, err)
	}
	acc, rej := res.Counts()
	metrics.Generation("generate", acc, rej, res.Seconds)
	if err := metrics.Stage("generate", res.Seconds, time.Now()); err != nil {
		progress.Logf("warning: %v", err)
	}
	if err := sink.Close(); err != nil {
		return err
	}
	if reviewRoot != "" {
		ar, err := applyReview(reviewRoot, out, real.ClassNames)
		if err != nil {
			return err
		}
		if ar.Accepted+ar.Relabeled+ar.Removed > 0 {
			fmt.Printf("review: %d accepted, %d relabeled images in %s (%d rejected)\n", ar.Accepted, ar.Relabeled, out, ar.Rejected)
		}
	}
	var rows [][]string
	var short []string
	for _, t := range res.Targets {
		rows = append(rows, []string{t.ID, fmt.Sprint(t.Quota), fmt.Sprint(t.Accepted), fmt.Sprint(t.Pending), fmt.Sprint(t.Attempts), human.Counts(t.Rejected)})
		if t.Shortfall > 0 {
			short = append(short, fmt.Sprintf("%s %d of %d", t.ID, t.Accepted, t.Quota))
		}
	}
	// The output is complete (a shortfall included): merge takes only shards that say so.
	want.Result = &genResult{Accepted: res.Accepted, Attempts: res.Attempts}
	for _, t := range res.Targets {
		want.Result.Targets = append(want.Result.Targets, genTargetResult{ID: t.ID, Quota: t.Quota, Accepted: t.Accepted, Shortfall: t.Shortfall, Rejected: t.Rejected})
	}
	if err := jsonfile.WriteJSON(filepath.Join(out, genRecordName), want); err != nil {
		return err
	}
	fmt.Print(report.Aligned([]string{"target", "quota", "accepted", "pending", "tried", "rejected"}, rows))
	fmt.Printf("%d accepted in %.1fs: %s\n", res.Accepted, res.Seconds, written)
	batch.OOMRetries, batch.FinalBatch = res.OOMRetries, res.EngineBatch
	fmt.Println("batch size: " + batch.String())
	if len(short) > 0 && !c.Bool("allow-shortfall") {
		return &shortfallError{targets: short}
	}
	return nil
}

// The output formats of generate and merge.
const (
	formatImageFolder = "imagefolder"
	formatWebDataset  = "webdataset"
)

// checkOutputFormat refuses an unknown --format, and the webdataset format with a review band
// (its tar shards have no review queue), before anything is written.
func checkOutputFormat(format string, reviewBand float32, config string) error {
	switch format {
	case formatImageFolder:
		return nil
	case formatWebDataset:
		if reviewBand > 0 {
			if config == "" {
				config = "the job"
			}
			return fmt.Errorf("--format webdataset: %s sets [generate] review_band = %g, and the webdataset output has no review queue: "+
				"set review_band = 0, or leave --format at imagefolder", config, reviewBand)
		}
		return nil
	}
	return fmt.Errorf("--format %q: want imagefolder or webdataset", format)
}

// refuseUntrained refuses a zoo model: the zoo's files are exported untrained (zoo/README.md),
// and images from an untrained generator, screened by an untrained screen, are noise.
func refuseUntrained(flag, ref string) error {
	if !strings.HasPrefix(ref, "zoo:") {
		return nil
	}
	return fmt.Errorf("--%s %s is the zoo's untrained model: train the generator and screen first,\n"+
		"   gam-native train-models --config job.toml --out models/\n"+
		"then pass --generator models/generator.pt --screen models/screen.pt (a run folder's models/ holds them\n"+
		"too), or add --allow-untrained to use the zoo's models as they are", flag, ref)
}
