package data

import (
	"slices"
	"strings"
	"testing"
)

func labelsOf(counts ...int) []int64 {
	var out []int64
	for c, n := range counts {
		for range n {
			out = append(out, int64(c))
		}
	}
	return out
}

func countLabels(labels []int64, idx []int, k int) []int {
	out := make([]int, k)
	for _, i := range idx {
		out[labels[i]]++
	}
	return out
}

func TestStratifiedSplit(t *testing.T) {
	labels := labelsOf(10, 20, 5)
	for _, tc := range []struct {
		desc    string
		split   func(seed int64) ([]int, []int, error)
		wantVal []int
	}{
		{"per class", func(s int64) ([]int, []int, error) { return StratifiedSplit(labels, 3, 4, s) }, []int{4, 4, 4}},
		{"fraction", func(s int64) ([]int, []int, error) { return StratifiedSplitFraction(labels, 3, 0.2, s) }, []int{2, 4, 1}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			train, val, err := tc.split(7)
			if err != nil {
				t.Fatal(err)
			}
			if got := countLabels(labels, val, 3); !slices.Equal(got, tc.wantVal) {
				t.Errorf("validation counts %v, want %v", got, tc.wantVal)
			}
			all := append(slices.Clone(train), val...)
			slices.Sort(all)
			if len(all) != len(labels) || slices.Compact(all)[len(labels)-1] != len(labels)-1 {
				t.Error("train and val do not partition the images")
			}
			train2, val2, _ := tc.split(7)
			if !slices.Equal(train, train2) || !slices.Equal(val, val2) {
				t.Error("same seed, different split")
			}
			_, val3, _ := tc.split(8)
			if slices.Equal(val, val3) {
				t.Error("another seed, same split")
			}
		})
	}
	for _, tc := range []struct {
		desc string
		err  func() error
		want string
	}{
		{"more held out than a class has", func() error { _, _, err := StratifiedSplit(labels, 3, 6, 1); return err }, "class 2 has 5 images"},
		{"label outside the classes", func() error { _, _, err := StratifiedSplit(labels, 2, 1, 1); return err }, "label 2 outside"},
		{"fraction above 1", func() error { _, _, err := StratifiedSplitFraction(labels, 3, 1.5, 1); return err }, "outside [0,1]"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			if err := tc.err(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
}

func TestLongTailCounts(t *testing.T) {
	for _, tc := range []struct {
		desc      string
		nMax, k   int
		imbalance float64
		want      []int
	}{
		{"Fashion-MNIST-LT IF=100", 5900, 10, 100, []int{5900, 3537, 2120, 1271, 762, 457, 274, 164, 98, 59}},
		{"IF=1 is balanced", 10, 3, 1, []int{10, 10, 10}},
		{"one class", 7, 1, 100, []int{7}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			if got := LongTailCounts(tc.nMax, tc.k, tc.imbalance); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestLongTailFashionMNIST(t *testing.T) {
	ds, err := LoadFashionMNIST(fashionDir(t), "train")
	if err != nil {
		t.Fatal(err)
	}
	train, val, err := LongTailIndices(ds.Labels, 10, 100, 100, 1)
	if err != nil {
		t.Fatal(err)
	}
	counts := countLabels(ds.Labels, train, 10)
	if counts[0] != 5900 || counts[9] != 59 || len(train) != 14642 {
		t.Errorf("counts %v (total %d), want 5900 ... 59, total 14642", counts, len(train))
	}
	for c, n := range countLabels(ds.Labels, val, 10) {
		if n != 100 {
			t.Errorf("class %d has %d validation images, want 100", c, n)
		}
	}
	inTrain := map[int]bool{}
	for _, i := range train {
		inTrain[i] = true
	}
	for _, i := range val {
		if inTrain[i] {
			t.Fatalf("image %d is in both training and validation", i)
		}
	}
	for _, tc := range []struct {
		desc     string
		seed     int64
		wantSame bool
	}{
		{"same seed, same sets", 1, true},
		{"another seed, other images", 2, false},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			train2, val2, err := LongTailIndices(ds.Labels, 10, 100, 100, tc.seed)
			if err != nil {
				t.Fatal(err)
			}
			same := slices.Equal(train, train2) && slices.Equal(val, val2)
			if same != tc.wantSame {
				t.Errorf("same sets: %v, want %v", same, tc.wantSame)
			}
			if c := countLabels(ds.Labels, train2, 10); !slices.Equal(c, counts) {
				t.Errorf("counts %v, want %v whatever the seed", c, counts)
			}
		})
	}
}

func TestScarce(t *testing.T) {
	labels := labelsOf(30, 30, 30)
	ds := &Dataset{ClassNames: []string{"a", "b", "c"}, C: 1, H: 1, W: 1, Images: make([]float32, 90), Labels: labels}
	for _, tc := range []struct {
		desc     string
		classes  []int
		fraction float64
		want     []int
		err      string
	}{
		{"one class at 10%", []int{1}, 0.1, []int{20, 2, 20}, ""},
		{"a tiny fraction keeps one", []int{0, 2}, 0.001, []int{1, 20, 1}, ""},
		{"unknown class", []int{3}, 0.1, nil, "class 3 outside"},
		{"zero fraction", []int{1}, 0, nil, "outside (0,1]"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			train, val, err := Scarce(ds, tc.classes, tc.fraction, 10, 3)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := train.ClassCounts(); !slices.Equal(got, tc.want) {
				t.Errorf("train counts %v, want %v", got, tc.want)
			}
			if got := val.ClassCounts(); !slices.Equal(got, []int{10, 10, 10}) {
				t.Errorf("val counts %v", got)
			}
		})
	}
}
