package generate

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestReorder: whatever order the batches arrive in, the sink takes the targets in plan order and
// each target's batches by seq; what is held behind a gap when its target finished is dropped.
func TestReorder(t *testing.T) {
	type ref struct{ ti, seq int }
	cases := []struct {
		desc string
		made []int // batches made per target (all made: the sampler is done)
		// quota[ti]: the target's quota is met once it has taken this many batches (0: never)
		quota    []int
		arrive   []ref
		close    bool // the channel closes after the last arrival
		want     string
		wantDrop string
		wantAt   int
	}{
		{desc: "in order", made: []int{2, 1}, quota: []int{0, 0},
			arrive: []ref{{0, 0}, {0, 1}, {1, 0}}, want: "0/0 0/1 1/0", wantAt: 2},
		{desc: "a later target's batch waits for the earlier target", made: []int{2, 1}, quota: []int{0, 0},
			arrive: []ref{{1, 0}, {0, 0}, {0, 1}}, want: "0/0 0/1 1/0", wantAt: 2},
		{desc: "a target's batches by seq", made: []int{3}, quota: []int{0},
			arrive: []ref{{0, 2}, {0, 1}, {0, 0}}, want: "0/0 0/1 0/2", wantAt: 1},
		{desc: "a gap holds everything after it", made: []int{3, 1}, quota: []int{0, 0},
			arrive: []ref{{0, 1}, {1, 0}, {0, 2}}, want: "", wantAt: 0},
		{desc: "the quota met behind a gap: the held batches are dropped", made: []int{3, 1}, quota: []int{1, 0},
			arrive: []ref{{0, 2}, {0, 0}, {1, 0}}, want: "0/0 1/0", wantDrop: "0/2", wantAt: 2},
		{desc: "a batch of a finished target is taken at once (the sink counts it as surplus)", made: []int{2, 2}, quota: []int{1, 0},
			arrive: []ref{{0, 0}, {1, 0}, {0, 1}}, want: "0/0 1/0 0/1", wantAt: 1},
		{desc: "closed: what is due is taken, the rest dropped", made: []int{3, 1}, quota: []int{0, 0},
			arrive: []ref{{0, 0}, {0, 2}, {1, 0}}, close: true, want: "0/0 1/0", wantDrop: "0/2", wantAt: 2},
	}
	for _, c := range cases {
		var took, dropped []string
		var at int
		finished := func(ti, seen int) bool { return c.quota[ti] > 0 && seen >= c.quota[ti] || seen == c.made[ti] }
		r := newReorder(len(c.made), finished,
			func(ti int, b ref) {
				if b.ti != ti {
					t.Errorf("%s: batch %v taken for target %d", c.desc, b, ti)
				}
				took = append(took, fmt.Sprintf("%d/%d", b.ti, b.seq))
			},
			func(b ref) { dropped = append(dropped, fmt.Sprintf("%d/%d", b.ti, b.seq)) },
			func(cur int) { at = cur })
		for _, a := range c.arrive {
			r.put(a.ti, a.seq, a)
		}
		if c.close {
			r.close()
		}
		slices.Sort(dropped)
		if got := strings.Join(took, " "); got != c.want {
			t.Errorf("%s: took %q, want %q", c.desc, got, c.want)
		}
		if got := strings.Join(dropped, " "); got != c.wantDrop {
			t.Errorf("%s: dropped %q, want %q", c.desc, got, c.wantDrop)
		}
		if at != c.wantAt {
			t.Errorf("%s: the sink is at target %d, want %d", c.desc, at, c.wantAt)
		}
	}
}
