package loop

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/gam-native/gam-native/bindings"
	"github.com/gam-native/gam-native/generate"
	"github.com/gam-native/gam-native/hostres"
	"github.com/gam-native/gam-native/internal/jsonfile"
	"github.com/gam-native/gam-native/plan"
	"github.com/gam-native/gam-native/progress"
	"github.com/gam-native/gam-native/train"
)

// Where the memory budget reads free memory; tests replace them (go-nvml's mocks, a fake host).
var (
	budgetNVML = func() hostres.NVML { return hostres.SystemNVML() }
	budgetHost = hostres.Host{}
)

// batchesFile is the run folder's record of every stage's batch choice (report.json's "batches").
const batchesFile = "batches.json"

// GenerateBatch sizes a round's sample/score batch: the job's generate.batch_size when it has
// one, else the memory budget ([plan.memory], generate.SizeBatch) for the generator's image shape.
// The config returned carries the chosen size.
func GenerateBatch(e *bindings.Engine, j Job, m generate.Models) (generate.Config, plan.BatchChoice, error) {
	cfg := j.Generate
	if err := j.checkFit("generate.batch_size", cfg.BatchSize, m.Generator.Meta.ImageShape, plan.InferMapsPerSample); err != nil {
		return cfg, plan.BatchChoice{}, err
	}
	c, err := generate.SizeBatch(e, m, cfg, j.Plan.Memory, hostres.Memory{NVML: budgetNVML(), Host: budgetHost})
	if err != nil {
		if _, ierr := e.Info(); ierr != nil {
			return cfg, c, err // the engine itself failed
		}
		// No memory figure to size from (no NVML and no readable host memory): the pipeline's
		// default batch, said so, rather than no run.
		progress.Logf("batch size: %v; taking generate's default, %d", err, generate.DefaultBatchSize)
		c = plan.BatchChoice{Stage: "generate", BatchSize: generate.DefaultBatchSize, From: plan.BatchFromDefault, ImageShape: m.Generator.Meta.ImageShape,
			Bound: "no memory budget: " + err.Error()}
	}
	cfg.BatchSize = c.BatchSize
	progress.Logf("batch size: %s", c)
	return cfg, c, nil
}

// TrainBatch sizes a training stage's batch: the job's batch_size when it has one, else the
// memory budget for the model's image shape (bytes per sample estimated with
// plan.TrainMapsPerSample), never above the training default (128), whose learning rates the
// defaults were set for: the budget only lowers a training batch to fit, it does not grow it.
func TrainBatch(e *bindings.Engine, j Job, stage string, explicit int, shape [3]int) (plan.BatchChoice, error) {
	req := plan.BatchRequest{Stage: stage, Explicit: explicit, ImageShape: shape, Maps: plan.TrainMapsPerSample, Ceiling: 128}
	mem := j.Plan.Memory
	var lib hostres.NVML
	if info, err := e.Info(); err == nil && strings.HasPrefix(info.Device, "cuda") {
		lib = budgetNVML()
		if _, n, ok := strings.Cut(info.Device, ":"); ok {
			fmt.Sscan(n, &mem.Device)
		}
	}
	c, err := plan.ChooseBatch(hostres.Memory{NVML: lib, Host: budgetHost}, mem, req)
	if err != nil {
		return c, err
	}
	progress.Logf("batch size: %s", c)
	return c, nil
}

// sizeTraining sets *batch from TrainBatch for a stage of the run (key its stage key, e.g.
// "setup/generator") and returns what records the choice, with the out-of-memory retries that
// *stats collected, once training is over (deferred by the caller). A budget that cannot be read
// leaves *batch as it was (train's default), with a log line.
func (r *Runner) sizeTraining(key, stage string, batch *int, stats **train.OOMStats, shape [3]int) func() {
	c, ok := r.chosenBefore(key, *batch)
	if !ok {
		var err error
		if c, err = TrainBatch(r.E, r.Job, stage, *batch, shape); err != nil {
			progress.Logf("%s: %v; the training default stands", key, err)
			return func() {}
		}
		if err := r.recordBatch(key, c); err != nil {
			progress.Logf("%s: recording the batch choice: %v", key, err)
		}
	}
	*batch = c.BatchSize
	st := &train.OOMStats{}
	*stats = st
	return func() {
		c.OOMRetries, c.FinalBatch = st.Retries, c.BatchSize
		if st.Rows > 0 {
			c.FinalBatch = st.Rows
		}
		if err := r.recordBatch(key, c); err != nil {
			progress.Logf("%s: recording the batch choice: %v", key, err)
		}
	}
}

// sizeGenerate is GenerateBatch for round n's generate stage, recorded before the stage runs: a
// stage redone on resume takes the batch it was started with, as a batch's images depend on its
// size (batchSeed is per batch), and the redo must make the images already in the manifest again.
func (r *Runner) sizeGenerate(n int, m generate.Models) (generate.Config, *plan.BatchChoice, error) {
	key := fmt.Sprintf("r%d/generate", n)
	if c, ok := r.chosenBefore(key, r.Job.Generate.BatchSize); ok {
		cfg := r.Job.Generate
		cfg.BatchSize = c.BatchSize
		return cfg, &c, nil
	}
	cfg, c, err := GenerateBatch(r.E, r.Job, m)
	if err != nil {
		return cfg, nil, err
	}
	if err := r.recordBatch(key, c); err != nil {
		return cfg, nil, err
	}
	return cfg, &c, nil
}

// chosenBefore is the budget's choice recorded for stage key by an earlier, interrupted attempt
// (never when the job gives the batch: explicit is its batch_size).
func (r *Runner) chosenBefore(key string, explicit int) (plan.BatchChoice, bool) {
	if explicit > 0 {
		return plan.BatchChoice{}, false
	}
	all, err := r.readBatches()
	if err != nil {
		return plan.BatchChoice{}, false
	}
	c, ok := all[key]
	if !ok || c.From != plan.BatchFromBudget || c.BatchSize < 1 {
		return plan.BatchChoice{}, false
	}
	c.OOMRetries, c.FinalBatch = 0, 0
	progress.Logf("batch size: %s, as chosen when the stage first ran", c)
	return c, true
}

// recordGenerate puts res's out-of-memory count on its batch choice and records it.
func (r *Runner) recordGenerate(n int, c *plan.BatchChoice, res *generate.Result) error {
	if c == nil || res == nil {
		return nil
	}
	c.OOMRetries, c.FinalBatch = res.OOMRetries, res.EngineBatch
	res.Budget = c
	return r.recordBatch(fmt.Sprintf("r%d/generate", n), *c)
}

// recordBatch writes one stage's choice into batches.json (the run folder; TrainModels keeps none).
func (r *Runner) recordBatch(key string, c plan.BatchChoice) error {
	if r.flatModels || r.Dir == "" {
		return nil
	}
	all, err := r.readBatches()
	if err != nil {
		return err
	}
	all[key] = c
	return jsonfile.WriteJSON(r.path(batchesFile), all)
}

// readBatches reads batches.json (empty when there is none yet).
func (r *Runner) readBatches() (map[string]plan.BatchChoice, error) {
	all := map[string]plan.BatchChoice{}
	if err := jsonfile.ReadJSON(r.path(batchesFile), &all); err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	return all, nil
}

// StageBatch is one entry of report.json's "batches": a stage key and its batch choice.
type StageBatch struct {
	Key string `json:"key"`
	plan.BatchChoice
}

// reportBatches lists batches.json in stage order (set-up, then rounds in order).
func (r *Runner) reportBatches() []StageBatch {
	all, err := r.readBatches()
	if err != nil {
		return nil
	}
	out := make([]StageBatch, 0, len(all))
	for k, c := range all {
		out = append(out, StageBatch{Key: k, BatchChoice: c})
	}
	order := func(k string) (int, int, string) {
		if strings.HasPrefix(k, "setup/") {
			return 0, 0, k
		}
		var n int
		fmt.Sscanf(k, "r%d/", &n)
		return 1, n, k
	}
	sort.Slice(out, func(a, b int) bool {
		x0, x1, x2 := order(out[a].Key)
		y0, y1, y2 := order(out[b].Key)
		if x0 != y0 {
			return x0 < y0
		}
		if x1 != y1 {
			return x1 < y1
		}
		return x2 < y2
	})
	return out
}

// batchesText is the batch choices as lines for report.md (prefix "- ") and the printed summary.
func batchesText(bs []StageBatch, prefix string) string {
	if len(bs) == 0 {
		return ""
	}
	var b strings.Builder
	for _, s := range bs {
		fmt.Fprintf(&b, "%s%s %s\n", prefix, s.Key, s.BatchChoice)
	}
	return b.String()
}

// printBatches is the printed summary's batch lines.
func printBatches(w io.Writer, bs []StageBatch) error {
	if len(bs) == 0 {
		return nil
	}
	_, err := fmt.Fprintf(w, "Batch sizes (batches.json):\n%s", batchesText(bs, "  "))
	return err
}
