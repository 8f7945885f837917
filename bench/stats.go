package bench

import (
	"math"
	"slices"
	"time"
)

// Stats summarises repeated measurements of one figure: the median and its spread.
type Stats struct {
	Median float64   `json:"median"`
	Min    float64   `json:"min"`
	Max    float64   `json:"max"`
	Q1     float64   `json:"q1"`
	Q3     float64   `json:"q3"`
	Runs   []float64 `json:"runs"`
}

// Summarize computes the median, quartiles and range of runs (linear interpolation between
// order statistics, as numpy's default).
func Summarize(runs []float64) Stats {
	if len(runs) == 0 {
		return Stats{}
	}
	s := slices.Clone(runs)
	slices.Sort(s)
	return Stats{Median: quantile(s, 0.5), Min: s[0], Max: s[len(s)-1], Q1: quantile(s, 0.25), Q3: quantile(s, 0.75), Runs: runs}
}

func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 1 {
		return sorted[0]
	}
	pos := q * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(sorted)-1)
	f := pos - float64(lo)
	return sorted[lo]*(1-f) + sorted[hi]*f
}

// Spread is the half range relative to the median (0.05 means the runs lie within about ±5%).
func (s Stats) Spread() float64 {
	if s.Median == 0 {
		return 0
	}
	return (s.Max - s.Min) / (2 * s.Median)
}

// rate measures the throughput of op (items per call) in items per second: after warm-up
// calls, each of repeat runs calls op until minTime has passed and divides items by the time.
// sync (nil: none) waits for queued work at the end of the warm-up and of every timed run, so
// that a GPU's asynchronous work is inside the time.
func rate(items int, warmup, repeat int, minTime time.Duration, op, sync func() error) (Stats, error) {
	if sync == nil {
		sync = func() error { return nil }
	}
	for i := 0; i < warmup; i++ {
		if err := op(); err != nil {
			return Stats{}, err
		}
	}
	if err := sync(); err != nil {
		return Stats{}, err
	}
	runs := make([]float64, 0, repeat)
	for r := 0; r < repeat; r++ {
		calls := 0
		t0 := time.Now()
		for calls == 0 || time.Since(t0) < minTime {
			if err := op(); err != nil {
				return Stats{}, err
			}
			calls++
		}
		if err := sync(); err != nil {
			return Stats{}, err
		}
		runs = append(runs, float64(calls*items)/time.Since(t0).Seconds())
	}
	return Summarize(runs), nil
}
