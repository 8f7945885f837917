package bench

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/gam-native/gam-native/bindings"
)

// KernelReport compares each CUDA kernel with its CPU path on the same random inputs.
type KernelReport struct {
	Skipped string        `json:"skipped,omitempty"`
	Checks  []KernelCheck `json:"checks"`
	OK      bool          `json:"ok"`
}

// KernelCheck is one output of one op: the largest absolute and relative error (relative to
// max(|cpu|, 1e-3)) over every element, and for integer outputs the number of mismatches.
type KernelCheck struct {
	Op         string  `json:"op"`
	Output     string  `json:"output"`
	Elements   int     `json:"elements"`
	MaxAbs     float64 `json:"max_abs_error"`
	MaxRel     float64 `json:"max_rel_error"`
	Mismatches int     `json:"mismatches"`
	Tolerance  float64 `json:"tolerance"`
	OK         bool    `json:"ok"`
}

// kernelTol is the relative error allowed between the GPU and CPU paths of one float output
// (float32 sums in a different order, fast-math exp).
const kernelTol = 1e-3

// kernels runs each native op on random inputs on the CPU and on CUDA and compares every output.
func (s *suite) kernels() error {
	rep := &KernelReport{OK: true}
	s.res.Kernels = rep
	info, err := s.e.Info()
	if err != nil {
		return err
	}
	if !info.CUDAAvailable || !info.CUDABuilt {
		rep.Skipped = fmt.Sprintf("CUDA not available (engine %s: cuda_built=%v, cuda_available=%v): nothing to compare", info.Library, info.CUDABuilt, info.CUDAAvailable)
		s.o.Logf("bench: kernels: %s", rep.Skipped)
		return nil
	}
	defer s.e.SetDevice(info.Device)
	rng := rand.New(rand.NewPCG(42, 7))
	shapes := [][4]int64{{64, 1, 28, 28}, {16, 3, 32, 32}, {3, 1, 5, 7}}
	for _, sh := range shapes {
		n := sh[0]
		px := make([]float32, n*sh[1]*sh[2]*sh[3])
		for i := range px {
			px[i] = rng.Float32()
		}
		sev := make([]float32, n)
		for i := range sev {
			sev[i] = rng.Float32()
		}
		sev[0] = 0
		for _, c := range bindings.Conditions {
			name := fmt.Sprintf("condition %s %v", c, sh)
			err := s.compareF32(rep, name, "images", func(dev string) (*bindings.Tensor, error) {
				x, sv, err := s.pair(dev, px, sh[:], sev)
				if err != nil {
					return nil, err
				}
				defer bindings.CloseAll(x, sv)
				return s.e.Condition(x, c, sv, 1234)
			})
			if err != nil {
				return err
			}
		}
		err := s.compareF32(rep, fmt.Sprintf("image_stats %v", sh), "stats", func(dev string) (*bindings.Tensor, error) {
			x, _, err := s.pair(dev, px, sh[:], nil)
			if err != nil {
				return nil, err
			}
			defer x.Close()
			return s.e.ImageStats(x)
		})
		if err != nil {
			return err
		}
	}
	// Fused screen over logits with NaN/Inf rows and values at the thresholds' edges.
	const n, k = 4096, 10
	logits := make([]float32, n*k)
	for i := range logits {
		logits[i] = float32(rng.NormFloat64() * 3)
	}
	intended := make([]int64, n)
	conf := make([]float32, n)
	for i := range intended {
		intended[i] = int64(rng.IntN(k))
		conf[i] = rng.Float32()
		switch i % 97 {
		case 0:
			logits[i*k+3] = float32(math.NaN())
		case 1:
			logits[i*k+1] = float32(math.Inf(1))
		case 2:
			conf[i] = float32(math.NaN())
		}
	}
	outs := map[string][3][]float64{}
	for _, dev := range []string{"cpu", "cuda"} {
		if err := s.e.SetDevice(dev); err != nil {
			return err
		}
		l, err := s.e.FromF32(logits, n, k)
		if err != nil {
			return err
		}
		y, err := s.e.FromI64(intended, n)
		if err != nil {
			return err
		}
		c, err := s.e.FromF32(conf, n)
		if err != nil {
			return err
		}
		v, p, a, err := s.e.Screen(l, y, c, 0.3, 0.2)
		bindings.CloseAll(l, y, c)
		if err != nil {
			return err
		}
		vv, err1 := v.I64()
		pp, err2 := p.F32()
		aa, err3 := a.I64()
		bindings.CloseAll(v, p, a)
		if err := firstErr(err1, err2, err3); err != nil {
			return err
		}
		outs[dev] = [3][]float64{i64s(vv), f32s(pp), i64s(aa)}
	}
	rep.add(compare("screen", "verdict", outs["cpu"][0], outs["cuda"][0], true))
	rep.add(compare("screen", "prob", outs["cpu"][1], outs["cuda"][1], false))
	rep.add(compare("screen", "accepted", outs["cpu"][2], outs["cuda"][2], true))
	for _, c := range rep.Checks {
		s.o.Logf("bench: kernels: %-40s %-8s n=%-7d max rel %.2e max abs %.2e mismatches %d ok=%v", c.Op, c.Output, c.Elements, c.MaxRel, c.MaxAbs, c.Mismatches, c.OK)
	}
	return nil
}

func (r *KernelReport) add(c KernelCheck) {
	r.Checks = append(r.Checks, c)
	r.OK = r.OK && c.OK
}

// pair makes x (and severities, when given) on dev.
func (s *suite) pair(dev string, px []float32, sh []int64, sev []float32) (*bindings.Tensor, *bindings.Tensor, error) {
	if err := s.e.SetDevice(dev); err != nil {
		return nil, nil, err
	}
	x, err := s.e.FromF32(px, sh...)
	if err != nil {
		return nil, nil, err
	}
	if sev == nil {
		return x, nil, nil
	}
	sv, err := s.e.FromF32(sev, sh[0])
	if err != nil {
		x.Close()
		return nil, nil, err
	}
	return x, sv, nil
}

func (s *suite) compareF32(rep *KernelReport, op, output string, run func(dev string) (*bindings.Tensor, error)) error {
	var got [2][]float64
	for i, dev := range []string{"cpu", "cuda"} {
		t, err := run(dev)
		if err != nil {
			return fmt.Errorf("%s on %s: %w", op, dev, err)
		}
		v, err := t.F32()
		t.Close()
		if err != nil {
			return err
		}
		got[i] = f32s(v)
	}
	rep.add(compare(op, output, got[0], got[1], false))
	return nil
}

func compare(op, output string, cpu, gpu []float64, exact bool) KernelCheck {
	c := KernelCheck{Op: op, Output: output, Elements: len(cpu), Tolerance: kernelTol}
	if exact {
		c.Tolerance = 0
	}
	if len(cpu) != len(gpu) {
		c.Mismatches = max(len(cpu), len(gpu))
		return c
	}
	for i := range cpu {
		a, b := cpu[i], gpu[i]
		if math.IsNaN(a) || math.IsNaN(b) {
			if math.IsNaN(a) != math.IsNaN(b) {
				c.Mismatches++
			}
			continue
		}
		d := math.Abs(a - b)
		if exact && d != 0 {
			c.Mismatches++
		}
		c.MaxAbs = max(c.MaxAbs, d)
		c.MaxRel = max(c.MaxRel, d/max(math.Abs(a), 1e-3))
	}
	c.OK = c.Mismatches == 0 && c.MaxRel <= c.Tolerance
	return c
}

func f32s(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func i64s(v []int64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
