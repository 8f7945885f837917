package bench

import (
	"path/filepath"
	"time"

	"github.com/gam-native/gam-native/bindings"
	"github.com/gam-native/gam-native/hostres"
)

// LeakResult is the load/sample/close soak: resident memory and open handles before and after.
type LeakResult struct {
	Model          string  `json:"model"`
	Cycles         int     `json:"cycles"`
	Warmup         int     `json:"warmup_cycles"`
	RSSBefore      int64   `json:"rss_before_bytes"`
	RSSAfter       int64   `json:"rss_after_bytes"`
	GrowthPerCycle float64 `json:"growth_bytes_per_cycle"`
	HandlesLeft    int64   `json:"handles_left"`
	GPUBefore      int64   `json:"gpu_alloc_before_bytes,omitempty"`
	GPUAfter       int64   `json:"gpu_alloc_after_bytes,omitempty"`
	Seconds        float64 `json:"seconds"`
	OK             bool    `json:"ok"`
}

// leak loads the zoo's cVAE, samples 8 images and closes everything, LeakCycles times after a
// warm-up; a leaked copy of its weights per cycle would be 5 MiB a cycle.
func (s *suite) leak() error {
	zoo := s.o.Zoo
	if zoo == "" {
		zoo = bindings.FindZoo()
	}
	path := filepath.Join(zoo, "cvae.pt")
	warm := min(50, s.o.LeakCycles)
	for i := 0; i < warm; i++ {
		if err := s.e.Cycle(path, 8, uint64(i)); err != nil {
			return err
		}
	}
	lr := &LeakResult{Model: path, Cycles: s.o.LeakCycles, Warmup: warm}
	handles := bindings.LiveHandles()
	lr.RSSBefore = hostres.RSS()
	if s.gpu {
		lr.GPUBefore, _, _ = s.e.Memory(false)
	}
	t0 := time.Now()
	for i := 0; i < s.o.LeakCycles; i++ {
		if err := s.e.Cycle(path, 8, uint64(i)); err != nil {
			return err
		}
		if i > 0 && i%1000 == 0 {
			s.o.Logf("bench: leak: %d/%d cycles, RSS %.1f MiB", i, s.o.LeakCycles, float64(hostres.RSS())/(1<<20))
		}
	}
	lr.Seconds = time.Since(t0).Seconds()
	lr.RSSAfter = hostres.RSS()
	if s.gpu {
		lr.GPUAfter, _, _ = s.e.Memory(false)
	}
	lr.HandlesLeft = bindings.LiveHandles() - handles
	lr.GrowthPerCycle = float64(lr.RSSAfter-lr.RSSBefore) / float64(max(lr.Cycles, 1))
	// Allocator noise is tens of MiB at most; a leak of the weights would be 5 MiB per cycle.
	lr.OK = lr.HandlesLeft == 0 && lr.RSSAfter-lr.RSSBefore < 32<<20 && lr.GPUAfter-lr.GPUBefore < 32<<20
	s.res.Leak = lr
	s.res.add(Figure{Name: "leak", Batch: 8, Unit: "cycles/s", Stats: Summarize([]float64{float64(lr.Cycles) / lr.Seconds}), PeakRSS: hostres.PeakRSS()})
	s.o.Logf("bench: leak: %d cycles in %.1f s, RSS %.1f -> %.1f MiB, %d handles left", lr.Cycles, lr.Seconds,
		float64(lr.RSSBefore)/(1<<20), float64(lr.RSSAfter)/(1<<20), lr.HandlesLeft)
	return nil
}
