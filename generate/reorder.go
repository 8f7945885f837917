package generate

// reorder hands batches to the sink in plan order, each target's batches in the order they were
// made, whatever the sampler's look-ahead and whichever lane finished first: batches of a later
// target, and a target's batches that came before an earlier one of it, wait here until every
// earlier one has been taken or their target is finished (quota met, or attempts spent and every
// batch made for it seen).
type reorder[B any] struct {
	held []map[int]B // per target, by seq: arrived and not yet due
	next []int       // the seq each target takes next
	seen []int       // batches handed to take, per target
	cur  int         // the target being taken

	finished func(ti, seen int) bool // target ti needs no more batches, seen of its batches seen
	take     func(ti int, b B)       // hand b to the sink
	drop     func(b B)               // held behind a gap when its target finished: never taken
	moved    func(cur int)           // the sink moved on to target cur
}

func newReorder[B any](targets int, finished func(ti, seen int) bool, take func(ti int, b B), drop func(B), moved func(int)) *reorder[B] {
	r := &reorder[B]{held: make([]map[int]B, targets), next: make([]int, targets), seen: make([]int, targets),
		finished: finished, take: take, drop: drop, moved: moved}
	for i := range r.held {
		r.held[i] = map[int]B{}
	}
	return r
}

// put takes batch seq of target ti as it arrives, and hands on every batch now due.
func (r *reorder[B]) put(ti, seq int, b B) {
	if ti < r.cur {
		r.hand(ti, b) // made before its target was finished: the sink counts it as surplus
	} else {
		r.held[ti][seq] = b
	}
	r.advance(false)
}

// close says that every batch made has arrived: what is held is handed on or dropped, and every
// target is finished.
func (r *reorder[B]) close() { r.advance(true) }

func (r *reorder[B]) hand(ti int, b B) {
	r.seen[ti]++
	r.take(ti, b)
}

func (r *reorder[B]) advance(closed bool) {
	for r.cur < len(r.held) {
		cur := r.cur
		for b, ok := r.held[cur][r.next[cur]]; ok; b, ok = r.held[cur][r.next[cur]] {
			delete(r.held[cur], r.next[cur])
			r.next[cur]++
			r.hand(cur, b)
		}
		if !closed && !r.finished(cur, r.seen[cur]) {
			return
		}
		for _, b := range r.held[cur] { // behind a gap when the quota was met
			r.drop(b)
		}
		clear(r.held[cur])
		r.cur++
		r.moved(r.cur)
	}
}
