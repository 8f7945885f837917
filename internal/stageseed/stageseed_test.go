package stageseed

import "testing"

// TestForIsPinned pins the seeds that the loop's models and the efficacy baselines were trained
// and measured with (seed*7 + the stage's number).
func TestForIsPinned(t *testing.T) {
	cases := []struct {
		desc  string
		seed  uint64
		stage Stage
		want  uint64
	}{
		{"job seed 0, generator", 0, Generator, 1},
		{"job seed 0, screen", 0, Screen, 2},
		{"job seed 0, target", 0, Target, 3},
		{"job seed 1, generator", 1, Generator, 8},
		{"job seed 1, target", 1, Target, 10},
		{"job seed 2, untargeted draws", 2, Untargeted, 18},
		{"job seed 2, condition augmentation", 2, CondAug, 19},
		{"job seed 2, quality draws", 2, Quality, 20},
		{"job seed 42, target", 42, Target, 297},
		{"wraps like the int64 arithmetic it replaced", 1 << 62, CondAug, wrapped(1<<62, 5)},
	}
	for _, c := range cases {
		if got := For(c.seed, c.stage); got != c.want {
			t.Errorf("%s: For(%d, %d) = %d, want %d", c.desc, c.seed, c.stage, got, c.want)
		}
	}
}

// wrapped is the int64 seed*7+k that efficacy's condition augmentation computed before.
func wrapped(seed uint64, k int64) uint64 {
	v := int64(seed)
	return uint64(v*7 + k)
}
