package plan

import "fmt"

// Bytes per sample the budget assumes when nothing was measured (the CPU path, or a GPU probe that
// could not run): the image's float32 bytes times a count of feature maps of the image's size alive
// at once. Inference (sample, the screen's forward, confidence) keeps about 64; a training step
// keeps every layer's activations and their gradients for the backward pass, about 192. Only a
// GPU probe (the allocator's peak over a probe batch) measures the models themselves.
const (
	InferMapsPerSample = 64
	TrainMapsPerSample = 192
)

// EstimatePerSample is the bytes one sample of image shape [C, H, W] is assumed to cost with maps
// feature maps of its size (InferMapsPerSample, TrainMapsPerSample).
func EstimatePerSample(shape [3]int, maps int) uint64 {
	px := uint64(max(shape[0], 1)) * uint64(max(shape[1], 1)) * uint64(max(shape[2], 1))
	return px * 4 * uint64(max(maps, 1))
}

// Where a BatchChoice's batch came from.
const (
	BatchFromJob    = "job"    // the job's explicit batch_size
	BatchFromBudget = "budget" // the memory budget
	// BatchFromDefault: the stage's default, because no memory could be read (Bound says why)
	BatchFromDefault = "default"
)

// BatchChoice is one stage's batch size and the memory it was sized with, for report.json and the
// printed summary.
type BatchChoice struct {
	Stage     string `json:"stage"` // "generate", "generator_training", "screen_training", "target_training"
	BatchSize int    `json:"batch_size"`
	From      string `json:"from"` // BatchFromJob, BatchFromBudget or BatchFromDefault
	// Bound names what bounded a budget-chosen batch: "memory", "plan.memory.max_batch",
	// "plan.memory.cpu_max_batch" or "training default" (a training batch is never grown past the
	// size its learning rate was set for, only lowered to fit).
	Bound      string `json:"bound,omitempty"`
	ImageShape [3]int `json:"image_shape"`
	// PerSampleBytes is what one sample was taken to cost: measured on a probe batch
	// (PerSampleFrom "probe", the GPU allocator's peak) or estimated from the image shape
	// ("estimate", EstimatePerSample).
	PerSampleBytes uint64 `json:"per_sample_bytes"`
	PerSampleFrom  string `json:"per_sample_from"`
	ModelBytes     uint64 `json:"model_bytes,omitempty"`
	// EstimateBytes is the memory the batch is expected to use: BatchSize x PerSampleBytes + ModelBytes.
	EstimateBytes uint64 `json:"estimate_bytes"`
	// Budget is the memory read (GPU or host) a budget-chosen batch was sized from.
	Budget *MemoryBudget `json:"budget,omitempty"`
	// OOMRetries counts the batches (generation) or steps (training) made again after an engine
	// out-of-memory, each at half the rows of the one that failed (filled in by the stage), and
	// FinalBatch is the rows per engine call it ended at (BatchSize when none).
	OOMRetries int `json:"oom_retries,omitempty"`
	FinalBatch int `json:"final_batch,omitempty"`
}

// BatchRequest is what ChooseBatch sizes: a stage's explicit batch (0: the budget chooses), its
// image shape and per-sample cost (0: estimated with Maps feature maps), and for a training stage
// the batch it may not grow past (0: no such cap).
type BatchRequest struct {
	Stage      string
	Explicit   int
	ImageShape [3]int
	PerSample  uint64 // measured bytes per sample; 0: EstimatePerSample(ImageShape, Maps)
	Maps       int
	ModelBytes uint64
	Ceiling    int
}

// ChooseBatch sizes one stage's batch: the job's explicit size when it has one, else
// PlanBatch's (GPU free memory x fraction, or the host's memory), capped on the host path by
// cfg.CPUMax() and for training by the request's Ceiling.
func ChooseBatch(mem Memory, cfg MemoryConfig, req BatchRequest) (BatchChoice, error) {
	c := BatchChoice{Stage: req.Stage, ImageShape: req.ImageShape, PerSampleBytes: req.PerSample, PerSampleFrom: "probe", ModelBytes: req.ModelBytes}
	if c.PerSampleBytes == 0 {
		c.PerSampleBytes, c.PerSampleFrom = EstimatePerSample(req.ImageShape, cmpOr(req.Maps, InferMapsPerSample)), "estimate"
	}
	if req.Explicit > 0 {
		c.BatchSize, c.From = req.Explicit, BatchFromJob
		c.EstimateBytes = uint64(c.BatchSize)*c.PerSampleBytes + c.ModelBytes
		return c, nil
	}
	b, err := PlanBatch(mem, cfg, req.ModelBytes, c.PerSampleBytes)
	if err != nil {
		return c, fmt.Errorf("%s: batch size from the memory budget: %w", req.Stage, err)
	}
	c.From, c.Budget = BatchFromBudget, &b
	c.BatchSize, c.Bound = b.BatchSize, "memory"
	if c.BatchSize >= cfg.MaxBatch {
		c.Bound = "plan.memory.max_batch"
	}
	if b.Source != "gpu" && c.BatchSize > cfg.CPUMax() {
		c.BatchSize, c.Bound = cfg.CPUMax(), "plan.memory.cpu_max_batch"
	}
	if req.Ceiling > 0 && c.BatchSize > req.Ceiling {
		c.BatchSize, c.Bound = req.Ceiling, "training default"
	}
	b.BatchSize = c.BatchSize
	c.EstimateBytes = uint64(c.BatchSize)*c.PerSampleBytes + c.ModelBytes
	return c, nil
}

func cmpOr(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

// String is the choice in one line for logs and the printed summary.
func (c BatchChoice) String() string {
	s := fmt.Sprintf("%s: batch %d", c.Stage, c.BatchSize)
	switch c.From {
	case BatchFromJob:
		s += " (the job's batch_size)"
	case BatchFromDefault:
		s += " (the default; " + c.Bound + ")"
	default:
		s += fmt.Sprintf(" (memory budget, bound by %s", c.Bound)
		if c.Budget != nil {
			s += fmt.Sprintf("; %s (%s) %s free of %s", c.Budget.Device, c.Budget.Source, gib(c.Budget.FreeBytes), gib(c.Budget.TotalBytes))
		}
		s += ")"
	}
	if c.PerSampleBytes > 0 {
		s += fmt.Sprintf(", ~%s per sample (%s), ~%s in all", mib(c.PerSampleBytes), c.PerSampleFrom, mib(c.EstimateBytes))
	}
	if c.OOMRetries > 0 {
		s += fmt.Sprintf("; out of memory: %d made again, ended at %d rows per engine call", c.OOMRetries, c.FinalBatch)
	}
	return s
}

func mib(b uint64) string {
	if b >= 1<<30 {
		return gib(b)
	}
	return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
}
