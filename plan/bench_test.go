package plan

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// syntheticMetrics: k classes, each with the four condition segments, weaker than the class.
func syntheticMetrics(k int) *Metrics {
	rng := rand.New(rand.NewPCG(1, 2))
	m := &Metrics{}
	for c := range k {
		name := fmt.Sprintf("class%03d", c)
		m.Classes = append(m.Classes, name)
		r := 0.5 + 0.5*rng.Float64()
		m.PerClass = append(m.PerClass, UnitMetrics{ID: name, Class: c, ClassName: name, Support: 1000,
			Recall: r, Precision: r, FPR: 0.01, Concentration: 0.5, TrainCount: 100 + rng.IntN(5000)})
		for _, b := range Buckets[:4] {
			sr := r * rng.Float64()
			m.Segments = append(m.Segments, UnitMetrics{ID: SegmentID(name, b), Class: c, ClassName: name, Segment: b,
				Support: 20 + rng.IntN(200), Recall: sr, Precision: r, FPR: 0.01, Concentration: 0.5})
		}
	}
	Bootstrap{Seed: 1, Resamples: 200}.apply(m)
	m.Summary = summarize(m.PerClass)
	return m
}

func BenchmarkBuildPlan(b *testing.B) {
	for _, k := range []int{10, 100, 1000} {
		m := syntheticMetrics(k)
		cfg := DefaultConfig()
		cfg.Budget, cfg.Floor, cfg.Cap = 100000, 5, 5000
		b.Run(fmt.Sprintf("classes=%d,segments=%d", k, 4*k), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := BuildPlan(m, cfg, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkComputeMetrics(b *testing.B) {
	const n, k = 100000, 10
	rng := rand.New(rand.NewPCG(3, 4))
	p := Predictions{Classes: make([]string, k), True: make([]int, n), Pred: make([]int, n), Attrs: make([]float64, n*4)}
	for c := range k {
		p.Classes[c] = fmt.Sprint("c", c)
	}
	for i := range n {
		p.True[i] = rng.IntN(k)
		p.Pred[i] = p.True[i]
		if rng.Float64() < 0.2 {
			p.Pred[i] = rng.IntN(k)
		}
		for j := range 4 {
			p.Attrs[i*4+j] = rng.Float64() * 0.7
		}
	}
	for _, resamples := range []int{-1, 1000} {
		b.Run(fmt.Sprintf("images=%d,resamples=%d", n, max(resamples, 0)), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ComputeMetrics(p, MetricsOptions{Bootstrap: Bootstrap{Seed: 1, Resamples: resamples}}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAllocate(b *testing.B) {
	for _, n := range []int{100, 10000} {
		diff := make([]float64, n)
		rng := rand.New(rand.NewPCG(5, 6))
		for i := range diff {
			diff[i] = rng.Float64()
		}
		targets := make([]Target, n)
		b.Run(fmt.Sprintf("targets=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Allocate(10*n, targets, diff, 1, 50, 0.1); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
