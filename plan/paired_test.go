package plan

import (
	"math"
	"testing"
)

func TestComparePaired(t *testing.T) {
	// 4 classes x 100 images; A gets the first 80 of each class right.
	const k, per = 4, 100
	var y, a []int64
	for c := 0; c < k; c++ {
		for i := 0; i < per; i++ {
			y = append(y, int64(c))
			p := int64(c)
			if i >= 80 {
				p = int64((c + 1) % k)
			}
			a = append(a, p)
		}
	}
	fix := func(n int) []int64 { // B = A with the first n wrong images of every class made right
		b := append([]int64(nil), a...)
		for c := 0; c < k; c++ {
			for i := 80; i < 80+n; i++ {
				b[c*per+i] = int64(c)
			}
		}
		return b
	}
	for _, c := range []struct {
		desc      string
		b         []int64
		wantDelta float64
		better    bool
		onlyB     int
	}{
		{"the same predictions: no difference", fix(0), 0, false, 0},
		{"one more right a class: +0.01, within chance", fix(1), 0.01, false, 4},
		{"ten more right a class: +0.10, beyond chance", fix(10), 0.10, true, 40},
	} {
		t.Run(c.desc, func(t *testing.T) {
			p, err := ComparePaired(y, a, c.b, k, Bootstrap{Seed: 3})
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(p.DeltaBA-c.wantDelta) > 1e-12 || p.Better() != c.better || p.OnlyB != c.onlyB || p.OnlyA != 0 {
				t.Fatalf("%s: want ΔBA %.2f, better %v, %d right alone", p, c.wantDelta, c.better, c.onlyB)
			}
			if !(p.CI[0] <= p.DeltaBA && p.DeltaBA <= p.CI[1]) {
				t.Fatalf("interval %v does not hold ΔBA %v", p.CI, p.DeltaBA)
			}
			if c.better && p.PMcNemar > 0.001 || !c.better && p.PMcNemar < 0.05 {
				t.Fatalf("McNemar p %.4g for %d vs 0", p.PMcNemar, p.OnlyB)
			}
		})
	}
	t.Run("B worse than A: a negative delta and not better", func(t *testing.T) {
		p, err := ComparePaired(y, fix(10), a, k, Bootstrap{Seed: 3})
		if err != nil {
			t.Fatal(err)
		}
		if p.DeltaBA >= 0 || p.Better() || p.PBootstrap < 0.99 {
			t.Fatalf("%s", p)
		}
	})
	t.Run("mismatched lengths and labels are refused", func(t *testing.T) {
		if _, err := ComparePaired(y, a[:10], a, k, Bootstrap{}); err == nil {
			t.Fatal("accepted 10 predictions for 400 labels")
		}
		if _, err := ComparePaired([]int64{0, 9}, []int64{0, 0}, []int64{0, 0}, 2, Bootstrap{}); err == nil {
			t.Fatal("accepted label 9 of 2 classes")
		}
	})
	t.Run("McNemar exact values", func(t *testing.T) {
		for _, m := range []struct {
			a, b int
			want float64
		}{{0, 0, 1}, {0, 5, 0.0625}, {3, 3, 1}, {1, 9, 0.021484375}} {
			if got := mcnemarExact(m.a, m.b); math.Abs(got-m.want) > 1e-9 {
				t.Fatalf("mcnemarExact(%d, %d) = %v, want %v", m.a, m.b, got, m.want)
			}
		}
	})
}
