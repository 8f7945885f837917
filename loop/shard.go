package loop

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gam-native/gam-native/bindings"
	"github.com/gam-native/gam-native/data"
	"github.com/gam-native/gam-native/generate"
	"github.com/gam-native/gam-native/internal/jsonfile"
	"github.com/gam-native/gam-native/plan"
	"github.com/gam-native/gam-native/progress"
)

// A sharded round (generate.shards = N > 1) runs its generation as N processes of the same
// binary, each making its share of every target (plan.Shard) into
// rounds/rN/shards/shard-I/ with the run's own training split, models, seed and batch, then
// merges them into accepted/ by the rule `gam-native merge` applies to a cluster's shards:
// shards in index order, near-duplicates across shards dropped, each target trimmed to its count.
// A killed round resumes: a finished shard (its shard.json) is not run again, an unfinished one
// resumes its own folder, and the merge skips the records accepted/ has already.

// ShardResultName is a finished shard's result in its folder: the shard is done once it exists.
const ShardResultName = "shard.json"

// ShardCommand makes the command that runs shard s of round n of the run in runDir, at batch
// size batch, into out: `gam-native generate-shard` (cmd/gam-native sets it).
type ShardCommand func(ctx context.Context, runDir string, n int, s plan.Shard, batch int, out string) *exec.Cmd

// GenerateShard is a shard process's work: shard s of round n's plan from the run folder
// runDir (read, never written: the run's process holds it), made into out at the batch size the
// run chose. A shard that has finished before returns its result again.
func GenerateShard(ctx context.Context, e *bindings.Engine, runDir string, n int, s plan.Shard, batch int, out string) (*generate.Result, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	var done generate.Result
	if err := jsonfile.ReadJSON(filepath.Join(out, ShardResultName), &done); err == nil {
		return &done, nil
	}
	r, err := resume(e, runDir)
	if err != nil {
		return nil, err
	}
	var p plan.Plan
	if err := jsonfile.ReadJSON(r.path("rounds", roundDir(n), "plan.json"), &p); err != nil {
		return nil, err
	}
	sub := p.Split(s)
	g, err := e.LoadModel(r.path("models", "generator.pt"), bindings.RoleGenerator)
	if err != nil {
		return nil, err
	}
	defer g.Close()
	screen, err := e.LoadModel(r.path("models", "screen.pt"), bindings.RoleClassifier)
	if err != nil {
		return nil, err
	}
	defer screen.Close()
	models := generate.Models{Generator: g, GeneratorName: r.Job.Models.Generator, Screen: screen}
	if r.Job.Generate.SearchSteps > 0 {
		t, err := e.LoadModel(r.path("models", fmt.Sprintf("target_r%d.pt", n-1)), bindings.RoleClassifier)
		if err != nil {
			return nil, err
		}
		defer t.Close()
		models.Target = t
	}
	cfg := r.Job.Generate
	cfg.BatchSize = batch
	opts, err := generate.NewOptions(e, g, screen, r.splits.Train, cfg, s.Seed(r.Job.Seed), n)
	if err != nil {
		return nil, err
	}
	sh := g.Meta.ImageShape
	sink, err := generate.OpenDirSink(out, "", r.splits.Train.ClassNames, n, r.Job.Models.Generator, sh[0], sh[1], sh[2])
	if err != nil {
		return nil, err
	}
	defer sink.Close()
	if _, err := sink.Sweep(); err != nil {
		return nil, err
	}
	res, err := generate.Run(ctx, e, models, sub.Targets, opts, sink)
	if err != nil {
		return nil, err
	}
	if err := sink.Close(); err != nil {
		return nil, err
	}
	return res, jsonfile.WriteJSON(filepath.Join(out, ShardResultName), res)
}

// generateSharded runs round n's shards, waits for all of them, and merges what they made into
// sink (accepted/) and grids.
func (r *Runner) generateSharded(ctx context.Context, n int, p plan.Plan, screen *bindings.Model, cfg generate.Config, sink *generate.DirSink, grids *gridSink) (*generate.Result, error) {
	if r.ShardCommand == nil {
		return nil, errors.New("generate.shards > 1: this program cannot start shard processes (only `gam-native run` can)")
	}
	k := cfg.Shards
	root := r.path("rounds", roundDir(n), "shards")
	t0 := time.Now()
	dirs := make([]string, k)
	errs := make([]error, k)
	var wg sync.WaitGroup
	progress.Logf("round %d: generating in %d shard processes (logs in %s)", n, k, root)
	for i := 0; i < k; i++ {
		s := plan.Shard{Index: i, Count: k}
		dirs[i] = filepath.Join(root, fmt.Sprintf("shard-%d", i))
		if err := os.MkdirAll(dirs[i], 0o755); err != nil {
			return nil, err
		}
		logPath := filepath.Join(root, fmt.Sprintf("shard-%d.log", i))
		logf, err := os.Create(logPath)
		if err != nil {
			return nil, err
		}
		cmd := r.ShardCommand(ctx, r.Dir, n, s, cfg.BatchSize, dirs[i])
		cmd.Stdout, cmd.Stderr = logf, logf
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer logf.Close()
			if err := cmd.Run(); err != nil {
				errs[s.Index] = fmt.Errorf("round %d: shard %s failed (%v); the end of %s:\n%s", n, s, err, logPath, logTail(logPath, 20))
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	classes := r.splits.Train.ClassNames
	results := make([]generate.Result, k)
	recs := make([][]data.Record, k)
	sets := make([]*data.Dataset, k)
	for i, d := range dirs {
		if err := jsonfile.ReadJSON(filepath.Join(d, ShardResultName), &results[i]); err != nil {
			return nil, fmt.Errorf("round %d: shard %d/%d exited 0 but left no result: %w", n, i, k, err)
		}
		ds, rs, err := data.ReadManifest(filepath.Join(d, data.ManifestName), classes)
		if errors.Is(err, fs.ErrNotExist) {
			continue // a shard that accepted nothing
		}
		if err != nil {
			return nil, fmt.Errorf("round %d: shard %d/%d: %w", n, i, k, err)
		}
		recs[i], sets[i] = rs, ds
	}
	quotas := make([]generate.MergeQuota, len(p.Targets))
	byID := map[string]int{}
	for i, t := range p.Targets {
		quotas[i] = generate.MergeQuota{ID: t.ID, Quota: t.Count}
		byID[t.ID] = i
	}
	keep, merged, err := generate.MergeShardImages(r.E, screen, sets, recs, quotas, cfg.DupThreshold)
	if err != nil {
		return nil, fmt.Errorf("round %d: merging the shards: %w", n, err)
	}
	res := &generate.Result{StageSeconds: map[string]float64{}, BatchSize: cfg.BatchSize}
	for i := range p.Targets {
		res.Targets = append(res.Targets, generate.TargetResult{ID: p.Targets[i].ID, Quota: p.Targets[i].Count, Rejected: map[string]int{}})
	}
	names := make([]string, k)
	for s := range dirs {
		names[s] = plan.Shard{Index: s, Count: k}.String()
		res.Shards = append(res.Shards, generate.ShardResult{Shard: names[s], Accepted: results[s].Accepted,
			Attempts: results[s].Attempts, Seconds: results[s].Seconds})
		for _, t := range results[s].Targets {
			if j, ok := byID[t.ID]; ok {
				res.Targets[j].Attempts += t.Attempts
				for why, c := range t.Rejected {
					res.Targets[j].Rejected[why] += c
				}
			}
		}
		res.Attempts += results[s].Attempts
		for st, v := range results[s].StageSeconds {
			res.StageSeconds[st] += v
		}
	}
	if err := generate.EachKept(dirs, names, recs, keep, func(s, i int, rec data.Record, b []byte) error {
		rec.Path = data.ClassFolder(classes[rec.Label]) + "/" + fmt.Sprintf("s%dof%d-", s, k) + filepath.Base(rec.Path)
		if rec.Provenance != nil {
			px := sets[s].C * sets[s].H * sets[s].W
			grids.remember(rec.Provenance.Target, sets[s].Images[i*px:(i+1)*px])
		}
		res.Shards[s].Kept++
		return sink.AddFile(rec, b)
	}); err != nil {
		return nil, err
	}
	if err := sink.Flush(); err != nil {
		return nil, err
	}
	for j, m := range merged {
		res.Targets[j].Accepted = m.Kept
		res.Targets[j].Shortfall = m.Shortfall
		if m.Duplicates > 0 {
			res.Targets[j].Rejected[generate.ReasonDuplicate] += m.Duplicates
		}
		res.Accepted += m.Kept
	}
	res.Seconds = time.Since(t0).Seconds()
	return res, nil
}

// logTail is the last n lines of a file (for an error message).
func logTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(bytes.ReplaceAll(b, []byte("\r"), []byte("\n"))), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
