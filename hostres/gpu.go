package hostres

import (
	"fmt"
	"strings"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// NVML is the part of go-nvml's nvml.Interface that gam-native uses. nvml.New() satisfies it, and
// so do go-nvml's mock servers (mock/dgxh100), which is how it is tested without a GPU.
type NVML interface {
	Init() nvml.Return
	Shutdown() nvml.Return
	DeviceGetCount() (int, nvml.Return)
	DeviceGetHandleByIndex(int) (nvml.Device, nvml.Return)
}

// SystemNVML returns the real library, loaded on Init (dlopen of libnvidia-ml.so.1): building and
// running without a GPU driver is fine, Init just fails and callers take the CPU path.
func SystemNVML() NVML { return nvml.New() }

// Memory reads free memory for plan's batch sizing (it implements plan.Memory): a GPU's through
// NVML (nil: none, the CPU path) and the host's.
type Memory struct {
	NVML NVML
	Host Host
}

// System is this machine's memory: the system NVML and the host's /.
func System() Memory { return Memory{NVML: SystemNVML()} }

// GPUMemory reads GPU index; a non-empty reason means "use the CPU path" and says why.
func (m Memory) GPUMemory(index int) (name string, free, total uint64, reason string) {
	lib := m.NVML
	if lib == nil {
		return "", 0, 0, "NVML not available"
	}
	if ret := lib.Init(); ret != nvml.SUCCESS {
		return "", 0, 0, "NVML init: " + nvmlError(ret)
	}
	defer lib.Shutdown()
	n, ret := lib.DeviceGetCount()
	if ret != nvml.SUCCESS {
		return "", 0, 0, "NVML device count: " + nvmlError(ret)
	}
	if index >= n {
		return "", 0, 0, fmt.Sprintf("GPU %d requested, %d present", index, n)
	}
	info, err := deviceInfo(lib, index)
	if err != nil {
		return "", 0, 0, err.Error()
	}
	return info.Name, info.FreeBytes, info.TotalBytes, ""
}

// HostMemory is Host.Read.
func (m Memory) HostMemory() (free, total uint64, source string, err error) { return m.Host.Read() }

// GPUInfo describes one GPU.
type GPUInfo struct {
	Index      int    `json:"index"`
	Name       string `json:"name"`
	FreeBytes  uint64 `json:"free_bytes"`
	TotalBytes uint64 `json:"total_bytes"`
}

// DeviceReport is what `gam-native info` shows: the GPUs, or why there are none, and the host's
// memory budget for the CPU path.
type DeviceReport struct {
	Driver      string    `json:"driver,omitempty"`
	GPUs        []GPUInfo `json:"gpus"`
	NoGPUReason string    `json:"no_gpu_reason,omitempty"`
	HostFree    uint64    `json:"host_free_bytes"`
	HostTotal   uint64    `json:"host_total_bytes"`
	HostSource  string    `json:"host_source"`
	HostError   string    `json:"host_error,omitempty"`
}

// ReportDevices lists GPUs through lib (nil: no NVML) and reads host memory. It never fails: what
// cannot be read is explained in the report.
func ReportDevices(lib NVML, host Host) DeviceReport {
	var r DeviceReport
	r.HostFree, r.HostTotal, r.HostSource, _ = host.Read()
	if _, _, _, err := host.Read(); err != nil {
		r.HostError = err.Error()
	}
	r.GPUs, r.Driver, r.NoGPUReason = listGPUs(lib)
	return r
}

func listGPUs(lib NVML) ([]GPUInfo, string, string) {
	if lib == nil {
		return nil, "", "NVML not available"
	}
	if ret := lib.Init(); ret != nvml.SUCCESS {
		return nil, "", "NVML init: " + nvmlError(ret)
	}
	defer lib.Shutdown()
	driver := ""
	if s, ok := lib.(interface{ SystemGetDriverVersion() (string, nvml.Return) }); ok {
		if v, ret := s.SystemGetDriverVersion(); ret == nvml.SUCCESS {
			driver = v
		}
	}
	n, ret := lib.DeviceGetCount()
	if ret != nvml.SUCCESS {
		return nil, driver, "NVML device count: " + nvmlError(ret)
	}
	if n == 0 {
		return nil, driver, "NVML reports no GPU"
	}
	var gpus []GPUInfo
	var errs []string
	for i := range n {
		g, err := deviceInfo(lib, i)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		gpus = append(gpus, g)
	}
	reason := ""
	if len(gpus) == 0 {
		reason = strings.Join(errs, "; ")
	}
	return gpus, driver, reason
}

// String renders the report for a terminal.
func (r DeviceReport) String() string {
	var b strings.Builder
	if len(r.GPUs) == 0 {
		fmt.Fprintf(&b, "GPUs: none (%s)\n", r.NoGPUReason)
	} else {
		fmt.Fprintf(&b, "GPUs: %d (driver %s)\n", len(r.GPUs), r.Driver)
		for _, g := range r.GPUs {
			fmt.Fprintf(&b, "  %d: %s, %s free of %s\n", g.Index, g.Name, gib(g.FreeBytes), gib(g.TotalBytes))
		}
	}
	if r.HostError != "" {
		fmt.Fprintf(&b, "host memory: unreadable (%s)\n", r.HostError)
	} else {
		fmt.Fprintf(&b, "host memory (%s): %s free of %s\n", r.HostSource, gib(r.HostFree), gib(r.HostTotal))
	}
	return b.String()
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

func gib(b uint64) string { return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30)) }
