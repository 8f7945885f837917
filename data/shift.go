package data

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// ConditionFunc applies one condition to n images (NCHW) at a severity per
// image and returns the new pixels (the native engine in production).
type ConditionFunc func(images []float32, n, c, h, w int, condition string, severity []float32, seed uint64) ([]float32, error)

// ConditionShift returns a copy of ds in which round(fraction*n) images of
// each class carry one of the conditions, spread evenly over them, at a
// severity uniform in [lo, hi], recorded in Attrs. The choice of images,
// conditions and severities depends on the seed only, not on apply.
func ConditionShift(ds *Dataset, conditions []string, fraction, lo, hi float64, seed int64, apply ConditionFunc) (*Dataset, error) {
	switch {
	case len(conditions) == 0:
		return nil, fmt.Errorf("condition shift: no conditions")
	case !(fraction >= 0 && fraction <= 1):
		return nil, fmt.Errorf("condition shift: fraction %v outside [0,1]", fraction)
	case !(lo >= 0 && lo <= hi && hi <= 1):
		return nil, fmt.Errorf("condition shift: severity range [%v, %v] not inside [0,1]", lo, hi)
	case apply == nil:
		return nil, fmt.Errorf("condition shift: no function to apply conditions")
	}
	for _, c := range conditions {
		if AttrIndex(c) < 0 {
			return nil, fmt.Errorf("condition shift: unknown condition %q (known: %s)", c, strings.Join(AttrNames, ", "))
		}
	}
	if err := ds.Validate(); err != nil {
		return nil, err
	}
	pick, err := shuffledByClass(ds.Labels, ds.NumClasses(), seed, streamShiftPick)
	if err != nil {
		return nil, fmt.Errorf("condition shift: %w", err)
	}
	var chosen []int
	for _, idx := range pick {
		chosen = append(chosen, idx[:int(math.Round(fraction*float64(len(idx))))]...)
	}
	slices.Sort(chosen)
	draw := classRNG(seed, streamShiftDraw, 0)
	draw.Shuffle(len(chosen), func(a, b int) { chosen[a], chosen[b] = chosen[b], chosen[a] })
	groups := make([][]int, len(conditions))
	sev := make([][]float32, len(conditions))
	for k, i := range chosen {
		g := k % len(conditions)
		groups[g] = append(groups[g], i)
		sev[g] = append(sev[g], float32(lo+(hi-lo)*draw.Float64()))
	}
	out := ds.Clone()
	if out.Attrs == nil {
		out.Attrs = make([]float32, out.Len()*NumAttrs)
	}
	for g, cond := range conditions {
		if len(groups[g]) == 0 {
			continue
		}
		if err := applyGroup(out, groups[g], cond, sev[g], mix(uint64(seed), uint64(g)), apply); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func applyGroup(ds *Dataset, idx []int, cond string, sev []float32, seed uint64, apply ConditionFunc) error {
	s := ds.ImageSize()
	batch := make([]float32, len(idx)*s)
	for j, i := range idx {
		copy(batch[j*s:], ds.Image(i))
	}
	got, err := apply(batch, len(idx), ds.C, ds.H, ds.W, cond, sev, seed)
	if err != nil {
		return fmt.Errorf("condition shift: applying %s: %w", cond, err)
	}
	if len(got) != len(batch) {
		return fmt.Errorf("condition shift: %s returned %d values for %d images of %d", cond, len(got), len(idx), s)
	}
	if k := slices.IndexFunc(got, func(v float32) bool { return !(v >= 0 && v <= 1) }); k >= 0 {
		return fmt.Errorf("condition shift: %s returned %v, outside [0,1]", cond, got[k])
	}
	a := AttrIndex(cond)
	for j, i := range idx {
		copy(ds.Image(i), got[j*s:(j+1)*s])
		ds.Attrs[i*NumAttrs+a] = sev[j]
	}
	return nil
}

// mix is splitmix64's finaliser: nearby seeds give unrelated streams.
func mix(a, b uint64) uint64 {
	z := a + 0x9e3779b97f4a7c15*(b+1)
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}
