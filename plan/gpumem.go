package plan

import (
	"errors"
	"fmt"
	"math"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// NVML is the part of go-nvml's nvml.Interface that memory budgeting uses. nvml.New() satisfies
// it, and so do go-nvml's mock servers (mock/dgxh100), which is how it is tested without a GPU.
type NVML interface {
	Init() nvml.Return
	Shutdown() nvml.Return
	DeviceGetCount() (int, nvml.Return)
	DeviceGetHandleByIndex(int) (nvml.Device, nvml.Return)
}

// SystemNVML returns the real library, loaded on Init (dlopen of libnvidia-ml.so.1): building and
// running without a GPU driver is fine, Init just fails and callers take the CPU path.
func SystemNVML() NVML { return nvml.New() }

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

// PlanBatch sizes a batch from the chosen GPU's free memory, or, when NVML cannot be loaded or there
// is no such GPU, from the host's memory (cgroup limit, then MemAvailable). lib nil means no NVML.
// Only a failure to read host memory as well is an error.
func PlanBatch(lib NVML, host HostMemory, cfg MemoryConfig, modelBytes, perSample uint64) (MemoryBudget, error) {
	if err := cfg.Validate(); err != nil {
		return MemoryBudget{}, err
	}
	gpu, reason := gpuMemory(lib, cfg.Device)
	if reason == "" {
		gpu.BatchSize = BatchSize(gpu.FreeBytes, cfg.Fraction, modelBytes, perSample, cfg.MaxBatch)
		return gpu, nil
	}
	free, total, source, err := host.Read()
	if err != nil {
		return MemoryBudget{}, fmt.Errorf("no GPU (%s) and host memory unreadable: %w", reason, err)
	}
	return MemoryBudget{Source: source, Device: "host", FreeBytes: free, TotalBytes: total, CPUReason: reason,
		BatchSize: BatchSize(free, cfg.Fraction, modelBytes, perSample, cfg.MaxBatch)}, nil
}

// gpuMemory reads one device; a non-empty reason means "use the CPU path".
func gpuMemory(lib NVML, index int) (MemoryBudget, string) {
	if lib == nil {
		return MemoryBudget{}, "NVML not available"
	}
	if ret := lib.Init(); ret != nvml.SUCCESS {
		return MemoryBudget{}, "NVML init: " + nvmlError(ret)
	}
	defer lib.Shutdown()
	n, ret := lib.DeviceGetCount()
	if ret != nvml.SUCCESS {
		return MemoryBudget{}, "NVML device count: " + nvmlError(ret)
	}
	if index >= n {
		return MemoryBudget{}, fmt.Sprintf("GPU %d requested, %d present", index, n)
	}
	info, err := deviceInfo(lib, index)
	if err != nil {
		return MemoryBudget{}, err.Error()
	}
	return MemoryBudget{Source: "gpu", Device: fmt.Sprintf("%d: %s", index, info.Name), FreeBytes: info.FreeBytes, TotalBytes: info.TotalBytes}, ""
}

func deviceInfo(lib NVML, index int) (GPUInfo, error) {
	dev, ret := lib.DeviceGetHandleByIndex(index)
	if ret != nvml.SUCCESS {
		return GPUInfo{}, fmt.Errorf("GPU %d handle: %s", index, nvmlError(ret))
	}
	g := GPUInfo{Index: index}
	if g.Name, ret = dev.GetName(); ret != nvml.SUCCESS {
		g.Name = "unknown"
	}
	mem, ret := dev.GetMemoryInfo()
	if ret != nvml.SUCCESS {
		return g, fmt.Errorf("GPU %d memory: %s", index, nvmlError(ret))
	}
	g.FreeBytes, g.TotalBytes = mem.Free, mem.Total
	return g, nil
}

// nvmlError never calls into the library (ErrorString needs it loaded).
func nvmlError(ret nvml.Return) string {
	switch ret {
	case nvml.ERROR_LIBRARY_NOT_FOUND:
		return "libnvidia-ml.so not found (no NVIDIA driver)"
	case nvml.ERROR_DRIVER_NOT_LOADED:
		return "NVIDIA driver not loaded"
	case nvml.ERROR_NO_PERMISSION:
		return "no permission"
	case nvml.ERROR_NOT_SUPPORTED:
		return "not supported"
	}
	return fmt.Sprintf("NVML error %d", int32(ret))
}

// ErrOOMAtOne is returned by RetryOOM when even a batch of one runs out of memory.
var ErrOOMAtOne = errors.New("out of memory at batch size 1")
