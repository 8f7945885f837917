package data

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// classRNG gives each class its own stream, so a change to one class's
// images leaves the draws of the others alone. PCG's output is fixed by
// Go's compatibility promise, so a seed means the same split everywhere.
func classRNG(seed int64, stream, class int) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), uint64(stream)<<32|uint64(class)))
}

// Random streams, one per use, so that adding a use shifts no other.
const (
	streamSplit = iota + 1
	streamShiftPick
	streamShiftDraw
)

// shuffledByClass lists each class's indices in a seeded random order.
func shuffledByClass(labels []int64, numClasses int, seed int64, stream int) ([][]int, error) {
	by := make([][]int, numClasses)
	for i, l := range labels {
		if l < 0 || int(l) >= numClasses {
			return nil, fmt.Errorf("image %d has label %d outside [0,%d)", i, l, numClasses)
		}
		by[l] = append(by[l], i)
	}
	for c, idx := range by {
		r := classRNG(seed, stream, c)
		r.Shuffle(len(idx), func(a, b int) { idx[a], idx[b] = idx[b], idx[a] })
	}
	return by, nil
}

// StratifiedSplit holds out valPerClass images of every class for
// validation. Both index lists come back sorted.
func StratifiedSplit(labels []int64, numClasses, valPerClass int, seed int64) (train, val []int, err error) {
	return splitBy(labels, numClasses, seed, func(c, n int) (int, error) {
		if valPerClass < 0 || valPerClass > n {
			return 0, fmt.Errorf("class %d has %d images, cannot hold out %d", c, n, valPerClass)
		}
		return valPerClass, nil
	})
}

// StratifiedSplitFraction holds out round(fraction*n) images of each class.
func StratifiedSplitFraction(labels []int64, numClasses int, fraction float64, seed int64) (train, val []int, err error) {
	if !(fraction >= 0 && fraction <= 1) {
		return nil, nil, fmt.Errorf("validation fraction %v outside [0,1]", fraction)
	}
	return splitBy(labels, numClasses, seed, func(_, n int) (int, error) {
		return int(math.Round(fraction * float64(n))), nil
	})
}

func splitBy(labels []int64, numClasses int, seed int64, valCount func(c, n int) (int, error)) (train, val []int, err error) {
	by, err := shuffledByClass(labels, numClasses, seed, streamSplit)
	if err != nil {
		return nil, nil, err
	}
	for c, idx := range by {
		k, err := valCount(c, len(idx))
		if err != nil {
			return nil, nil, err
		}
		val = append(val, idx[:k]...)
		train = append(train, idx[k:]...)
	}
	slices.Sort(train)
	slices.Sort(val)
	return train, val, nil
}
