package plan

import (
	"slices"
	"strings"
	"testing"
)

func TestAllocate(t *testing.T) {
	tests := []struct {
		desc       string
		total      int
		diff       []float64
		floor, cap int
		temp       float64
		want       []int
		wantErr    string
	}{
		{"equal difficulty is flat, remainder to the first", 10, []float64{0.3, 0.3, 0.3}, 0, 0, 0.1, []int{4, 3, 3}, ""},
		{"softmax: e^(0.1/0.1) = e times the share", 1000, []float64{0.2, 0.1}, 0, 0, 0.1, []int{731, 269}, ""},
		{"high temperature tends to flat", 100, []float64{0.9, 0.1}, 0, 0, 1000, []int{50, 50}, ""},
		{"cap moves the excess to the others", 100, []float64{1, 0, 0}, 0, 40, 0.1, []int{40, 30, 30}, ""},
		{"floor lifts the weak ones", 100, []float64{1, 0, 0}, 10, 0, 0.05, []int{80, 10, 10}, ""},
		{"floor the budget cannot cover is lowered", 5, []float64{0.5, 0.5, 0.5, 0.5}, 3, 0, 0.1, []int{2, 1, 1, 1}, ""},
		{"zero budget", 0, []float64{0.5, 0.2}, 0, 0, 0.1, []int{0, 0}, ""},
		{"cap too small for the budget", 100, []float64{0.5, 0.2}, 0, 10, 0.1, nil, "cannot hold the budget"},
		{"bad temperature", 100, []float64{0.5}, 0, 0, 0, nil, "temperature"},
		{"floor above cap", 100, []float64{0.5, 0.1}, 60, 50, 0.1, nil, "floor 60 is above cap 50"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			got, err := Allocate(tc.total, make([]Target, len(tc.diff)), tc.diff, tc.floor, tc.cap, tc.temp)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
