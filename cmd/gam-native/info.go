package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/gam-native/gam-native/bindings"
	"github.com/gam-native/gam-native/hostres"
)

func init() {
	commands = append(commands, &cli.Command{
		Name:  "info",
		Usage: "show the engine, LibTorch version, devices, GPU memory (NVML), threads and the model zoo",
		Description: "Loads the engine library and reports what it sees. Without a GPU it says why there is none\n" +
			"instead of failing. Example:\n   gam-native info\n   gam-native info --json",
		Flags:  []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print JSON"}},
		Action: runInfo,
	})
}

type zooEntry struct {
	File string        `json:"file"`
	Meta bindings.Meta `json:"meta"`
	Err  string        `json:"error,omitempty"`
}

func runInfo(c *cli.Context) error {
	out := map[string]any{}
	var engErr string
	e, err := openEngine(c)
	if err != nil {
		engErr = err.Error()
	} else {
		defer e.Close()
		info, err := e.Info()
		if err != nil {
			return err
		}
		out["engine"] = info
	}
	dev := hostres.ReportDevices(hostres.SystemNVML(), hostres.Host{})
	out["devices"] = dev
	out["cpu_quota"] = hostres.CPUQuota()
	zoo := bindings.FindZoo()
	var entries []zooEntry
	if zoo != "" && e != nil {
		names := make([]string, 0, len(bindings.ZooModels))
		for n := range bindings.ZooModels {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			ent := zooEntry{File: filepath.Join(zoo, n)}
			if m, err := e.LoadModel(ent.File, bindings.ZooModels[n]); err != nil {
				ent.Err = err.Error()
			} else {
				ent.Meta = m.Meta
				m.Close()
			}
			entries = append(entries, ent)
		}
	}
	out["zoo"] = entries
	if c.Bool("json") {
		if engErr != "" {
			out["engine_error"] = engErr
		}
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	if engErr != "" {
		fmt.Printf("engine:      not loaded: %s\n", engErr)
	} else {
		i := out["engine"].(bindings.Info)
		fmt.Printf("engine:      %s (ABI %d)\n", i.Library, bindings.ABIVersion)
		fmt.Printf("libtorch:    %s (custom CUDA kernels built: %v)\n", i.TorchVersion, i.CUDABuilt)
		fmt.Printf("device:      %s (%s); CUDA available: %v, devices: %d\n", i.Device, i.DeviceName, i.CUDAAvailable, i.CUDADevices)
		fmt.Printf("threads:     %d (cgroup CPU quota %d)\n", i.Threads, hostres.CPUQuota())
		if i.BLASCore != "" {
			fmt.Printf("blas:        OpenBLAS, %s kernels (OPENBLAS_CORETYPE=%s)\n", i.BLASCore, os.Getenv("OPENBLAS_CORETYPE"))
		}
	}
	if len(dev.GPUs) == 0 {
		fmt.Printf("gpus:        none (%s)\n", dev.NoGPUReason)
	}
	for _, g := range dev.GPUs {
		fmt.Printf("gpu %d:       %s, %.1f GiB free of %.1f GiB (driver %s)\n", g.Index, g.Name, gib(g.FreeBytes), gib(g.TotalBytes), dev.Driver)
	}
	fmt.Printf("host memory: %.1f GiB free of %.1f GiB (%s)\n", gib(dev.HostFree), gib(dev.HostTotal), dev.HostSource)
	if zoo == "" {
		fmt.Println("zoo:         not found (run make, or set GAM_ZOO)")
	} else {
		fmt.Printf("zoo:         %s\n", zoo)
		for _, z := range entries {
			if z.Err != "" {
				fmt.Printf("  %-10s  error: %s\n", filepath.Base(z.File), z.Err)
				continue
			}
			m := z.Meta
			fmt.Printf("  %-10s  %s %s classes=%d image=%s latent=%d attrs=%s trainable=%v\n", filepath.Base(z.File), m.Contract, m.Kind, m.NumClasses, shapeText(m.ImageShape), m.LatentDim, attrsText(m.AttrNames), m.Trainable)
		}
	}
	return nil
}

func gib(b uint64) float64 { return float64(b) / (1 << 30) }

// shapeText is an image shape as people write it: "1x28x28".
func shapeText(s [3]int) string {
	parts := make([]string, len(s))
	for i, v := range s {
		parts[i] = strconv.Itoa(v)
	}
	return strings.Join(parts, "x")
}

// attrsText is "blur,shadow", or "none".
func attrsText(a []string) string {
	if len(a) == 0 {
		return "none"
	}
	return strings.Join(a, ",")
}
