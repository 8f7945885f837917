package generate

import "sync/atomic"

// schedule is the sampler's policy: which target the next batch is made for, and what is in
// flight. The sampler works on the first target (in plan order, from the sink's current one) that
// still needs batches and whose batches in flight are not expected to cover its quota; when every
// open target is covered it waits for the sink. So at the end of one target it samples the next
// one's first batches instead of idling while the score stage finishes, and the score stage does
// not idle at the next target's start (docs/performance.md, "Looking ahead across target
// boundaries"). The sink still takes the targets in plan order (reorder), so the records do not
// depend on this look-ahead.
//
// One goroutine (the sampler) calls next and made; the sink's goroutine calls the rest, hence the
// atomics.
type schedule struct {
	need, limit []int // per target: the quota, and the most images made for it (MaxAttempts)
	made, seq   []int // the sampler's own: images and batches made per target

	done      []atomic.Bool  // quota met (or none to meet)
	batches   []atomic.Int64 // batches made, counted before each is sent
	exhausted []atomic.Bool  // its last batch is sent: the sink must not wait for more
	// What the sink has seen, per target, so the sampler does not run far ahead of a target whose
	// quota the batches in flight will probably cover (those would be thrown away).
	consumed, accepted []atomic.Int64
	// What has come back from the score stage, per target, consumed or held by the sink: the rate a
	// target the sink has not reached yet accepts at, so that the sampler can run ahead on it by
	// more than one batch.
	arrivedN, arrivedAcc []atomic.Int64
	sinkAt               atomic.Int64 // the target the sink is taking (every earlier one is finished)
}

func newSchedule(need, limit []int) *schedule {
	n := len(need)
	s := &schedule{need: need, limit: limit, made: make([]int, n), seq: make([]int, n),
		done: make([]atomic.Bool, n), batches: make([]atomic.Int64, n), exhausted: make([]atomic.Bool, n),
		consumed: make([]atomic.Int64, n), accepted: make([]atomic.Int64, n),
		arrivedN: make([]atomic.Int64, n), arrivedAcc: make([]atomic.Int64, n)}
	for i := range need {
		if need[i] <= 0 {
			s.done[i].Store(true)
		}
	}
	return s
}

// next is the target to make a batch for, the batch's seq and its rows. ti < 0 with wait: every
// open target is covered by the batches in flight, so the sampler waits for the sink; ti < 0
// without: every target from the sink's on has met its quota or spent its attempts.
//
// The sink holds the batches of the targets after its current one (accepted rows only) until it
// gets to them, so the look-ahead reaches as many as their screened rate says their quotas need
// (one until a first batch is screened). A look-ahead of one target was tried and measured: at
// batch 1024 a target needs about two batches, so it stalled the sampler again.
func (s *schedule) next(batchSize int) (ti, seq, n int, wait bool) {
	for i := int(s.sinkAt.Load()); i < len(s.need); i++ {
		if s.done[i].Load() || s.made[i] >= s.limit[i] {
			continue
		}
		c, a := s.consumed[i].Load(), s.accepted[i].Load()
		if c == 0 {
			// Not reached by the sink: the batches screened so far give the rate. Once the
			// sink takes the target, what it accepted (after dedup) decides.
			c, a = s.arrivedN[i].Load(), s.arrivedAcc[i].Load()
		}
		if covered(int64(s.made[i]), c, a, int64(s.need[i])) {
			wait = true
			continue
		}
		return i, s.seq[i], min(batchSize, s.limit[i]-s.made[i]), false
	}
	return -1, 0, 0, wait
}

// madeBatch counts batch (ti, n) as made; called before the batch is sent, so that the sink
// knows how many to wait for.
func (s *schedule) madeBatch(ti, n int) {
	s.batches[ti].Add(1)
	if s.made[ti]+n >= s.limit[ti] {
		s.exhausted[ti].Store(true)
	}
	s.made[ti] += n
	s.seq[ti]++
}

// arrived counts a batch of n rows, acc of them accepted by the screen, back from the score stage.
func (s *schedule) arrived(ti, n, acc int) {
	s.arrivedN[ti].Add(int64(n))
	s.arrivedAcc[ti].Add(int64(acc))
}

// finished reports whether target ti needs no more batches: its quota is met, or its last batch
// is made and the sink has seen all seen of them.
func (s *schedule) finished(ti, seen int) bool {
	return s.done[ti].Load() || s.exhausted[ti].Load() && seen == int(s.batches[ti].Load())
}

// covered reports whether the batches made but not yet counted are expected to bring the accepted
// count to need, at inflightOptimism times the acceptance rate seen so far. The caller counts
// consumed batches for the sink's current target and screened ones for a later target. Before
// the first batch is counted the rate is unknown, so one batch in flight is enough to wait for.
func covered(made, consumed, accepted, need int64) bool {
	inflight := made - consumed
	if inflight <= 0 {
		return false
	}
	if consumed == 0 {
		return true
	}
	rate := float64(accepted) / float64(consumed)
	return float64(accepted)+inflightOptimism*rate*float64(inflight) >= float64(need)
}

// inflightOptimism: covered counts the batches in flight at 1.3 times the rate seen so far. A batch
// made beyond a target's quota is thrown away whole (Result.Surplus), while one too few is made
// when the shortfall shows, the lanes working on the next targets meanwhile; at the rate itself
// (1.0) 2.4% of the attempts were surplus, at 1.3 0-0.6%, for 1.04x the attempts per second at
// batch 256 on two lanes (docs/performance.md, "Targets covered by the batches in flight").
const inflightOptimism = 1.3
