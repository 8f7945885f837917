package generate

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// naiveDedup is the rule Dedup implements, written plainly: one slice per vector, a scalar dot.
type naiveDedup struct {
	thr  float32
	seen map[int][][]float32
}

func (d *naiveDedup) check(cls int, v []float32) bool {
	for _, s := range d.seen[cls] {
		var dot float32
		for i := range s {
			dot += s[i] * v[i]
		}
		if dot > d.thr {
			return true
		}
	}
	d.seen[cls] = append(d.seen[cls], v)
	return false
}

func TestDedupCheck(t *testing.T) {
	a, b := unit([]float32{1, 0, 0}), unit([]float32{0, 1, 0})
	near := unit([]float32{1, 0.01, 0})
	for _, c := range []struct {
		name string
		seen [][]float32 // class 0, in order
		cls  int
		v    []float32
		want bool
	}{
		{"nothing seen", nil, 0, a, false},
		{"the same vector", [][]float32{a}, 0, a, true},
		{"within the threshold", [][]float32{b, a}, 0, near, true},
		{"orthogonal", [][]float32{a}, 0, b, false},
		{"another class", [][]float32{a}, 1, a, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := &Dedup{Threshold: 0.999, seen: map[int][]float32{}}
			for _, s := range c.seen {
				d.add(0, s)
			}
			if got := d.Check(c.cls, c.v); got != c.want {
				t.Errorf("Check = %v, want %v", got, c.want)
			}
			// A vector not taken for a duplicate is remembered: the same again is one.
			if !c.want && !d.Check(c.cls, c.v) {
				t.Errorf("a vector Check let through was not remembered")
			}
		})
	}
}

// TestDedupMatchesTheRule: on random streams with many near-duplicates, Check answers what the
// plain rule answers, vector by vector.
func TestDedupMatchesTheRule(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, dim := range []int{1, 3, 7, 128} {
		d := &Dedup{Threshold: 0.99, seen: map[int][]float32{}}
		n := &naiveDedup{thr: 0.99, seen: map[int][][]float32{}}
		var base [][]float32
		dups := 0
		for i := 0; i < 600; i++ {
			v := make([]float32, dim)
			if len(base) > 0 && rng.IntN(3) == 0 {
				copy(v, base[rng.IntN(len(base))])
				for k := range v { // a nudge about 0.05 of the vector's length, or 0.2
					v[k] += float32(rng.NormFloat64()) * float32(rng.IntN(2)*3+1) * 0.05 / float32(math.Sqrt(float64(dim)))
				}
			} else {
				for k := range v {
					v[k] = float32(rng.NormFloat64())
				}
			}
			v = unit(v)
			base = append(base, v)
			cls := rng.IntN(3)
			want := n.check(cls, v)
			if got := d.Check(cls, v); got != want {
				t.Fatalf("dim %d, vector %d: Check = %v, the rule says %v", dim, i, got, want)
			}
			if want {
				dups++
			}
		}
		if dups == 0 || dups == 600 {
			t.Errorf("dim %d: %d of 600 duplicates: the stream does not test both answers", dim, dups)
		}
	}
}

// BenchmarkDedupCheck: the bench's case (128-d embeddings, 500 real images of the class and 200
// accepted, none a duplicate so every check scans them all), the plain rule beside Check:
//
//	go test ./generate -run '^$' -bench DedupCheck
func BenchmarkDedupCheck(b *testing.B) {
	const dim, seen = 128, 700
	rng := rand.New(rand.NewPCG(7, 8))
	vec := func() []float32 {
		v := make([]float32, dim)
		for k := range v {
			v[k] = float32(rng.NormFloat64())
		}
		return unit(v)
	}
	rows := make([][]float32, seen)
	for i := range rows {
		rows[i] = vec()
	}
	q := vec()
	for _, impl := range []string{"naive", "dedup"} {
		b.Run(fmt.Sprintf("impl=%s", impl), func(b *testing.B) {
			n := &naiveDedup{thr: 2, seen: map[int][][]float32{0: rows}} // 2: nothing is a duplicate
			d := &Dedup{Threshold: 2, seen: map[int][]float32{}}
			for _, r := range rows {
				d.add(0, r)
			}
			for i := 0; i < b.N; i++ {
				if impl == "naive" {
					n.check(0, q)
					n.seen[0] = n.seen[0][:seen]
				} else {
					d.Check(0, q)
					d.seen[0] = d.seen[0][:seen*dim]
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "µs/check")
		})
	}
}
