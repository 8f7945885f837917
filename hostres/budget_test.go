package hostres

import (
	"strings"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxh100"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/server"

	"github.com/gam-native/gam-native/plan"
)

// card is go-nvml's mock DGX H100 with every GPU made a card of total bytes, all free.
func card(total uint64) *server.Server {
	s := dgxh100.New()
	for _, d := range s.Devices {
		dev := d.(*server.Device)
		dev.MemoryInfo.Total, dev.MemoryInfo.Free, dev.MemoryInfo.Used = total, total, 0
	}
	return s
}

func TestChooseBatchOnCardsAndHost(t *testing.T) {
	rgb128 := [3]int{3, 128, 128} // 3*128*128 px * 4 B * 64 maps = 12 MiB a sample
	mnist := [3]int{1, 28, 28}
	def := plan.DefaultMemoryConfig()
	with := func(f func(*plan.MemoryConfig)) plan.MemoryConfig { c := def; f(&c); return c }
	host := fakeHost(t, "4294967296", "1073741824", 8<<20) // a 4 GiB cgroup with 1 GiB used
	tests := []struct {
		desc      string
		lib       NVML
		cfg       plan.MemoryConfig
		req       plan.BatchRequest
		want      int
		from      string
		bound     string
		source    string
		perSample uint64
	}{
		// 8 GiB * 0.8 / 12 MiB = 546
		{"8 GiB card", card(8 * gib64), def, plan.BatchRequest{Stage: "generate", ImageShape: rgb128}, 546, plan.BatchFromBudget, "memory", "gpu", 12 << 20},
		// 80 GiB * 0.8 / 12 MiB = 5461, above max_batch
		{"80 GiB card: max_batch", card(80 * gib64), def, plan.BatchRequest{Stage: "generate", ImageShape: rgb128}, 1024, plan.BatchFromBudget, "plan.memory.max_batch", "gpu", 12 << 20},
		{"80 GiB card, max_batch raised", card(80 * gib64), with(func(c *plan.MemoryConfig) { c.MaxBatch = 8192 }), plan.BatchRequest{Stage: "generate", ImageShape: rgb128}, 5461, plan.BatchFromBudget, "memory", "gpu", 12 << 20},
		{"8 GiB card, fraction 0.4", card(8 * gib64), with(func(c *plan.MemoryConfig) { c.Fraction = 0.4 }), plan.BatchRequest{Stage: "generate", ImageShape: rgb128}, 273, plan.BatchFromBudget, "memory", "gpu", 12 << 20},
		{"8 GiB card, small images: max_batch", card(8 * gib64), def, plan.BatchRequest{Stage: "generate", ImageShape: mnist}, 1024, plan.BatchFromBudget, "plan.memory.max_batch", "gpu", 784 * 4 * 64},
		{"8 GiB card, a measured probe", card(8 * gib64), def, plan.BatchRequest{Stage: "generate", ImageShape: mnist, PerSample: 64 << 20}, 102, plan.BatchFromBudget, "memory", "gpu", 64 << 20},
		{"the job's batch wins", card(8 * gib64), def, plan.BatchRequest{Stage: "generate", Explicit: 64, ImageShape: rgb128}, 64, plan.BatchFromJob, "", "", 12 << 20},
		// host: (4 GiB - 1 GiB) * 0.8 / 12 MiB = 204, above cpu_max_batch
		{"host: cpu_max_batch", noNVML{}, def, plan.BatchRequest{Stage: "generate", ImageShape: rgb128}, 128, plan.BatchFromBudget, "plan.memory.cpu_max_batch", "cgroup", 12 << 20},
		{"host, cpu_max_batch raised", nil, with(func(c *plan.MemoryConfig) { c.CPUMaxBatch = 512 }), plan.BatchRequest{Stage: "generate", ImageShape: rgb128}, 204, plan.BatchFromBudget, "memory", "cgroup", 12 << 20},
		{"host, fraction 0.25", nil, with(func(c *plan.MemoryConfig) { c.CPUMaxBatch = 512; c.Fraction = 0.25 }), plan.BatchRequest{Stage: "generate", ImageShape: rgb128}, 64, plan.BatchFromBudget, "memory", "cgroup", 12 << 20},
		// training: 3*128*128 * 4 * 192 = 36 MiB a sample, never above the training default
		{"training on an 8 GiB card: the default", card(8 * gib64), def, plan.BatchRequest{Stage: "target_training", ImageShape: rgb128, Maps: plan.TrainMapsPerSample, Ceiling: 128}, 128, plan.BatchFromBudget, "training default", "gpu", 36 << 20},
		// 2 GiB * 0.8 / 36 MiB = 45
		{"training on a 2 GiB card: lowered to fit", card(2 * gib64), def, plan.BatchRequest{Stage: "target_training", ImageShape: rgb128, Maps: plan.TrainMapsPerSample, Ceiling: 128}, 45, plan.BatchFromBudget, "memory", "gpu", 36 << 20},
		{"training: the job's batch wins", card(2 * gib64), def, plan.BatchRequest{Stage: "target_training", Explicit: 256, ImageShape: rgb128, Maps: plan.TrainMapsPerSample, Ceiling: 128}, 256, plan.BatchFromJob, "", "", 36 << 20},
	}
	for _, tc := range tests {
		c, err := plan.ChooseBatch(Memory{NVML: tc.lib, Host: host}, tc.cfg, tc.req)
		if err != nil {
			t.Fatalf("%s: %v", tc.desc, err)
		}
		if c.BatchSize != tc.want || c.From != tc.from || c.Bound != tc.bound || c.PerSampleBytes != tc.perSample {
			t.Errorf("%s: batch %d from %q bound %q, %d B a sample; want %d from %q bound %q, %d B", tc.desc, c.BatchSize, c.From, c.Bound,
				c.PerSampleBytes, tc.want, tc.from, tc.bound, tc.perSample)
		}
		if tc.source != "" && (c.Budget == nil || c.Budget.Source != tc.source || c.Budget.BatchSize != c.BatchSize) {
			t.Errorf("%s: budget %+v, want source %q", tc.desc, c.Budget, tc.source)
		}
		if tc.from == plan.BatchFromJob && c.Budget != nil {
			t.Errorf("%s: the job's batch read the budget %+v", tc.desc, c.Budget)
		}
		if c.EstimateBytes != uint64(c.BatchSize)*c.PerSampleBytes {
			t.Errorf("%s: estimate %d B, want batch x per sample", tc.desc, c.EstimateBytes)
		}
		if s := c.String(); !strings.Contains(s, tc.req.Stage) || !strings.Contains(s, "MiB") {
			t.Errorf("%s: %q", tc.desc, s)
		}
	}
}
