package hostres

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxh100"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/server"

	"github.com/gam-native/gam-native/plan"
)

const gib64 = uint64(1) << 30

func h100(free uint64) *server.Server {
	s := dgxh100.New()
	for _, d := range s.Devices {
		dev := d.(*server.Device)
		dev.MemoryInfo.Free = free
		dev.MemoryInfo.Used = dev.MemoryInfo.Total - free
	}
	return s
}

// noNVML behaves like nvml.New() on a machine without the driver.
type noNVML struct{}

func (noNVML) Init() nvml.Return                  { return nvml.ERROR_LIBRARY_NOT_FOUND }
func (noNVML) Shutdown() nvml.Return              { return nvml.ERROR_UNINITIALIZED }
func (noNVML) DeviceGetCount() (int, nvml.Return) { return 0, nvml.ERROR_UNINITIALIZED }
func (noNVML) DeviceGetHandleByIndex(int) (nvml.Device, nvml.Return) {
	return nil, nvml.ERROR_UNINITIALIZED
}

// fakeHost writes a cgroup/meminfo tree.
func fakeHost(t *testing.T, memMax, memCurrent string, availKiB uint64) Host {
	root := t.TempDir()
	must := func(p, s string) {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, p), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if memMax != "" {
		must("sys/fs/cgroup/memory.max", memMax+"\n")
		must("sys/fs/cgroup/memory.current", memCurrent+"\n")
	}
	must("proc/meminfo", fmt.Sprintf("MemTotal:       25000000 kB\nMemFree:  100 kB\nMemAvailable:   %d kB\n", availKiB))
	return Host{Root: root}
}

func TestPlanBatch(t *testing.T) {
	cfg := func(fraction float64, device int) plan.MemoryConfig {
		return plan.MemoryConfig{Device: device, Fraction: fraction, MaxBatch: 4096}
	}
	host := fakeHost(t, "", "", 8<<20) // 8 GiB available, no cgroup limit
	tests := []struct {
		desc       string
		lib        NVML
		host       Host
		cfg        plan.MemoryConfig
		model, per uint64
		wantBatch  int
		wantSource string
	}{
		// (40 GiB * 0.8 - 2 GiB) / 30 MiB = 30 GiB / 30 MiB = 1024
		{"H100 with 40 GiB free", h100(40 * gib64), host, cfg(0.8, 0), 2 * gib64, 30 << 20, 1024, "gpu"},
		{"half the free memory, about half the batch", h100(20 * gib64), host, cfg(0.8, 0), 2 * gib64, 30 << 20, 477, "gpu"},
		{"smaller fraction, smaller batch", h100(40 * gib64), host, cfg(0.4, 0), 2 * gib64, 30 << 20, 477, "gpu"},
		{"clamped to max_batch", h100(80 * gib64), host, cfg(1, 7), 0, 1 << 20, 4096, "gpu"},
		{"models fill the GPU: batch 1, not 0", h100(1 * gib64), host, cfg(0.8, 0), 2 * gib64, 30 << 20, 1, "gpu"},
		{"no NVML library: CPU path on MemAvailable", noNVML{}, host, cfg(0.5, 0), 0, 1 << 20, 4096, "meminfo"},
		// 4 GiB limit, 1 GiB used: (3 GiB * 0.5 - 1 GiB) / 1 MiB = 512
		{"no NVML: CPU path on the cgroup limit", noNVML{}, fakeHost(t, "4294967296", "1073741824", 8<<20), cfg(0.5, 0), gib64, 1 << 20, 512, "cgroup"},
		{"unlimited cgroup falls back to meminfo", nil, fakeHost(t, "max", "0", 2<<20), cfg(0.5, 0), 0, 1 << 20, 1024, "meminfo"},
		{"GPU index beyond the 8 present: CPU path", h100(40 * gib64), host, cfg(0.5, 8), 0, 1 << 20, 4096, "meminfo"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			b, err := plan.PlanBatch(Memory{NVML: tc.lib, Host: tc.host}, tc.cfg, tc.model, tc.per)
			if err != nil {
				t.Fatal(err)
			}
			if b.BatchSize != tc.wantBatch || b.Source != tc.wantSource {
				t.Errorf("batch %d from %s (%s), want %d from %s", b.BatchSize, b.Source, b, tc.wantBatch, tc.wantSource)
			}
			if (tc.wantSource == "gpu") != (b.CPUReason == "") {
				t.Errorf("CPU reason %q for source %s", b.CPUReason, b.Source)
			}
		})
	}
}

func TestSystemNVMLWithoutDriver(t *testing.T) {
	if _, err := os.Stat("/dev/nvidiactl"); err == nil {
		t.Skip("this machine has an NVIDIA driver")
	}
	b, err := plan.PlanBatch(System(), plan.DefaultMemoryConfig(), 0, 1<<20)
	if err != nil {
		t.Fatalf("no GPU must give the CPU path, got %v", err)
	}
	if b.Source == "gpu" || b.CPUReason == "" || b.BatchSize < 1 {
		t.Errorf("budget %+v", b)
	}
}

func TestDeviceReport(t *testing.T) {
	tests := []struct {
		desc   string
		lib    NVML
		gpus   int
		reason string
	}{
		{"DGX H100 mock", h100(70 * gib64), 8, ""},
		{"no NVML library", noNVML{}, 0, "libnvidia-ml.so not found"},
		{"nil library", nil, 0, "NVML not available"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			r := ReportDevices(tc.lib, fakeHost(t, "", "", 1<<20))
			if len(r.GPUs) != tc.gpus || !strings.Contains(r.NoGPUReason, tc.reason) {
				t.Fatalf("report %+v", r)
			}
			if tc.gpus > 0 && (r.GPUs[0].Name != "NVIDIA H100 80GB HBM3" || r.GPUs[0].FreeBytes != 70*gib64 || r.Driver == "") {
				t.Errorf("GPU 0 %+v driver %q", r.GPUs[0], r.Driver)
			}
			if !strings.Contains(r.String(), "host memory (meminfo)") {
				t.Errorf("String() = %q", r.String())
			}
		})
	}
}
