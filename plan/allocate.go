package plan

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
)

// Allocate splits total images over targets: shares are a softmax of difficulty/temperature, each
// share is then held within [floor, cap] (cap 0: none) by water-filling, and the real shares are
// rounded to integers by largest remainder so that they sum to total exactly. Equal difficulties
// give a flat split (counts differ by at most one). A floor that the budget cannot cover for every
// target is lowered to total/len(targets); a cap that cannot absorb the budget is an error.
func Allocate(total int, targets []Target, difficulty []float64, floor, cap int, temperature float64) ([]int, error) {
	if len(difficulty) != len(targets) {
		return nil, fmt.Errorf("allocate: %d difficulties for %d targets", len(difficulty), len(targets))
	}
	if !(temperature > 0) || math.IsInf(temperature, 0) {
		return nil, fmt.Errorf("temperature: %v, want a finite number > 0", temperature)
	}
	logits := make([]float64, len(difficulty))
	for i, d := range difficulty {
		if math.IsNaN(d) || math.IsInf(d, 0) {
			return nil, fmt.Errorf("allocate: difficulty of target %d is %v", i, d)
		}
		logits[i] = d / temperature
	}
	return allocateLogits(total, logits, floor, cap)
}

func allocateLogits(total int, logits []float64, floor, cap int) ([]int, error) {
	n := len(logits)
	switch {
	case total < 0:
		return nil, fmt.Errorf("budget: %d is negative", total)
	case floor < 0 || cap < 0:
		return nil, fmt.Errorf("floor %d, cap %d: want >= 0", floor, cap)
	case cap > 0 && floor > cap:
		return nil, fmt.Errorf("floor %d is above cap %d", floor, cap)
	case n == 0:
		if total > 0 {
			return nil, errors.New("allocate: a budget but no targets")
		}
		return nil, nil
	case cap > 0 && cap*n < total:
		return nil, fmt.Errorf("cap %d x %d targets = %d cannot hold the budget %d", cap, n, cap*n, total)
	}
	if floor*n > total {
		floor = total / n
	}
	x := waterFill(float64(total), logits, float64(floor), float64(cap))
	return largestRemainder(total, x, logits), nil
}

// waterFill returns x_i = clamp(exp(s + logit_i), lo, hi) (hi 0: no cap) with the scalar s found by
// bisection so that the shares sum to total: proportional to the softmax weights among the targets
// that no bound holds. The sum is monotone in s, so bisection is exact to float precision.
func waterFill(total float64, logits []float64, lo, hi float64) []float64 {
	top, bottom := math.Inf(-1), math.Inf(1)
	for _, l := range logits {
		top, bottom = math.Max(top, l), math.Min(bottom, l)
	}
	w := make([]float64, len(logits))
	for i, l := range logits {
		w[i] = math.Exp(l - top) // in (0, 1]; a common factor, so proportions are the softmax's
	}
	x := make([]float64, len(logits))
	fill := func(s float64) float64 {
		t, sum := math.Exp(s), 0.0
		for i, wi := range w {
			v := max(t*wi, lo)
			if hi > 0 {
				v = min(v, hi)
			}
			x[i] = v
			sum += v
		}
		return sum
	}
	a, b := -(top-bottom)-750, 750.0
	for b-a > 1e-12 {
		m := (a + b) / 2
		if fill(m) < total {
			a = m
		} else {
			b = m
		}
	}
	fill(b)
	return x
}

// largestRemainder floors each share and hands the leftover units to the largest fractional parts,
// ties to the higher logit, then the lower index, so the result is deterministic.
func largestRemainder(total int, x []float64, logits []float64) []int {
	out := make([]int, len(x))
	left := total
	idx := make([]int, len(x))
	for i, v := range x {
		out[i] = int(math.Floor(v + 1e-9))
		left -= out[i]
		idx[i] = i
	}
	frac := make([]float64, len(x))
	for i, v := range x {
		frac[i] = v - float64(out[i])
	}
	slices.SortFunc(idx, func(a, b int) int {
		switch {
		case math.Abs(frac[a]-frac[b]) > 1e-12:
			return cmp.Compare(frac[b], frac[a])
		case logits[a] != logits[b]:
			return cmp.Compare(logits[b], logits[a])
		}
		return a - b
	})
	for i := 0; left > 0; i = (i + 1) % len(idx) {
		out[idx[i]]++
		left--
	}
	for i := 0; left < 0; i = (i + 1) % len(idx) {
		if j := idx[len(idx)-1-i]; out[j] > 0 {
			out[j]--
			left++
		}
	}
	return out
}
