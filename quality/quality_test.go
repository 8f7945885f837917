package quality

import (
	"math"
	"math/rand/v2"
	"testing"
)

// gauss draws n rows of dim standard normal features around centre, times sd.
func gauss(seed uint64, n, dim int, sd float64, centre ...float64) []float32 {
	r := rand.New(rand.NewPCG(seed, 1))
	x := make([]float32, n*dim)
	for i := range x {
		c := 0.0
		if j := i % dim; j < len(centre) {
			c = centre[j]
		}
		x[i] = float32(c + sd*r.NormFloat64())
	}
	return x
}

// withCov is 2·dim rows ±c·l_j (columns of l, row-major dim x dim) plus mu: mean mu and sample
// covariance exactly l·lᵀ, so a Fréchet distance can be worked out by hand.
func withCov(l []float64, mu []float64) []float32 {
	dim := len(mu)
	c := math.Sqrt(float64(2*dim-1) / 2)
	var x []float32
	for j := 0; j < dim; j++ {
		for _, s := range []float64{1, -1} {
			for i := 0; i < dim; i++ {
				x = append(x, float32(mu[i]+s*c*l[i*dim+j]))
			}
		}
	}
	return x
}

func shift(x []float32, dim int, by ...float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = v + float32(by[i%dim])
	}
	return out
}

func cat(xs ...[]float32) []float32 {
	var out []float32
	for _, x := range xs {
		out = append(out, x...)
	}
	return out
}

func TestFrechet(t *testing.T) {
	a := gauss(1, 500, 4, 1)
	for _, tc := range []struct {
		desc string
		a, b []float32
		dim  int
		want float64
		tol  float64
	}{
		{"identical sets", a, a, 4, 0, 1e-9},
		{"the same set shifted by (3,4,0,0): |shift|^2", a, shift(a, 4, 3, 4, 0, 0), 4, 25, 1e-6},
		{"two draws of N(0,I) and N((3,4,0,0),I): about |shift|^2", a, gauss(2, 4000, 4, 1, 3, 4), 4, 25, 0.6},
		// 1-D: variances 2 and 8: (sqrt 2 - sqrt 8)^2 = 2.
		{"1-D, variances 2 and 8", []float32{-1, 1}, []float32{-2, 2}, 1, 2, 1e-9},
		// S_a = diag(1,4), S_b = [[2,1],[1,1]] do not commute; S_a S_b = [[2,1],[4,4]], trace 6,
		// det 4, so Tr (S_a S_b)^(1/2) = sqrt(6 + 2·sqrt 4) = sqrt 10; means 1 apart:
		// 1 + 5 + 3 - 2·sqrt 10 (to float32 rounding of the rows).
		{"2-D, non-commuting covariances, means 1 apart", withCov([]float64{1, 0, 0, 2}, []float64{0, 0}),
			withCov([]float64{1, 1, 0, 1}, []float64{1, 0}), 2, 9 - 2*math.Sqrt(10), 1e-5},
		{"fewer rows than dim (singular covariances) still works", gauss(3, 3, 8, 1), gauss(3, 3, 8, 1), 8, 0, 1e-9},
	} {
		got, err := Frechet(tc.a, tc.b, tc.dim)
		if err != nil {
			t.Errorf("%s: %v", tc.desc, err)
			continue
		}
		if math.Abs(got-tc.want) > tc.tol {
			t.Errorf("%s: FD = %.6f, want %.6f ± %g", tc.desc, got, tc.want, tc.tol)
		}
	}
}

func TestFrechetErrors(t *testing.T) {
	for _, tc := range []struct {
		desc string
		a, b []float32
		dim  int
	}{
		{"one row in a", []float32{1, 2}, []float32{1, 2, 3, 4}, 2},
		{"no rows in b", []float32{1, 2, 3, 4}, nil, 2},
		{"a is not whole rows of dim", []float32{1, 2, 3}, []float32{1, 2, 3, 4}, 2},
		{"b is not whole rows of dim", []float32{1, 2, 3, 4}, []float32{1, 2, 3, 4, 5}, 2},
		{"dim 0", []float32{1, 2}, []float32{1, 2}, 0},
	} {
		if _, err := Frechet(tc.a, tc.b, tc.dim); err == nil {
			t.Errorf("%s: no error", tc.desc)
		}
	}
}

func TestPrecisionRecall(t *testing.T) {
	real := gauss(4, 300, 3, 1)
	corner := func(seed uint64, n int, x, y float64) []float32 { return gauss(seed, n, 2, 0.1, x, y) }
	fourModes := cat(corner(10, 100, 0, 0), corner(11, 100, 10, 0), corner(12, 100, 0, 10), corner(13, 100, 10, 10))
	for _, tc := range []struct {
		desc       string
		real, fake []float32
		dim, k     int
		p, r, tol  float64
	}{
		{"identical sets", real, real, 3, 3, 1, 1, 0},
		{"k 0 takes the default", real, real, 3, 0, 1, 1, 0},
		{"disjoint clusters", gauss(5, 200, 3, 0.5), gauss(6, 200, 3, 0.5, 100, 100, 100), 3, 3, 0, 0, 0},
		{"two draws of one Gaussian: both high", real, gauss(7, 300, 3, 1), 3, 3, 0.9, 0.9, 0.1},
		{"fakes cover two of four real modes: precision high, recall about a half", fourModes,
			cat(corner(20, 100, 0, 0), corner(21, 100, 10, 10)), 2, 3, 0.97, 0.48, 0.05},
	} {
		p, r, err := PrecisionRecall(tc.real, tc.fake, tc.dim, tc.k)
		if err != nil {
			t.Errorf("%s: %v", tc.desc, err)
			continue
		}
		if math.Abs(p-tc.p) > tc.tol || math.Abs(r-tc.r) > tc.tol {
			t.Errorf("%s: precision %.3f, recall %.3f; want %.3f, %.3f ± %g", tc.desc, p, r, tc.p, tc.r, tc.tol)
		}
	}
}

func TestPrecisionRecallErrors(t *testing.T) {
	four := gauss(8, 4, 2, 1)
	for _, tc := range []struct {
		desc       string
		real, fake []float32
		dim, k     int
	}{
		{"real has only k rows", gauss(8, 3, 2, 1), four, 2, 3},
		{"fake has only k rows", four, gauss(8, 3, 2, 1), 2, 3},
		{"a larger k needs more rows", four, four, 2, 4},
		{"fake is not whole rows", four, []float32{1, 2, 3}, 2, 1},
		{"dim negative", four, four, -2, 1},
	} {
		if _, _, err := PrecisionRecall(tc.real, tc.fake, tc.dim, tc.k); err == nil {
			t.Errorf("%s: no error", tc.desc)
		}
	}
}

func TestJudge(t *testing.T) {
	real, fake := gauss(9, 40, 3, 1), gauss(9, 30, 3, 1, 2)
	f, err := Judge(real, fake, 3, 0)
	if err != nil {
		t.Fatal(err)
	}
	fd, _ := Frechet(real, fake, 3)
	p, r, _ := PrecisionRecall(real, fake, 3, DefaultK)
	if f != (Figures{FD: fd, Precision: p, Recall: r, N: 30, NReal: 40}) {
		t.Errorf("Judge = %+v, want fd %v p %v r %v n 30/40", f, fd, p, r)
	}
	if _, err := Judge(real, fake[:3], 3, 0); err == nil {
		t.Error("Judge of one fake row: no error")
	}
	if _, err := Judge(real, fake[:9], 3, 3); err == nil {
		t.Error("Judge of k fake rows: no error")
	}
}
