package data

import (
	"fmt"
	"math"
	"slices"
)

// LongTailCounts is the literature's exponential profile (Cao et al.,
// LDAM, for CIFAR-10-LT): round(nMax * (1/IF)^(c/(K-1))) for c = 0..K-1.
func LongTailCounts(nMax, numClasses int, imbalance float64) []int {
	counts := make([]int, numClasses)
	for c := range counts {
		e := 0.0
		if numClasses > 1 {
			e = float64(c) / float64(numClasses-1)
		}
		counts[c] = int(math.Round(float64(nMax) * math.Pow(1/imbalance, e)))
	}
	return counts
}

// LongTailIndices holds out valPerClass images per class, then keeps
// LongTailCounts of the rest with nMax the largest class left. A class
// with fewer images left than its count keeps all it has (MNIST's classes
// differ in size). Index lists come back sorted.
func LongTailIndices(labels []int64, numClasses int, imbalance float64, valPerClass int, seed int64) (train, val []int, err error) {
	if !(imbalance >= 1) || math.IsInf(imbalance, 0) {
		return nil, nil, fmt.Errorf("long-tail: imbalance factor %v must be at least 1", imbalance)
	}
	pools, val, err := holdOut(labels, numClasses, valPerClass, seed)
	if err != nil {
		return nil, nil, fmt.Errorf("long-tail: %w", err)
	}
	nMax := 0
	for _, p := range pools {
		nMax = max(nMax, len(p))
	}
	for c, n := range LongTailCounts(nMax, numClasses, imbalance) {
		train = append(train, pools[c][:min(n, len(pools[c]))]...)
	}
	slices.Sort(train)
	return train, val, nil
}

// holdOut takes valPerClass random images of each class for validation
// and returns the rest of each class, still in random order.
func holdOut(labels []int64, numClasses, valPerClass int, seed int64) (pools [][]int, val []int, err error) {
	by, err := shuffledByClass(labels, numClasses, seed, streamSplit)
	if err != nil {
		return nil, nil, err
	}
	for c, idx := range by {
		if valPerClass < 0 || valPerClass > len(idx) {
			return nil, nil, fmt.Errorf("class %d has %d images, cannot hold out %d for validation", c, len(idx), valPerClass)
		}
		val = append(val, idx[:valPerClass]...)
		by[c] = idx[valPerClass:]
	}
	slices.Sort(val)
	return by, val, nil
}

// LongTail makes a long-tailed training set and a balanced validation set
// disjoint from it.
func LongTail(ds *Dataset, imbalance float64, valPerClass int, seed int64) (train, val *Dataset, err error) {
	ti, vi, err := LongTailIndices(ds.Labels, ds.NumClasses(), imbalance, valPerClass, seed)
	if err != nil {
		return nil, nil, err
	}
	return named(ds.Subset(ti), ds.Name+"-lt"), named(ds.Subset(vi), ds.Name+"-val"), nil
}

// ScarceIndices holds out valPerClass per class, then keeps
// max(1, round(fraction*n)) of each listed class's remaining images.
func ScarceIndices(labels []int64, numClasses int, classes []int, fraction float64, valPerClass int, seed int64) (train, val []int, err error) {
	if !(fraction > 0 && fraction <= 1) {
		return nil, nil, fmt.Errorf("scarce: fraction %v outside (0,1]", fraction)
	}
	scarce := make([]bool, numClasses)
	for _, c := range classes {
		if c < 0 || c >= numClasses {
			return nil, nil, fmt.Errorf("scarce: class %d outside [0,%d)", c, numClasses)
		}
		scarce[c] = true
	}
	pools, val, err := holdOut(labels, numClasses, valPerClass, seed)
	if err != nil {
		return nil, nil, fmt.Errorf("scarce: %w", err)
	}
	for c, p := range pools {
		if scarce[c] && len(p) > 0 {
			p = p[:max(1, int(math.Round(fraction*float64(len(p)))))]
		}
		train = append(train, p...)
	}
	slices.Sort(train)
	return train, val, nil
}

// Scarce keeps only a fraction of the listed classes' training images.
func Scarce(ds *Dataset, classes []int, fraction float64, valPerClass int, seed int64) (train, val *Dataset, err error) {
	ti, vi, err := ScarceIndices(ds.Labels, ds.NumClasses(), classes, fraction, valPerClass, seed)
	if err != nil {
		return nil, nil, err
	}
	return named(ds.Subset(ti), ds.Name+"-scarce"), named(ds.Subset(vi), ds.Name+"-val"), nil
}

func named(d *Dataset, name string) *Dataset {
	d.Name = name
	return d
}

// BalancedPoolIndices holds out the same validation images as LongTailIndices and Scarce with
// the same seed, then takes n images spread evenly over the classes (the remainder to the first
// classes) from what is left: the real-data ceiling of a split of n training images.
func BalancedPoolIndices(labels []int64, numClasses, n, valPerClass int, seed int64) ([]int, error) {
	pools, _, err := holdOut(labels, numClasses, valPerClass, seed)
	if err != nil {
		return nil, fmt.Errorf("balanced pool: %w", err)
	}
	var out []int
	for c, p := range pools {
		want := n / numClasses
		if c < n%numClasses {
			want++
		}
		if want > len(p) {
			return nil, fmt.Errorf("balanced pool: class %d has %d images left after validation, %d wanted", c, len(p), want)
		}
		out = append(out, p[:want]...)
	}
	slices.Sort(out)
	return out, nil
}

// BalancedPool is BalancedPoolIndices as a dataset.
func BalancedPool(ds *Dataset, n, valPerClass int, seed int64) (*Dataset, error) {
	idx, err := BalancedPoolIndices(ds.Labels, ds.NumClasses(), n, valPerClass, seed)
	if err != nil {
		return nil, err
	}
	return named(ds.Subset(idx), ds.Name+"-balanced"), nil
}
