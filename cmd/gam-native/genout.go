package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/gam-native/gam-native/internal/atomicfile"
	"github.com/gam-native/gam-native/internal/dirlock"
	"github.com/gam-native/gam-native/plan"
	"github.com/gam-native/gam-native/progress"
	"github.com/gam-native/gam-native/review"
)

// genRecordName is the file in a generate output that says what made it: a later generate
// into the same folder resumes it only when it would make the same images.
const genRecordName = "generate.json"

const genRecordFormat = "gam.generate/v1"

// genRecord is OUT/generate.json. Inputs holds what decides the images (the plan's bytes, the
// seed, the round, the models' bytes, the data and the [generate] table); BatchSize is the
// batch the first run chose, which a resume takes again (the images follow from it too).
type genRecord struct {
	Format    string            `json:"format"`
	Inputs    map[string]string `json:"inputs"`
	BatchSize int               `json:"batch_size"`
	Classes   []string          `json:"classes"`
	// ReviewDir is the review queue's root (classes.json and review/), relative to OUT; "" when
	// the review band is off.
	ReviewDir string `json:"review_dir,omitempty"`
	// Output is "webdataset" when OUT holds tar shards (--format webdataset); "" is the
	// ImageFolder with its manifest.
	Output string `json:"output,omitempty"`
	// Shard is "I/N" when OUT is one shard of the plan (--shard); merge joins the N of them.
	Shard string `json:"shard,omitempty"`
	// Screen and DupThreshold are the screen's file and generate.dup_threshold: merge finds
	// near-duplicates across shards with them, by the rule generate applies inside one.
	Screen       string  `json:"screen,omitempty"`
	DupThreshold float32 `json:"dup_threshold,omitempty"`
	// Result is set once the generate has finished (a shortfall included); an output without it
	// was interrupted, and merge refuses it.
	Result *genResult `json:"result,omitempty"`
}

// genResult is what a finished generate made.
type genResult struct {
	Accepted int               `json:"accepted"`
	Attempts int               `json:"attempts"`
	Targets  []genTargetResult `json:"targets"`
}

type genTargetResult struct {
	ID        string         `json:"id"`
	Quota     int            `json:"quota"`
	Accepted  int            `json:"accepted"`
	Shortfall int            `json:"shortfall,omitempty"`
	Rejected  map[string]int `json:"rejected,omitempty"`
}

// generateShard is the shard a generate makes: --shard, else the batch system's environment
// (plan.ShardFromEnv), else the whole plan.
func generateShard(c *cli.Context) (plan.Shard, error) {
	if v := c.String("shard"); v != "" {
		s, err := plan.ParseShard(v)
		if err != nil {
			return s, fmt.Errorf("--shard: %w", err)
		}
		if n := c.Int("num-shards"); n != 0 && n != s.Count {
			return s, fmt.Errorf("--shard %s and --num-shards %d disagree", v, n)
		}
		return s, nil
	}
	s, source, ok, err := plan.ShardFromEnv(os.Getenv, c.Int("num-shards"))
	if err != nil {
		return s, err
	}
	if !ok && c.Int("num-shards") > 1 {
		return s, fmt.Errorf("--num-shards %d without a shard index: give --shard I/N, or run under a Kubernetes Indexed Job (%s) or a Slurm array (%s)",
			c.Int("num-shards"), plan.EnvK8sIndex, plan.EnvSlurmTask)
	}
	if ok {
		progress.Logf("generate: shard %s (from %s)", s, source)
	}
	return s, nil
}

func fileSHA256(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:]), nil
}

// checkGenerateOut decides what a generate may do with out before it touches a file: a folder
// that does not exist or is empty (but for the lock) is new; one whose generate.json has the
// same inputs is resumed (the old record is returned; the caller compares its classes once the
// data is read); anything else is refused, naming what differs. A result path that exists and is not a folder is refused too.
func checkGenerateOut(out string, want genRecord) (*genRecord, error) {
	fi, err := os.Stat(out)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("--out %s: %w", out, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("--out %s: exists and is not a folder (%s); give a folder for the dataset", out, fi.Mode().Type())
	}
	ents, err := os.ReadDir(out)
	if err != nil {
		return nil, fmt.Errorf("--out %s: %w", out, err)
	}
	ents = slices.DeleteFunc(ents, func(e fs.DirEntry) bool { return e.Name() == dirlock.Name || atomicfile.IsTemp(e.Name()) })
	if len(ents) == 0 {
		return nil, nil
	}
	b, err := os.ReadFile(filepath.Join(out, genRecordName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("--out %s: the folder is not empty and holds no %s (not a generate output of this version): "+
			"give a new or empty folder", out, genRecordName)
	}
	if err != nil {
		return nil, err
	}
	var old genRecord
	if err := json.Unmarshal(b, &old); err != nil {
		return nil, fmt.Errorf("--out %s: %s: %w; give a new or empty folder", out, filepath.Join(out, genRecordName), err)
	}
	if old.Format != genRecordFormat {
		return nil, fmt.Errorf("--out %s: %s has format %q, not %s: give a new or empty folder", out, filepath.Join(out, genRecordName), old.Format, genRecordFormat)
	}
	var diff []string
	for _, k := range sortedKeys(want.Inputs, old.Inputs) {
		if want.Inputs[k] != old.Inputs[k] {
			diff = append(diff, k)
		}
	}
	if len(diff) > 0 {
		return nil, fmt.Errorf("--out %s holds the output of another generate (its %s differ): the same command resumes an output, "+
			"other inputs need a new folder; nothing was written", out, strings.Join(diff, ", "))
	}
	return &old, nil
}

func sortedKeys(ms ...map[string]string) []string {
	var ks []string
	for _, m := range ms {
		for k := range m {
			if !slices.Contains(ks, k) {
				ks = append(ks, k)
			}
		}
	}
	slices.Sort(ks)
	return ks
}

// defaultReviewRoot is where generate puts its review queue: beside OUT, never inside it (an
// ImageFolder loader would take the queue's folder for a class, and a Hugging Face loader
// would sweep in the images not yet reviewed).
func defaultReviewRoot(out string) string {
	if abs, err := filepath.Abs(out); err == nil {
		out = abs // "." and "gen/" alike: the folder's own name plus .review, beside it
	}
	return filepath.Clean(out) + ".review"
}

// outside reports whether path lies outside the folder dir (neither dir nor under it).
func outside(dir, path string) bool {
	a, err1 := filepath.Abs(dir)
	b, err2 := filepath.Abs(path)
	if err1 != nil || err2 != nil {
		return false
	}
	rel, err := filepath.Rel(a, b)
	return err == nil && (rel == ".." || strings.HasPrefix(rel, "../"))
}

// reviewPlaces finds the review queue and the dataset for a folder the user named: a run
// folder (DIR/classes.json; the dataset is DIR/accepted) or a generate output (DIR/generate.json
// names its queue; the dataset is DIR itself).
func reviewPlaces(dir string) (queueRoot, datasetDir string, err error) {
	b, err := os.ReadFile(filepath.Join(dir, genRecordName))
	if err == nil {
		var rec genRecord
		if err := json.Unmarshal(b, &rec); err != nil {
			return "", "", fmt.Errorf("%s: %w", filepath.Join(dir, genRecordName), err)
		}
		if rec.ReviewDir == "" {
			return "", "", fmt.Errorf("%s: this generate output has no review queue (the [generate] review_band was 0)", dir)
		}
		return filepath.Join(dir, rec.ReviewDir), dir, nil
	}
	if _, err := os.Stat(filepath.Join(dir, review.ClassesName)); err == nil {
		return dir, filepath.Join(dir, "accepted"), nil
	}
	if _, err := os.Stat(dir); err != nil {
		return "", "", fmt.Errorf("%s: %w", dir, err)
	}
	return "", "", fmt.Errorf("%s: neither a run folder (no %s) nor a generate output (no %s)", dir, review.ClassesName, genRecordName)
}

// writeClasses writes dir/classes.json (index = label) unless it holds the same names.
func writeClasses(dir string, classes []string) error {
	b, _ := json.MarshalIndent(classes, "", "  ")
	b = append(b, '\n')
	p := filepath.Join(dir, review.ClassesName)
	if old, err := os.ReadFile(p); err == nil && string(old) == string(b) {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return atomicfile.Write(p, b)
}

// applyReview merges a queue's decisions into its dataset and says what it did.
func applyReview(queueRoot, datasetDir string, classes []string) (review.ApplyResult, error) {
	res, err := review.Apply(queueRoot, datasetDir, classes)
	if err != nil {
		return res, fmt.Errorf("review apply %s: %w", queueRoot, err)
	}
	return res, nil
}

func reviewApplyCommand() *cli.Command {
	return &cli.Command{
		Name:      "apply",
		Usage:     "merge the review decisions into the dataset and its manifest",
		ArgsUsage: "RUN_DIR|OUT",
		Description: "Merges the decisions made so far (review page, import-ls) into the dataset: a run folder's\n" +
			"accepted/ or a generate output OUT. Each accepted image is copied into the folder of its class,\n" +
			"each relabeled one into that of its new class, with one manifest.jsonl and metadata.jsonl record\n" +
			"each (provenance.review \"accepted\" or \"relabeled\"); rejected images stay out, and an image\n" +
			"whose decision changed since an earlier apply moves or comes out. Atomic (the manifest is the\n" +
			"commit) and idempotent: run it as often as you like. `run` and `generate` apply at their end\n" +
			"when the review band is on. It holds the folder's lock, so it waits for no running process:\n" +
			"a folder in use is refused with the holder's pid.\n\n" +
			"Examples:\n" +
			"   gam-native review apply runs/fashion-mnist-lt-20261126-101500\n" +
			"   gam-native review apply gen/          # a generate output; its queue is gen.review/",
		Action: func(c *cli.Context) error {
			args, err := positionalArgs(c)
			if err != nil {
				return err
			}
			if len(args) != 1 {
				return cli.Exit("want one RUN_DIR or generate output", 2)
			}
			queue, dataset, err := reviewPlaces(args[0])
			if err != nil {
				return err
			}
			if _, err := os.Stat(filepath.Join(args[0], "state.json")); err != nil && dataset == filepath.Join(args[0], "accepted") {
				return fmt.Errorf("%s is a review queue, not a run folder: apply into its dataset with `gam-native review apply OUT` "+
					"(the generate output whose generate.json names this queue)", args[0])
			}
			unlock, err := lockDir(args[0])
			if err != nil {
				return err
			}
			defer unlock()
			res, err := applyReview(queue, dataset, nil)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "%s: %d accepted, %d relabeled in the dataset; %d rejected; %d taken out again\n",
				dataset, res.Accepted, res.Relabeled, res.Rejected, res.Removed)
			return nil
		},
	}
}
