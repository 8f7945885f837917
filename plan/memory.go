package plan

import (
	"errors"
	"fmt"
	"math"
)

// Memory is where the free memory that batches are sized from is read. Package hostres implements
// it (NVML for a GPU, the cgroup and /proc/meminfo for the host); plan only does the arithmetic, so
// that it stays pure Go.
type Memory interface {
	// GPUMemory reads GPU index: its name, free and total bytes. A non-empty reason means there is
	// no GPU figure (no NVML, no such GPU) and says why: the CPU path is taken.
	GPUMemory(index int) (name string, free, total uint64, reason string)
	// HostMemory reads the host's free and total bytes and where they came from ("cgroup",
	// "meminfo").
	HostMemory() (free, total uint64, source string, err error)
}

// MemoryConfig is the [plan.memory] table.
type MemoryConfig struct {
	Device   int     `toml:"device" json:"device"`       // GPU index
	Fraction float64 `toml:"fraction" json:"fraction"`   // share of free memory we may use; default 0.8
	MaxBatch int     `toml:"max_batch" json:"max_batch"` // default 1024
	// CPUMaxBatch caps a budget-chosen sample/score batch on the host path (no GPU): there the
	// host's gigabytes would pick max_batch, while the score stage runs 4-5x slower per image at
	// 1024 than at 256 (its activations leave the caches; docs/performance.md, "Batch size on the
	// CPU"). Default (and 0) 128, the batch the CPU path was tuned at.
	CPUMaxBatch int `toml:"cpu_max_batch" json:"cpu_max_batch,omitempty"`
}

// DefaultCPUMaxBatch is MemoryConfig.CPUMaxBatch's default.
const DefaultCPUMaxBatch = 128

// CPUMax is CPUMaxBatch with 0 read as the default.
func (c MemoryConfig) CPUMax() int {
	if c.CPUMaxBatch > 0 {
		return c.CPUMaxBatch
	}
	return DefaultCPUMaxBatch
}

// DefaultMemoryConfig leaves a fifth of free memory to the allocator's fragmentation and to others.
func DefaultMemoryConfig() MemoryConfig {
	return MemoryConfig{Fraction: 0.8, MaxBatch: 1024, CPUMaxBatch: DefaultCPUMaxBatch}
}

// Validate names a bad field.
func (c MemoryConfig) Validate() error {
	switch {
	case c.Device < 0:
		return fmt.Errorf("plan.memory.device: %d, want >= 0", c.Device)
	case !(c.Fraction > 0 && c.Fraction <= 1):
		return fmt.Errorf("plan.memory.fraction: %v, want in (0, 1]", c.Fraction)
	case c.MaxBatch < 1:
		return fmt.Errorf("plan.memory.max_batch: %d, want >= 1", c.MaxBatch)
	case c.CPUMaxBatch < 0:
		return fmt.Errorf("plan.memory.cpu_max_batch: %d, want >= 1 (0 or left out: %d)", c.CPUMaxBatch, DefaultCPUMaxBatch)
	}
	return nil
}

// BatchSize is floor((free*fraction - modelBytes) / perSample) clamped to [1, maxBatch]: at least
// one sample is always tried (RetryOOM reports if even that fails).
func BatchSize(free uint64, fraction float64, modelBytes, perSample uint64, maxBatch int) int {
	maxBatch = max(maxBatch, 1)
	if perSample == 0 {
		return maxBatch
	}
	room := float64(free)*fraction - float64(modelBytes)
	if room < float64(perSample) {
		return 1
	}
	return int(math.Min(math.Floor(room/float64(perSample)), float64(maxBatch)))
}

// PerSampleBytes is the cost of one sample measured with a probe batch: the growth of used memory
// over the probe, divided by its size, rounded up.
func PerSampleBytes(probeBatch int, usedBefore, usedAfter uint64) (uint64, error) {
	if probeBatch < 1 {
		return 0, fmt.Errorf("probe batch %d, want >= 1", probeBatch)
	}
	if usedAfter < usedBefore {
		return 0, fmt.Errorf("probe: used memory fell from %d to %d bytes; measure again", usedBefore, usedAfter)
	}
	b := uint64(probeBatch)
	return (usedAfter - usedBefore + b - 1) / b, nil
}

// MemoryBudget is the outcome of sizing a batch: where the memory figure came from and the batch.
type MemoryBudget struct {
	Source     string `json:"source"` // "gpu", "cgroup" or "meminfo"
	Device     string `json:"device"` // GPU name, or "host"
	FreeBytes  uint64 `json:"free_bytes"`
	TotalBytes uint64 `json:"total_bytes"`
	BatchSize  int    `json:"batch_size"`
	// CPUReason says why the CPU path was taken (no NVML library, no GPU, bad index).
	CPUReason string `json:"cpu_reason,omitempty"`
}

// PlanBatch sizes a batch from the chosen GPU's free memory, or, when there is no GPU figure (no
// NVML, no such GPU), from the host's memory (cgroup limit, then MemAvailable). Only a failure to
// read host memory as well is an error.
func PlanBatch(mem Memory, cfg MemoryConfig, modelBytes, perSample uint64) (MemoryBudget, error) {
	if err := cfg.Validate(); err != nil {
		return MemoryBudget{}, err
	}
	gpu, reason := gpuMemory(mem, cfg.Device)
	if reason == "" {
		gpu.BatchSize = BatchSize(gpu.FreeBytes, cfg.Fraction, modelBytes, perSample, cfg.MaxBatch)
		return gpu, nil
	}
	free, total, source, err := mem.HostMemory()
	if err != nil {
		return MemoryBudget{}, fmt.Errorf("no GPU (%s) and host memory unreadable: %w", reason, err)
	}
	return MemoryBudget{Source: source, Device: "host", FreeBytes: free, TotalBytes: total, CPUReason: reason,
		BatchSize: BatchSize(free, cfg.Fraction, modelBytes, perSample, cfg.MaxBatch)}, nil
}

// gpuMemory reads one device; a non-empty reason means "use the CPU path".
func gpuMemory(mem Memory, index int) (MemoryBudget, string) {
	name, free, total, reason := mem.GPUMemory(index)
	if reason != "" {
		return MemoryBudget{}, reason
	}
	return MemoryBudget{Source: "gpu", Device: fmt.Sprintf("%d: %s", index, name), FreeBytes: free, TotalBytes: total}, ""
}

// String is a one-line description for logs.
func (b MemoryBudget) String() string {
	s := fmt.Sprintf("%s (%s): %s free of %s, batch %d", b.Device, b.Source, gib(b.FreeBytes), gib(b.TotalBytes), b.BatchSize)
	if b.CPUReason != "" {
		s += "; CPU path: " + b.CPUReason
	}
	return s
}

func gib(b uint64) string { return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30)) }

// ErrOOMAtOne is returned by RetryOOM when even a batch of one runs out of memory.
var ErrOOMAtOne = errors.New("out of memory at batch size 1")
