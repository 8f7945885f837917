package main

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/gam-native/gam-native/bindings"
	"github.com/gam-native/gam-native/data"
	"github.com/gam-native/gam-native/generate"
	"github.com/gam-native/gam-native/internal/atomicfile"
	"github.com/gam-native/gam-native/internal/dirlock"
	"github.com/gam-native/gam-native/internal/human"
	"github.com/gam-native/gam-native/internal/jsonfile"
	"github.com/gam-native/gam-native/loop"
	"github.com/gam-native/gam-native/plan"
	"github.com/gam-native/gam-native/report"
)

// mergeRecordName is a merged dataset's account of its shards (OUT/merge.json).
const mergeRecordName = "merge.json"

const mergeRecordFormat = "gam.merge/v1"

// mergeRecord is OUT/merge.json. It holds nothing that changes between two merges of the same
// shards (no time, no absolute paths), so that a merge run twice writes the same bytes.
type mergeRecord struct {
	Format string `json:"format"`
	// Output is "webdataset" for tar shards (--format webdataset); "" is the ImageFolder.
	Output  string                 `json:"output,omitempty"`
	Shards  []mergeShard           `json:"shards"`
	Classes []string               `json:"classes"`
	Targets []generate.MergeTarget `json:"targets"`
	Kept    int                    `json:"kept"`
	// Rejected sums the shards' rejections per reason; duplicates across shards and images past a
	// quota are in Targets.
	Rejected map[string]int `json:"rejected"`
}

type mergeShard struct {
	Shard    string `json:"shard"`
	Dir      string `json:"dir"`
	Accepted int    `json:"accepted"`
	Kept     int    `json:"kept"`
}

func init() {
	commands = append(commands, &cli.Command{
		Name:      "merge",
		Usage:     "join the shards of a sharded generate into one dataset",
		ArgsUsage: "SHARD_DIR...",
		Description: "Joins the outputs of `gam-native generate --shard I/N` (all N of them, any order) into OUT:\n" +
			"one ImageFolder (a folder per class) with manifest.jsonl, metadata.jsonl, classes.json and\n" +
			"merge.json. Each target gets exactly its quota from the plan: shards are taken in index order,\n" +
			"an image that is a near-duplicate of one kept from an earlier shard is dropped (the rule generate\n" +
			"applies inside one output: the screen's embeddings, generate.dup_threshold), and images past the\n" +
			"quota are trimmed. Every record names its shard (provenance.shard); the shards' rejections are\n" +
			"summed in merge.json. A missing shard, an unfinished one (its generate was interrupted: run it\n" +
			"again) or shards of different plans are refused before OUT is touched. Merging again gives the\n" +
			"same bytes. A target left short (the shards made too few, or duplicates took some) exits 3,\n" +
			"unless --allow-shortfall; rerun the short shard's generate with a larger plan to top it up.\n" +
			"Flags go before the shard folders. The shards are ImageFolder outputs (generate without --format);\n" +
			"--format webdataset writes the merged dataset as tar shards.\n\n" +
			"Examples:\n" +
			"   for i in 0 1 2; do gam-native generate --plan plan.json --out gen/shard-$i --shard $i/3 ...; done\n" +
			"   gam-native merge --out gen/merged gen/shard-*\n" +
			"   (docs/cluster.md: the same on Kubernetes Indexed Jobs and Slurm arrays)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Required: true, Usage: "merged dataset `DIR`: new, empty, or an earlier merge of the same shards"},
			&cli.StringFlag{Name: "format", Value: formatImageFolder, Usage: "output format: imagefolder, or webdataset (OUT/shard-000000.tar, ...: KEY.png, KEY.cls, KEY.json per image, as generate --format webdataset writes)"},
			&cli.StringFlag{Name: "screen", Usage: "screen `FILE` whose embeddings find near-duplicates (default: the one the shards' generate.json names)"},
			&cli.BoolFlag{Name: "allow-shortfall", Usage: "exit 0 when a target is short of its quota (without it: exit 3)"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress output"},
		},
		Action: runMerge,
	})
}

// shardOut is one shard's output as merge reads it.
type shardOut struct {
	dir   string
	shard plan.Shard
	rec   genRecord
}

// readShards reads and checks every shard's generate.json: each a finished shard of the same
// plan and inputs, every index from 0 to N-1 once. They come back in index order.
func readShards(dirs []string) ([]shardOut, error) {
	var out []shardOut
	for _, d := range dirs {
		p := filepath.Join(d, genRecordName)
		var r genRecord
		if err := jsonfile.ReadJSON(p, &r); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("%s: no %s: not the output of a gam-native generate", d, genRecordName)
			}
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		if r.Format != genRecordFormat {
			return nil, fmt.Errorf("%s: format %q, want %q", p, r.Format, genRecordFormat)
		}
		if r.Shard == "" {
			return nil, fmt.Errorf("%s: not a shard (its generate had no --shard): there is nothing to merge it with", d)
		}
		s, err := plan.ParseShard(r.Shard)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		if r.Output == formatWebDataset {
			return nil, fmt.Errorf("%s (shard %s) holds webdataset tar shards: merge reads ImageFolder shards (their manifests find near-duplicates); "+
				"generate the shards without --format, and give merge --format webdataset", d, r.Shard)
		}
		if r.Result == nil {
			return nil, fmt.Errorf("%s (shard %s) is unfinished: its generate was interrupted or is still running; run the same generate again to complete it", d, r.Shard)
		}
		out = append(out, shardOut{dir: d, shard: s, rec: r})
	}
	if len(out) == 0 {
		return nil, cli.Exit("merge: give the shard folders to merge", 2)
	}
	n := out[0].shard.Count
	byIndex := map[int]shardOut{}
	for _, s := range out {
		if s.shard.Count != n {
			return nil, fmt.Errorf("%s is shard %s and %s shard %s: shards of %d and of %d", out[0].dir, out[0].rec.Shard, s.dir, s.rec.Shard, n, s.shard.Count)
		}
		if prev, dup := byIndex[s.shard.Index]; dup {
			return nil, fmt.Errorf("%s and %s are both shard %s", prev.dir, s.dir, s.rec.Shard)
		}
		byIndex[s.shard.Index] = s
		for _, k := range sortedKeys(out[0].rec.Inputs, s.rec.Inputs) {
			if k != "shard" && out[0].rec.Inputs[k] != s.rec.Inputs[k] {
				return nil, fmt.Errorf("%s and %s are shards of different generates (their %s differ)", out[0].dir, s.dir, k)
			}
		}
		if !slices.Equal(out[0].rec.Classes, s.rec.Classes) {
			return nil, fmt.Errorf("%s and %s have different classes", out[0].dir, s.dir)
		}
	}
	var missing []string
	for i := 0; i < n; i++ {
		if _, ok := byIndex[i]; !ok {
			missing = append(missing, fmt.Sprintf("%d/%d", i, n))
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("shard %s missing: give all %d shard folders (have %d)", strings.Join(missing, ", "), n, len(out))
	}
	slices.SortFunc(out, func(a, b shardOut) int { return a.shard.Index - b.shard.Index })
	return out, nil
}

// checkMergeOut refuses an OUT that is neither new, nor empty, nor an earlier merge, or that is
// one of the shards.
func checkMergeOut(out string, shards []shardOut, format string) error {
	for _, s := range shards {
		if a, b := filepath.Clean(out), filepath.Clean(s.dir); a == b {
			return fmt.Errorf("--out %s is shard %s itself: give a new folder", out, s.rec.Shard)
		}
	}
	fi, err := os.Stat(out)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("--out %s: %w", out, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("--out %s: exists and is not a folder", out)
	}
	ents, err := os.ReadDir(out)
	if err != nil {
		return fmt.Errorf("--out %s: %w", out, err)
	}
	ents = slices.DeleteFunc(ents, func(e fs.DirEntry) bool { return e.Name() == dirlock.Name || e.Name() == mergeWebDatasetTmp })
	if len(ents) == 0 {
		return nil
	}
	var old mergeRecord
	if err := jsonfile.ReadJSON(filepath.Join(out, mergeRecordName), &old); err != nil {
		return fmt.Errorf("--out %s: not empty and not an earlier merge (no readable %s): give a new or empty folder", out, mergeRecordName)
	}
	if was := cmp.Or(old.Output, formatImageFolder); was != format {
		return fmt.Errorf("--out %s holds an earlier merge in the %s format, not %s: give a new folder", out, was, format)
	}
	return nil
}

func runMerge(c *cli.Context) error {
	dirs := c.Args().Slice()
	for _, d := range dirs {
		if strings.HasPrefix(d, "-") {
			return cli.Exit(fmt.Sprintf("merge: %s after the shard folders: flags go first (gam-native merge --out DIR SHARD_DIR...)", d), 2)
		}
	}
	format := c.String("format")
	if err := checkOutputFormat(format, 0, ""); err != nil {
		return err
	}
	shards, err := readShards(dirs)
	if err != nil {
		return err
	}
	out := c.String("out")
	if err := checkMergeOut(out, shards, format); err != nil {
		return err
	}
	screenPath := c.String("screen")
	if screenPath == "" {
		screenPath = shards[0].rec.Screen
	} else if screenPath, err = loop.ResolveModel(screenPath); err != nil {
		return err
	}
	classes := shards[0].rec.Classes
	// The quotas are the plan's counts: the shards' shares sum to them.
	var quotas []generate.MergeQuota
	at := map[string]int{}
	rejected := map[string]int{}
	for _, s := range shards {
		for _, t := range s.rec.Result.Targets {
			i, ok := at[t.ID]
			if !ok {
				i, at[t.ID] = len(quotas), len(quotas)
				quotas = append(quotas, generate.MergeQuota{ID: t.ID})
			}
			quotas[i].Quota += t.Quota
			for reason, n := range t.Rejected {
				rejected[reason] += n
			}
		}
	}
	unlock, err := lockDir(out)
	if err != nil {
		return err
	}
	defer unlock()
	// merge.json first, with nothing kept: a merge killed before its end leaves an OUT that the
	// same merge takes again (checkMergeOut), instead of a folder it refuses.
	if _, err := os.Stat(filepath.Join(out, mergeRecordName)); errors.Is(err, fs.ErrNotExist) {
		started := mergeRecord{Format: mergeRecordFormat, Classes: shards[0].rec.Classes}
		if format == formatWebDataset {
			started.Output = format
		}
		if err := jsonfile.WriteJSON(filepath.Join(out, mergeRecordName), started); err != nil {
			return err
		}
	}

	e, err := openEngine(c)
	if err != nil {
		return err
	}
	defer e.Close()
	var screen *bindings.Model
	if screenPath != "" {
		if screen, err = e.LoadModel(screenPath, bindings.RoleClassifier); err != nil {
			return fmt.Errorf("merge: the screen for near-duplicates: %w", err)
		}
		defer screen.Close()
	}
	recs := make([][]data.Record, len(shards))
	sets := make([]*data.Dataset, len(shards))
	for i, s := range shards {
		mp := filepath.Join(s.dir, data.ManifestName)
		ds, r, err := data.ReadManifest(mp, classes)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				r, ds = nil, nil // a shard that accepted nothing has no manifest
			} else {
				return fmt.Errorf("shard %s: %w", s.rec.Shard, err)
			}
		}
		recs[i], sets[i] = r, ds
	}
	// A record without the threshold (0): no near-duplicate check.
	keep, targets, err := generate.MergeShardImages(e, screen, sets, recs, quotas, shards[0].rec.DupThreshold)
	if err != nil {
		return err
	}
	write, where := writeMerged, filepath.Join(out, data.ManifestName)
	if format == formatWebDataset {
		write, where = writeMergedWebDataset, filepath.Join(out, "shard-*.tar")
	}
	rec, err := write(out, shards, classes, recs, keep)
	if err != nil {
		return err
	}
	rec.Targets, rec.Rejected = targets, rejected
	if err := jsonfile.WriteJSON(filepath.Join(out, mergeRecordName), rec); err != nil {
		return err
	}
	var rows [][]string
	var short []string
	for _, t := range targets {
		rows = append(rows, []string{t.ID, fmt.Sprint(t.Quota), fmt.Sprint(t.Kept), fmt.Sprint(t.Offered), fmt.Sprint(t.Duplicates), fmt.Sprint(t.Trimmed)})
		if t.Shortfall > 0 {
			short = append(short, fmt.Sprintf("%s %d of %d", t.ID, t.Kept, t.Quota))
		}
	}
	fmt.Fprint(c.App.Writer, report.Aligned([]string{"target", "quota", "kept", "offered", "duplicates", "trimmed"}, rows))
	fmt.Fprintf(c.App.Writer, "%d images from %d shards in %s (rejected by the shards: %s)\n", rec.Kept, len(shards), where, human.Counts(rejected))
	if len(short) > 0 && !c.Bool("allow-shortfall") {
		return &shortfallError{targets: short}
	}
	return nil
}

// tag prefixes the names of the shard's images in a merged dataset: names are unique only within
// a shard.
func (s shardOut) tag() string { return fmt.Sprintf("s%dof%d-", s.shard.Index, s.shard.Count) }

// mergeShards gives the shards' folders and names, and their merge.json entries with nothing
// kept yet.
func mergeShards(shards []shardOut, recs [][]data.Record) (dirs, names []string, ms []mergeShard) {
	for s, sh := range shards {
		dirs, names = append(dirs, sh.dir), append(names, sh.rec.Shard)
		ms = append(ms, mergeShard{Shard: sh.rec.Shard, Dir: filepath.Base(filepath.Clean(sh.dir)), Accepted: len(recs[s])})
	}
	return dirs, names, ms
}

// mergeExitAfter is a test hook: GAM_TEST_MERGE_EXIT_AFTER=N ends the process as a kill would,
// once N images of an ImageFolder merge are written (TestShardedGenerateMerges).
var mergeExitAfter = func() int {
	n, err := strconv.Atoi(os.Getenv("GAM_TEST_MERGE_EXIT_AFTER"))
	if err != nil || n <= 0 {
		return -1
	}
	return n
}()

// writeMerged writes the kept images and their records into out: every class's folder, each
// image as <class folder>/s<I>of<N>-<name> (names are unique within a shard), the manifest and
// its metadata view replaced at once (the commit), then the files of an earlier merge that are
// no longer named removed.
func writeMerged(out string, shards []shardOut, classes []string, recs [][]data.Record, keep [][]bool) (*mergeRecord, error) {
	rec := &mergeRecord{Format: mergeRecordFormat, Classes: classes}
	for _, c := range classes {
		if err := os.MkdirAll(filepath.Join(out, data.ClassFolder(c)), 0o755); err != nil {
			return nil, fmt.Errorf("--out %s: %w", out, err)
		}
	}
	if err := writeClasses(out, classes); err != nil {
		return nil, err
	}
	var merged []data.Record
	named := map[string]bool{}
	dirs, names, ms := mergeShards(shards, recs)
	if err := generate.EachKept(dirs, names, recs, keep, func(s, _ int, r data.Record, b []byte) error {
		rel := data.ClassFolder(classes[r.Label]) + "/" + shards[s].tag() + filepath.Base(r.Path)
		if err := atomicfile.WriteSync(filepath.Join(out, filepath.FromSlash(rel)), b, atomicfile.SyncFile); err != nil {
			return err
		}
		named[rel] = true
		r.Path = rel
		merged = append(merged, r)
		ms[s].Kept++
		if len(merged) == mergeExitAfter {
			os.Exit(137) // the test hook's kill: no deferred call runs
		}
		return nil
	}); err != nil {
		return nil, err
	}
	rec.Shards = ms
	for _, m := range ms {
		rec.Kept += m.Kept
	}
	for _, d := range data.RecordFolders(out, merged) {
		if err := atomicfile.SyncDir(d); err != nil {
			return nil, err
		}
	}
	if err := data.RewriteManifest(out, merged); err != nil {
		return nil, err
	}
	// An earlier merge's images that this one does not name.
	for _, c := range classes {
		folder := data.ClassFolder(c)
		ents, err := os.ReadDir(filepath.Join(out, folder))
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			if rel := folder + "/" + e.Name(); !e.IsDir() && !named[rel] {
				if err := os.Remove(filepath.Join(out, rel)); err != nil {
					return nil, err
				}
			}
		}
	}
	return rec, nil
}

// mergeWebDatasetTmp is the folder inside OUT where a webdataset merge writes its shards first.
const mergeWebDatasetTmp = ".merge-webdataset"

// writeMergedWebDataset writes the kept images as webdataset tar shards in out, in the order
// writeMerged takes them, keys s<I>of<N>-<name> without its extension (dots as "-"): written in
// full into a folder of its own inside out, then renamed over an earlier merge's shards, whose
// extra shards are removed.
func writeMergedWebDataset(out string, shards []shardOut, classes []string, recs [][]data.Record, keep [][]bool) (*mergeRecord, error) {
	rec := &mergeRecord{Format: mergeRecordFormat, Output: formatWebDataset, Classes: classes}
	if err := writeClasses(out, classes); err != nil {
		return nil, err
	}
	tmp := filepath.Join(out, mergeWebDatasetTmp)
	if err := os.RemoveAll(tmp); err != nil {
		return nil, err
	}
	w, err := data.OpenWebDataset(tmp, 0)
	if err != nil {
		return nil, fmt.Errorf("--out %s: %w", out, err)
	}
	defer w.Close()
	dirs, names, ms := mergeShards(shards, recs)
	var batch []data.WebDatasetSample
	if err := generate.EachKept(dirs, names, recs, keep, func(s, _ int, r data.Record, b []byte) error {
		key := shards[s].tag() + strings.ReplaceAll(strings.TrimSuffix(filepath.Base(r.Path), ".png"), ".", "-")
		r.Path = key + ".png"
		js, err := json.Marshal(r)
		if err != nil {
			return err
		}
		batch = append(batch, data.WebDatasetSample{Key: key, PNG: b, Label: r.Label, JSON: js})
		ms[s].Kept++
		if len(batch) == 256 {
			err, batch = w.Append(batch), batch[:0]
		}
		return err
	}); err != nil {
		return nil, fmt.Errorf("--out %s: %w", out, err)
	}
	if err := w.Append(batch); err != nil {
		return nil, fmt.Errorf("--out %s: %w", out, err)
	}
	rec.Shards = ms
	for _, m := range ms {
		rec.Kept += m.Kept
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	made, err := data.WebDatasetShards(tmp)
	if err != nil {
		return nil, err
	}
	old, err := data.WebDatasetShards(out)
	if err != nil {
		return nil, err
	}
	for _, p := range made {
		if err := os.Rename(p, filepath.Join(out, filepath.Base(p))); err != nil {
			return nil, err
		}
	}
	for _, p := range old[min(len(old), len(made)):] {
		if err := os.Remove(p); err != nil {
			return nil, err
		}
	}
	if err := atomicfile.SyncDir(out); err != nil {
		return nil, err
	}
	return rec, os.RemoveAll(tmp)
}
