package data

import (
	"slices"
	"testing"
)

func TestBalancedPoolIndices(t *testing.T) {
	labels := make([]int64, 0, 300)
	for c := 0; c < 3; c++ {
		for i := 0; i < 100; i++ {
			labels = append(labels, int64(c))
		}
	}
	for _, c := range []struct {
		desc    string
		n       int
		want    []int
		wantErr bool
	}{
		{"even", 30, []int{10, 10, 10}, false},
		{"remainder to the first classes", 32, []int{11, 11, 10}, false},
		{"more than the pool holds", 290, nil, true},
	} {
		t.Run(c.desc, func(t *testing.T) {
			idx, err := BalancedPoolIndices(labels, 3, c.n, 20, 7)
			if c.wantErr {
				if err == nil {
					t.Fatal("accepted")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := make([]int, 3)
			for _, i := range idx {
				got[labels[i]]++
			}
			if !slices.Equal(got, c.want) {
				t.Fatalf("class counts %v, want %v", got, c.want)
			}
			// Disjoint from the validation images the long-tail split holds out with the same seed.
			_, val, err := LongTailIndices(labels, 3, 10, 20, 7)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range val {
				if _, found := slices.BinarySearch(idx, v); found {
					t.Fatalf("validation image %d is in the ceiling's training set", v)
				}
			}
		})
	}
}
