package generate

import (
	"strconv"
	"strings"

	"github.com/gam-native/gam-native/bindings"
	"github.com/gam-native/gam-native/hostres"
	"github.com/gam-native/gam-native/plan"
)

// probeRows is the probe batch whose allocator peak gives a GPU's bytes per sample.
const probeRows = 64

// SizeBatch chooses a run's batch: cfg.BatchSize when the job gives one, else the memory budget
// (plan.ChooseBatch) for the generator's image shape. On a CUDA engine the budget is NVML's free
// memory of the engine's GPU times mem.Fraction, with the bytes per sample measured as the CUDA
// allocator's peak over a probe batch of sample, screen forward and confidence; on the CPU it is
// the host's memory (cgroup limit, else MemAvailable) with the bytes per sample estimated from the
// image shape (plan.EstimatePerSample), capped by mem.CPUMax(). src reads the memory
// (hostres.System()); its NVML is not read when the engine is on the CPU.
func SizeBatch(e *bindings.Engine, m Models, cfg Config, mem plan.MemoryConfig, src hostres.Memory) (plan.BatchChoice, error) {
	req := plan.BatchRequest{Stage: "generate", Explicit: cfg.BatchSize, ImageShape: m.Generator.Meta.ImageShape, Maps: plan.InferMapsPerSample}
	info, err := e.Info()
	if err != nil {
		return plan.BatchChoice{}, err
	}
	if dev, ok := cudaIndex(info.Device); ok {
		mem.Device = dev
		if cfg.BatchSize == 0 {
			if ps, err := probeGPU(e, m, probeRows); err == nil {
				req.PerSample = ps
			}
		}
	} else {
		src.NVML = nil // the engine is on the CPU: its memory is the host's
	}
	return plan.ChooseBatch(src, mem, req)
}

// cudaIndex parses "cuda" or "cuda:N".
func cudaIndex(device string) (int, bool) {
	if !strings.HasPrefix(device, "cuda") {
		return 0, false
	}
	_, n, ok := strings.Cut(device, ":")
	if !ok {
		return 0, true
	}
	i, err := strconv.Atoi(n)
	return i, err == nil
}

// probeGPU is the CUDA allocator's peak growth per row over sample, screen forward and confidence
// of a probe batch (0 rows' worth of growth reads as an error: nothing was measured).
func probeGPU(e *bindings.Engine, m Models, n int) (uint64, error) {
	g := m.Generator
	if _, _, err := e.Memory(true); err != nil {
		return 0, err
	}
	a0, _, err := e.Memory(false)
	if err != nil {
		return 0, err
	}
	z, err := e.Randn(1, 1, int64(n), int64(g.Meta.LatentDim))
	if err != nil {
		return 0, err
	}
	defer z.Close()
	y, err := e.FromI64(make([]int64, n), int64(n))
	if err != nil {
		return 0, err
	}
	defer y.Close()
	x, err := g.Sample(z, y, nil)
	if err != nil {
		return 0, err
	}
	defer x.Close()
	lg, err := m.Screen.Forward(x)
	if err != nil {
		return 0, err
	}
	lg.Close()
	c, err := g.Confidence(x, y, nil)
	if err != nil {
		return 0, err
	}
	c.Close()
	_, peak, err := e.Memory(false)
	if err != nil {
		return 0, err
	}
	return plan.PerSampleBytes(n, uint64(max(a0, 0)), uint64(max(peak, a0)))
}
