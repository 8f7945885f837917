package data

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func toyDataset(perClass int) *Dataset {
	labels := labelsOf(perClass, perClass, perClass)
	ds := &Dataset{Name: "toy", ClassNames: []string{"coat", "shirt", "bag"}, C: 1, H: 2, W: 2,
		Images: make([]float32, 4*len(labels)), Labels: labels}
	for i := range ds.Images {
		ds.Images[i] = 0.5
	}
	return ds
}

func TestConditionShift(t *testing.T) {
	ds := toyDataset(20)
	out, err := ConditionShift(ds, []string{"blur", "shadow"}, 0.5, 0.2, 0.8, 5, fakeCondition)
	if err != nil {
		t.Fatal(err)
	}
	if ds.Attrs != nil || ds.Images[0] != 0.5 || slices.ContainsFunc(ds.Images, func(v float32) bool { return v != 0.5 }) {
		t.Fatal("input dataset modified")
	}
	perSegment := map[string]int{}
	for i := range out.Len() {
		a := out.AttrsOf(i)
		seg := SegmentOf(a, 0.01)
		perSegment[SegmentKey(out.ClassNames[out.Labels[i]], seg)]++
		sev := slices.Max(a)
		if seg != SegmentClean && (sev < 0.2 || sev > 0.8) {
			t.Errorf("image %d: severity %v outside [0.2, 0.8]", i, sev)
		}
		if want := 0.5 * (1 - sev); out.Image(i)[0] != want {
			t.Errorf("image %d: pixel %v, want %v (fake applied at the recorded severity)", i, out.Image(i)[0], want)
		}
	}
	for _, class := range ds.ClassNames {
		if n := perSegment[SegmentKey(class, SegmentClean)]; n != 10 {
			t.Errorf("%s: %d clean images, want 10 of 20", class, n)
		}
	}
	if b, s := perSegment["coat/blurry"]+perSegment["shirt/blurry"]+perSegment["bag/blurry"],
		perSegment["coat/shadow"]+perSegment["shirt/shadow"]+perSegment["bag/shadow"]; b != 15 || s != 15 {
		t.Errorf("%d blurry and %d shadow images, want 15 each", b, s)
	}
	again, _ := ConditionShift(ds, []string{"blur", "shadow"}, 0.5, 0.2, 0.8, 5, fakeCondition)
	other, _ := ConditionShift(ds, []string{"blur", "shadow"}, 0.5, 0.2, 0.8, 6, fakeCondition)
	if !slices.Equal(again.Attrs, out.Attrs) || slices.Equal(other.Attrs, out.Attrs) {
		t.Error("not a function of the seed")
	}

	failing := func([]float32, int, int, int, int, string, []float32, uint64) ([]float32, error) {
		return nil, errors.New("engine down")
	}
	short := func(im []float32, _, _, _, _ int, _ string, _ []float32, _ uint64) ([]float32, error) {
		return im[1:], nil
	}
	for _, tc := range []struct {
		desc   string
		conds  []string
		lo, hi float64
		apply  ConditionFunc
		want   string
	}{
		{"unknown condition", []string{"fog"}, 0, 1, fakeCondition, `unknown condition "fog"`},
		{"severity range reversed", []string{"blur"}, 0.8, 0.2, fakeCondition, "severity range"},
		{"no apply function", []string{"blur"}, 0, 1, nil, "no function"},
		{"engine error", []string{"noise"}, 0, 1, failing, "engine down"},
		{"engine returns too little", []string{"noise"}, 0, 1, short, "returned"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			_, err := ConditionShift(ds, tc.conds, 0.5, tc.lo, tc.hi, 1, tc.apply)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
}

func TestApplyScenario(t *testing.T) {
	train, test := toyDataset(40), toyDataset(10)
	sc := DefaultScenario()
	sc.ValPerClass, sc.ImbalanceFactor, sc.ScarceFraction = 5, 10, 0.1
	for _, tc := range []struct {
		desc      string
		name      string
		trainWant []int
		shifted   bool
	}{
		{"balanced", "balanced", []int{35, 35, 35}, false},
		{"long-tail", "long-tail", []int{35, 11, 4}, false},
		{"scarce shirt", "scarce", []int{35, 4, 35}, false},
		{"shift alone", "condition-shift", []int{35, 35, 35}, true},
		{"long-tail with shift", "long-tail+condition-shift", []int{35, 11, 4}, true},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			s, err := ApplyScenario(tc.name, sc, train, test, fakeCondition)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Train.ClassCounts(); !slices.Equal(got, tc.trainWant) {
				t.Errorf("train counts %v, want %v", got, tc.trainWant)
			}
			if got := s.Val.ClassCounts(); !slices.Equal(got, []int{5, 5, 5}) {
				t.Errorf("val counts %v", got)
			}
			if (s.Val.Attrs != nil) != tc.shifted || (s.Test.Attrs != nil) != tc.shifted {
				t.Errorf("val/test shifted: %v/%v, want %v", s.Val.Attrs != nil, s.Test.Attrs != nil, tc.shifted)
			}
			if s.Train.Attrs != nil {
				t.Error("training set shifted")
			}
		})
	}
	for _, tc := range []struct {
		desc, name, want string
	}{
		{"unknown name lists the known", "longtail", "known: balanced, long-tail, scarce, condition-shift"},
		{"two splits", "long-tail+scarce", "two splits"},
		{"shift twice", "condition-shift+condition-shift", "twice"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			_, err := ApplyScenario(tc.name, sc, train, test, fakeCondition)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
	bad := sc
	bad.ScarceClasses = []string{"hat"}
	if _, err := ApplyScenario("scarce", bad, train, test, nil); err == nil || !strings.Contains(err.Error(), `unknown class "hat"`) {
		t.Errorf("scarce class hat: %v", err)
	}
}

func TestSegmentOf(t *testing.T) {
	for _, tc := range []struct {
		desc      string
		attrs     []float32
		threshold float64
		want      string
	}{
		{"no attributes", nil, 0.3, "clean"},
		{"all zero", []float32{0, 0, 0, 0}, 0, "clean"},
		{"below threshold", []float32{0.2, 0, 0, 0}, 0.3, "clean"},
		{"at threshold", []float32{0.3, 0, 0, 0}, 0.3, "blurry"},
		{"dominant noise", []float32{0.4, 0, 0.1, 0.9}, 0.3, "noisy"},
		{"shadow", []float32{0, 0.5, 0, 0}, 0.3, "shadow"},
		{"low contrast", []float32{0, 0, 0.5, 0}, 0.3, "low_contrast"},
		{"tie goes to the earlier", []float32{0, 0.5, 0.5, 0}, 0.3, "shadow"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			got := SegmentOf(tc.attrs, tc.threshold)
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			cond, ok := ConditionOfSegment(got)
			if !ok || (got != SegmentClean && AttrIndex(cond) < 0) {
				t.Errorf("segment %q does not map back (%q, %v)", got, cond, ok)
			}
		})
	}
}
