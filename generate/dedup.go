package generate

import (
	"math"

	"gonum.org/v1/gonum/blas/blas32"

	"github.com/gam-native/gam-native/bindings"
	"github.com/gam-native/gam-native/data"
)

// Dedup finds near-duplicates by cosine similarity of the screen's embeddings (or of raw pixels
// when the screen has no embed), against a sample of training images of the same class and the
// images already accepted.
type Dedup struct {
	Threshold float32
	// per class, the unit vectors seen, back to back in one slice (rows of dim): Check scans
	// them with gonum's assembly dot product, 5x the scalar loop over one slice per vector
	// (BenchmarkDedupCheck: 11 against 57 µs a check of 700 128-d vectors, 2-core EPYC)
	seen map[int][]float32
	dim  int
}

// NewDedup embeds up to perClass training images per class of ds.
func NewDedup(e *bindings.Engine, screen *bindings.Model, ds *data.Dataset, perClass int, threshold float32) (*Dedup, error) {
	d := &Dedup{Threshold: threshold, seen: map[int][]float32{}}
	counts := map[int]int{}
	var idx []int
	for i, y := range ds.Labels {
		if counts[int(y)] < perClass {
			counts[int(y)]++
			idx = append(idx, i)
		}
	}
	const chunk = 512
	for lo := 0; lo < len(idx); lo += chunk {
		part := idx[lo:min(lo+chunk, len(idx))]
		x, _, px, err := realBatch(e, ds, part, -1)
		if err != nil {
			return nil, err
		}
		vecs, err := embed(screen, x, px, len(part))
		x.Close()
		if err != nil {
			return nil, err
		}
		for j, i := range part {
			d.add(int(ds.Labels[i]), vecs[j])
		}
	}
	return d, nil
}

// embed returns unit vectors for the n images x (px holds the same pixels on the Go side): the
// screen's embeddings when it has embed, else the pixels themselves.
func embed(screen *bindings.Model, x *bindings.Tensor, px []float32, n int) ([][]float32, error) {
	flat := px
	if screen != nil && screen.Meta.HasEmbed {
		et, err := screen.Embed(x)
		if err != nil {
			return nil, err
		}
		defer et.Close()
		if flat, err = et.F32(); err != nil {
			return nil, err
		}
	}
	dim := len(flat) / max(n, 1)
	out := make([][]float32, n)
	for i := range out {
		out[i] = unit(flat[i*dim : (i+1)*dim])
	}
	return out, nil
}

func unit(v []float32) []float32 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	u := make([]float32, len(v))
	if s == 0 {
		return u
	}
	inv := float32(1 / math.Sqrt(s))
	for i, x := range v {
		u[i] = x * inv
	}
	return u
}

func (d *Dedup) add(cls int, v []float32) {
	if d.dim == 0 {
		d.dim = len(v)
	}
	d.seen[cls] = append(d.seen[cls], v...)
}

// Check reports whether v duplicates something seen in class cls; if not, v is remembered.
// Every vector has the length of the first one seen; another length panics.
func (d *Dedup) Check(cls int, v []float32) bool {
	if d == nil {
		return false
	}
	if d.dim != 0 && len(v) != d.dim {
		panic("generate: Dedup.Check: a vector of another length than the ones seen")
	}
	x := blas32.Vector{N: len(v), Inc: 1, Data: v}
	rows := d.seen[cls]
	for lo := 0; lo+len(v) <= len(rows) && len(v) > 0; lo += len(v) {
		if blas32.Dot(blas32.Vector{N: len(v), Inc: 1, Data: rows[lo : lo+len(v)]}, x) > d.Threshold {
			return true
		}
	}
	d.add(cls, v)
	return false
}
