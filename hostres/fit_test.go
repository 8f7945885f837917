package hostres

import (
	"strings"
	"testing"

	"github.com/gam-native/gam-native/plan"
)

// fit is a FitRequest, its fields in order.
func fit(key string, batch int, shape [3]int, maps int, gpu bool) plan.FitRequest {
	return plan.FitRequest{Key: key, Batch: batch, ImageShape: shape, Maps: maps, GPU: gpu}
}

// TestCheckFits: an explicit batch is refused when its estimate exceeds the free memory of where it
// runs, with the key, the bytes it needs and the largest batch that fits (issue 27, item 3).
func TestCheckFits(t *testing.T) {
	host := fakeHost(t, "", "", 8<<20) // 8 GiB available
	mnist := [3]int{1, 28, 28}         // 784 px: 602,112 bytes per training sample (192 maps)
	cfg := plan.DefaultMemoryConfig()
	tests := []struct {
		desc string
		lib  NVML
		host Host
		req  plan.FitRequest
		want []string // empty: fits
	}{
		{"the default training batch fits", nil, host, fit("target_training.batch_size", 128, mnist, plan.TrainMapsPerSample, false), nil},
		{"a large batch that fits 8 GiB", nil, host, fit("target_training.batch_size", 8192, mnist, plan.TrainMapsPerSample, false), nil},
		{"1,500,000 on the host", nil, host, fit("target_training.batch_size", 1_500_000, mnist, plan.TrainMapsPerSample, false),
			[]string{"target_training.batch_size = 1500000", "needs about 841.1 GiB = 903168000000 bytes", "588.0 KiB per sample", "[1 28 28]", "8.0 GiB free on the host (meminfo)", "want at most 14266"}},
		{"100,000,000 on the host", nil, host, fit("generator_training.batch_size", 100_000_000, mnist, plan.TrainMapsPerSample, false),
			[]string{"generator_training.batch_size = 100000000", "needs about 54.8 TiB", "want at most 14266"}},
		{"a batch whose bytes overflow 64 bits", nil, host, fit("generate.batch_size", 1<<62, mnist, plan.InferMapsPerSample, false),
			[]string{"generate.batch_size = 4611686018427387904", "needs about 9.26e+23 bytes"}},
		{"within 8 GiB of host, above a GPU's 1 GiB free", h100(gib64), host, fit("target_training.batch_size", 4096, mnist, plan.TrainMapsPerSample, true),
			[]string{"target_training.batch_size = 4096", "free on GPU 0: NVIDIA H100", "want at most 1783"}},
		{"fits the GPU, its images not the host", h100(80 * gib64), fakeHost(t, "", "", 1<<10), fit("generate.batch_size", 1000, mnist, plan.InferMapsPerSample, true),
			[]string{"generate.batch_size = 1000", "per sample for its images on the host", "want at most 167"}},
		{"no memory figure refuses nothing", noNVML{}, Host{Root: t.TempDir()}, fit("target_training.batch_size", 100_000_000, mnist, plan.TrainMapsPerSample, false), nil},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			err := plan.CheckFits(Memory{NVML: tc.lib, Host: tc.host}, cfg, tc.req)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}
