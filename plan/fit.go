package plan

import (
	"fmt"
	"math"
	"math/bits"
)

// FitRequest is a stage's explicit batch size to check against the memory there is, before a run
// writes anything: Key names the job's key in messages ("target_training.batch_size").
type FitRequest struct {
	Key        string
	Batch      int
	ImageShape [3]int
	Maps       int  // feature maps per sample (InferMapsPerSample, TrainMapsPerSample)
	GPU        bool // the stage runs on a GPU: its maps live in device memory (NVML); else in the host's
}

// hostCopies is how many float32 copies of a batch's images the Go side holds at once while it
// builds and hands over a batch (the batch's slice, the engine's copy of it).
const hostCopies = 2

// CheckFits refuses an explicit batch that cannot fit: its estimated bytes (EstimatePerSample for
// the request's maps) above all the free memory of the device it runs on, or its images alone above
// the host's free memory. It measures against free memory, not the budget's fraction of it, so a
// batch that might fit is never refused; the out-of-memory halving handles the rest at run time. A
// memory figure that cannot be read refuses nothing. The error names the key, the bytes the batch
// would need and the largest batch that the memory holds.
func CheckFits(mem Memory, cfg MemoryConfig, req FitRequest) error {
	if req.Batch <= 0 {
		return nil
	}
	per := EstimatePerSample(req.ImageShape, cmpOr(req.Maps, InferMapsPerSample))
	if req.GPU {
		if gpu, reason := gpuMemory(mem, cfg.Device); reason == "" {
			if err := fits(req, per, "per sample", gpu.FreeBytes, "GPU "+gpu.Device); err != nil {
				return err
			}
		}
		per = EstimatePerSample(req.ImageShape, hostCopies)
	}
	free, _, source, err := mem.HostMemory()
	if err != nil {
		return nil
	}
	what := "per sample"
	if req.GPU {
		what = "per sample for its images on the host"
	}
	return fits(req, per, what, free, "the host ("+source+")")
}

func fits(req FitRequest, per uint64, what string, free uint64, where string) error {
	hi, need := bits.Mul64(uint64(req.Batch), per)
	if hi == 0 && need <= free {
		return nil
	}
	needS := fmt.Sprintf("%s = %d bytes", human(need), need)
	if hi != 0 {
		needS = fmt.Sprintf("%.3g bytes", float64(req.Batch)*float64(per))
	}
	s := req.ImageShape
	return fmt.Errorf("%s = %d: needs about %s (%s %s, estimated for images [%d %d %d]), more than the %s free on %s: want at most %d (or leave the key out: the memory budget chooses)",
		req.Key, req.Batch, needS, human(per), what, s[0], s[1], s[2], human(free), where, max(free/per, 1))
}

// human is b in the largest binary unit that keeps it at or above 1.
func human(b uint64) string {
	units := []string{"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	v, u := float64(b), 0
	for v >= 1024 && u < len(units)-1 {
		v /= 1024
		u++
	}
	if u == 0 {
		return fmt.Sprintf("%d bytes", b)
	}
	return fmt.Sprintf("%.1f %s", math.Round(v*10)/10, units[u])
}
