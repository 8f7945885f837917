package generate

import "testing"

// TestScheduleNext: which target the sampler makes a batch for, from a state of the run.
func TestScheduleNext(t *testing.T) {
	type state struct {
		made, consumed, accepted, arrivedN, arrivedAcc []int
		done                                           []bool
		sinkAt                                         int
	}
	cases := []struct {
		desc     string
		need     []int
		limit    []int
		st       state
		batch    int
		wantTi   int
		wantN    int
		wantSeq  int
		wantWait bool
	}{
		{desc: "a fresh run starts at the first target", need: []int{100, 100}, limit: []int{400, 400}, batch: 64,
			wantTi: 0, wantN: 64},
		{desc: "a target with no quota is skipped", need: []int{0, 100}, limit: []int{0, 400}, batch: 64,
			wantTi: 1, wantN: 64},
		{desc: "the last batch is cut to the attempts left", need: []int{100}, limit: []int{400},
			st: state{made: []int{380}, consumed: []int{380}, accepted: []int{50}}, batch: 64, wantTi: 0, wantN: 20, wantSeq: 1},
		{desc: "one batch in flight at an unknown rate: look ahead to the next target", need: []int{100, 100}, limit: []int{400, 400},
			st: state{made: []int{64, 0}}, batch: 64, wantTi: 1, wantN: 64},
		{desc: "the next target's screened rate says its batch in flight covers it: wait", need: []int{100, 40}, limit: []int{400, 160},
			st: state{made: []int{64, 128}, arrivedN: []int{0, 64}, arrivedAcc: []int{0, 30}}, batch: 64, wantTi: -1, wantWait: true},
		{desc: "the next target's screened rate falls short: another batch for it", need: []int{100, 100}, limit: []int{400, 400},
			st: state{made: []int{64, 64}, arrivedN: []int{0, 64}, arrivedAcc: []int{0, 10}}, batch: 64, wantTi: 1, wantN: 64, wantSeq: 1},
		{desc: "the sink's rate decides once it took the target", need: []int{100}, limit: []int{400},
			st:    state{made: []int{128}, consumed: []int{64}, accepted: []int{10}, arrivedN: []int{128}, arrivedAcc: []int{120}},
			batch: 64, wantTi: 0, wantN: 64, wantSeq: 1},
		{desc: "targets before the sink's are never picked", need: []int{100, 100}, limit: []int{400, 400},
			st: state{sinkAt: 1}, batch: 64, wantTi: 1, wantN: 64},
		{desc: "quota met and attempts spent: nothing left", need: []int{100, 100}, limit: []int{400, 400},
			st: state{made: []int{64, 400}, done: []bool{true, false}}, batch: 64, wantTi: -1},
	}
	for _, c := range cases {
		s := newSchedule(c.need, c.limit)
		set := func(v []int, f func(i, n int)) {
			for i, n := range v {
				f(i, n)
			}
		}
		set(c.st.made, func(i, n int) {
			s.made[i] = n
			if n > 0 {
				s.seq[i] = 1
			}
		})
		set(c.st.consumed, func(i, n int) { s.consumed[i].Store(int64(n)) })
		set(c.st.accepted, func(i, n int) { s.accepted[i].Store(int64(n)) })
		set(c.st.arrivedN, func(i, n int) { s.arrivedN[i].Store(int64(n)) })
		set(c.st.arrivedAcc, func(i, n int) { s.arrivedAcc[i].Store(int64(n)) })
		for i, d := range c.st.done {
			if d {
				s.done[i].Store(true)
			}
		}
		s.sinkAt.Store(int64(c.st.sinkAt))
		ti, seq, n, wait := s.next(c.batch)
		if ti != c.wantTi || wait != c.wantWait || (ti >= 0 && (n != c.wantN || seq != c.wantSeq)) {
			t.Errorf("%s: next = target %d seq %d, %d rows, wait %v; want target %d seq %d, %d rows, wait %v",
				c.desc, ti, seq, n, wait, c.wantTi, c.wantSeq, c.wantN, c.wantWait)
		}
	}
}

// TestScheduleFinished: a target is finished when its quota is met, or when its last batch is
// made and the sink has seen every batch made for it.
func TestScheduleFinished(t *testing.T) {
	cases := []struct {
		desc    string
		batches []int // rows of the batches made
		seen    int
		done    bool
		want    bool
	}{
		{"nothing made yet", nil, 0, false, false},
		{"batches left to make", []int{64}, 1, false, false},
		{"last batch made, one not seen", []int{64, 64, 72}, 2, false, false},
		{"last batch made and every one seen", []int{64, 64, 72}, 3, false, true},
		{"quota met with batches in flight", []int{64, 64}, 1, true, true},
	}
	for _, c := range cases {
		s := newSchedule([]int{50}, []int{200})
		for _, n := range c.batches {
			s.madeBatch(0, n)
		}
		if c.done {
			s.done[0].Store(true)
		}
		if got := s.finished(0, c.seen); got != c.want {
			t.Errorf("%s: finished = %v, want %v", c.desc, got, c.want)
		}
		if s.seq[0] != len(c.batches) {
			t.Errorf("%s: seq %d after %d batches", c.desc, s.seq[0], len(c.batches))
		}
	}
}

// TestCovered: the sampler's rule for a target's batches in flight (made, not yet counted).
func TestCovered(t *testing.T) {
	cases := []struct {
		desc                           string
		made, consumed, accepted, need int64
		want                           bool
	}{
		{"nothing in flight", 1024, 1024, 100, 200, false},
		{"rate unknown: one batch in flight is waited for", 256, 0, 0, 200, true},
		{"far short: 100 + 1.3 x 0.125 x 256 = 141.6 of 200", 1024, 768, 100, 200, false},
		// At the rate itself 180 + 0.125 x 128 = 196 falls short; at 1.3 times it, 200.8 covers.
		{"within the optimism", 1568, 1440, 180, 200, true},
		{"beyond the optimism: 180 + 1.3 x 0.125 x 64 = 190.4", 1504, 1440, 180, 200, false},
		{"quota met", 1568, 1440, 200, 200, true},
	}
	for _, tc := range cases {
		if got := covered(tc.made, tc.consumed, tc.accepted, tc.need); got != tc.want {
			t.Errorf("%s: covered(%d, %d, %d, %d) = %v, want %v", tc.desc, tc.made, tc.consumed, tc.accepted, tc.need, got, tc.want)
		}
	}
}
