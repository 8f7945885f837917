package plan

import (
	"fmt"
	"strings"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

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
func ReportDevices(lib NVML, host HostMemory) DeviceReport {
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
