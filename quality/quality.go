// Package quality judges generated images against real ones in a classifier's feature space:
// the Fréchet distance between the two sets' Gaussian fits and improved precision and recall
// (Kynkäänniemi et al. 2019). It takes feature vectors (a classifier's embed of each image), not
// images, so it is pure Go and runs without the engine.
package quality

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/mat"
)

// DefaultK is the neighbour whose distance sets each sample's ball in PrecisionRecall.
const DefaultK = 3

// rows checks that x holds at least min rows of dim values each and returns their count.
func rows(name string, x []float32, dim, min int) (int, error) {
	if dim <= 0 {
		return 0, fmt.Errorf("quality: dim = %d, want > 0", dim)
	}
	if len(x)%dim != 0 {
		return 0, fmt.Errorf("quality: %s has %d values, not a whole number of %d-dimensional rows", name, len(x), dim)
	}
	n := len(x) / dim
	if n < min {
		return 0, fmt.Errorf("quality: %s has %d rows, want at least %d", name, n, min)
	}
	return n, nil
}

// moments are a set's mean and sample covariance (n-1, as FID computes it).
func moments(x []float32, n, dim int) ([]float64, *mat.SymDense) {
	mu := make([]float64, dim)
	for i := 0; i < n; i++ {
		for j, v := range x[i*dim : (i+1)*dim] {
			mu[j] += float64(v)
		}
	}
	for j := range mu {
		mu[j] /= float64(n)
	}
	c := make([]float64, n*dim)
	for i := 0; i < n; i++ {
		for j, v := range x[i*dim : (i+1)*dim] {
			c[i*dim+j] = float64(v) - mu[j]
		}
	}
	centred := mat.NewDense(n, dim, c)
	cov := mat.NewSymDense(dim, nil)
	cov.SymOuterK(1/float64(n-1), centred.T())
	return mu, cov
}

// eigen decomposes a symmetric matrix (the vectors only when asked), clamping eigenvalues below
// zero (rounding in a PSD matrix) to zero.
func eigen(s *mat.SymDense, vectors bool) ([]float64, *mat.Dense, error) {
	var es mat.EigenSym
	if !es.Factorize(s, vectors) {
		return nil, nil, errors.New("quality: eigendecomposition did not converge")
	}
	vals := es.Values(nil)
	for i, v := range vals {
		if v < 0 || math.IsNaN(v) {
			vals[i] = 0
		}
	}
	if !vectors {
		return vals, nil, nil
	}
	var vecs mat.Dense
	es.VectorsTo(&vecs)
	return vals, &vecs, nil
}

// Frechet is the Fréchet distance between Gaussians fitted to a and b (rows of dim features,
// row-major): |mu_a - mu_b|^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)). The trace of (S_a S_b)^(1/2)
// is taken as the sum of the square roots of the eigenvalues of the symmetric PSD matrix
// S_a^(1/2) S_b S_a^(1/2), which has the same eigenvalues as S_a S_b and stays stable when
// either covariance is singular (fewer rows than dim). Each set needs at least two rows.
func Frechet(a, b []float32, dim int) (float64, error) {
	na, err := rows("a", a, dim, 2)
	if err != nil {
		return 0, err
	}
	nb, err := rows("b", b, dim, 2)
	if err != nil {
		return 0, err
	}
	muA, sA := moments(a, na, dim)
	muB, sB := moments(b, nb, dim)
	var d2 float64
	for j := range muA {
		d := muA[j] - muB[j]
		d2 += d * d
	}
	vals, vecs, err := eigen(sA, true)
	if err != nil {
		return 0, err
	}
	// sqrt(S_a) = V diag(sqrt(lambda)) V^T
	scaled := mat.DenseCopyOf(vecs)
	for j, v := range vals {
		s := math.Sqrt(v)
		for i := 0; i < dim; i++ {
			scaled.Set(i, j, scaled.At(i, j)*s)
		}
	}
	var root mat.Dense
	root.Mul(scaled, vecs.T())
	var m, t mat.Dense
	t.Mul(&root, sB)
	m.Mul(&t, &root)
	sym := mat.NewSymDense(dim, nil)
	for i := 0; i < dim; i++ {
		for j := i; j < dim; j++ {
			sym.SetSym(i, j, (m.At(i, j)+m.At(j, i))/2)
		}
	}
	mv, _, err := eigen(sym, false)
	if err != nil {
		return 0, err
	}
	var cross float64
	for _, v := range mv {
		cross += math.Sqrt(v)
	}
	fd := d2 + mat.Trace(sA) + mat.Trace(sB) - 2*cross
	// Rounding can leave a distance of identical sets a hair below zero.
	return math.Max(fd, 0), nil
}

// PrecisionRecall is improved precision and recall (Kynkäänniemi et al. 2019) of fake against
// real, both rows of dim features: each sample's ball reaches its k-th nearest neighbour in its
// own set (itself excluded); precision is the share of fake samples inside some real sample's
// ball (are the fakes realistic?), recall the share of real samples inside some fake sample's
// ball (do the fakes cover the real variety?). k <= 0 takes DefaultK; each set needs more than k
// rows.
func PrecisionRecall(real, fake []float32, dim, k int) (precision, recall float64, err error) {
	if k <= 0 {
		k = DefaultK
	}
	nr, err := rows("real", real, dim, k+1)
	if err != nil {
		return 0, 0, err
	}
	nf, err := rows("fake", fake, dim, k+1)
	if err != nil {
		return 0, 0, err
	}
	rr := kthRadii(real, nr, dim, k)
	rf := kthRadii(fake, nf, dim, k)
	return covered(fake, nf, real, nr, rr, dim), covered(real, nr, fake, nf, rf, dim), nil
}

// dist2 is the squared Euclidean distance between two rows.
func dist2(a, b []float32) float64 {
	var s float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		s += d * d
	}
	return s
}

// kthRadii are the squared distances from each row of x to its k-th nearest other row.
func kthRadii(x []float32, n, dim, k int) []float64 {
	out := make([]float64, n)
	d := make([]float64, 0, n-1)
	for i := 0; i < n; i++ {
		d = d[:0]
		xi := x[i*dim : (i+1)*dim]
		for j := 0; j < n; j++ {
			if j != i {
				d = append(d, dist2(xi, x[j*dim:(j+1)*dim]))
			}
		}
		sort.Float64s(d)
		out[i] = d[k-1]
	}
	return out
}

// covered is the share of the rows of q that lie in the ball of some row of ref (radii2 squared).
func covered(q []float32, nq int, ref []float32, nref int, radii2 []float64, dim int) float64 {
	in := 0
	for i := 0; i < nq; i++ {
		qi := q[i*dim : (i+1)*dim]
		for j := 0; j < nref; j++ {
			if dist2(qi, ref[j*dim:(j+1)*dim]) <= radii2[j] {
				in++
				break
			}
		}
	}
	return float64(in) / float64(nq)
}

// Figures are one set of generated images judged against real ones of the same class.
type Figures struct {
	FD        float64 `json:"fd"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	N         int     `json:"n"`      // generated images
	NReal     int     `json:"n_real"` // real images
}

// Judge computes Frechet and PrecisionRecall (k <= 0: DefaultK) of fake against real.
func Judge(real, fake []float32, dim, k int) (Figures, error) {
	fd, err := Frechet(real, fake, dim)
	if err != nil {
		return Figures{}, err
	}
	p, r, err := PrecisionRecall(real, fake, dim, k)
	if err != nil {
		return Figures{}, err
	}
	return Figures{FD: fd, Precision: p, Recall: r, N: len(fake) / dim, NReal: len(real) / dim}, nil
}

// ClassFigures are the Figures of one class's generated images; Skipped says why there are none
// (too few images of either kind), with N and NReal still counted.
type ClassFigures struct {
	Class string `json:"class"`
	Figures
	Skipped string `json:"skipped,omitempty"`
}
