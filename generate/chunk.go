package generate

import (
	"fmt"
	"sync/atomic"

	"github.com/gam-native/gam-native/bindings"
	"github.com/gam-native/gam-native/plan"
	"github.com/gam-native/gam-native/progress"
)

// Out-of-memory recovery. A batch is a unit of work fixed by its target, its seq and its rows (its
// seed is batchSeed(seed, round, target, seq), and every random draw in it comes from that seed),
// and it stays so: after an engine out-of-memory the run halves its rows per engine call (the
// chunk) and makes the same batch again from the start, its model calls split into chunks of at
// most that many rows and the outputs concatenated. The batch's draws, rows and place in the sink's
// order are the same, so a run that hit out-of-memory accepts the same images as one that never
// did (the models are per row; the outputs agree to float rounding), and nothing is accepted twice:
// a batch reaches the sink only once it was made whole.

// oomState is a run's engine chunk, shared by the sampler and every lane.
type oomState struct {
	chunk   atomic.Int64 // rows per model call; the batch size until an out-of-memory
	floor   int
	retries atomic.Int64 // batches made again after an out-of-memory
	label   string
}

func newOOMState(batch, floor int, label string) *oomState {
	s := &oomState{floor: max(floor, 1), label: label}
	s.chunk.Store(int64(batch))
	return s
}

func (s *oomState) get() int { return int(s.chunk.Load()) }

// shrink is called after a batch of n rows made with chunk `used` ran out of memory: it halves the
// chunk (unless another worker already took it lower) and says so. ok is false at the floor.
func (s *oomState) shrink(used, n int, err error) (int, bool) {
	rows := min(used, n)
	if rows <= 0 {
		rows = n
	}
	s.retries.Add(1)
	for {
		cur := s.get()
		if cur < rows {
			return cur, true // already lower: make it again with that
		}
		next := rows / 2
		if next < s.floor {
			return 0, false
		}
		if s.chunk.CompareAndSwap(int64(cur), int64(next)) {
			progress.Logf("%s: out of memory at %d rows per engine call (%v); making the batch again at %d", s.label, rows, err, next)
			return next, true
		}
	}
}

// errOOMFloor wraps the out-of-memory that the floor stopped.
func (s *oomState) floorError(err error) error {
	return fmt.Errorf("%s: out of memory at %d rows per engine call, the floor: %w", s.label, s.floor, err)
}

// rowRange is [lo, hi) as indices.
func rowRange(lo, hi int) []int64 {
	idx := make([]int64, hi-lo)
	for i := range idx {
		idx[i] = int64(lo + i)
	}
	return idx
}

// inChunks runs f on rows [i, i+chunk) of every input (nil inputs stay nil) and concatenates
// its outputs along dim 0; one call on the inputs themselves when the rows fit (chunk <= 0 or
// n <= chunk).
func inChunks(e *bindings.Engine, chunk, n int, ins []*bindings.Tensor, f func(ins []*bindings.Tensor) (*bindings.Tensor, error)) (*bindings.Tensor, error) {
	if chunk <= 0 || n <= chunk {
		return f(ins)
	}
	var outs []*bindings.Tensor
	defer func() { bindings.CloseAll(outs...) }()
	for lo := 0; lo < n; lo += chunk {
		idx := rowRange(lo, min(lo+chunk, n))
		part := make([]*bindings.Tensor, len(ins))
		var err error
		for k, t := range ins {
			if t == nil {
				continue
			}
			if part[k], err = t.Select(idx); err != nil {
				bindings.CloseAll(part...)
				return nil, err
			}
		}
		out, err := f(part)
		bindings.CloseAll(part...)
		if err != nil {
			return nil, err
		}
		outs = append(outs, out)
	}
	return e.Cat(outs...)
}

// stepInChunks is step.Run on rows of at most chunk at a time.
func stepInChunks(e *bindings.Engine, step *bindings.Step, chunk, n int, z, y, a *bindings.Tensor) (*bindings.Tensor, []int64, []float32, error) {
	if chunk <= 0 || n <= chunk {
		return step.Run(z, y, a)
	}
	var verdict []int64
	var prob []float32
	x, err := inChunks(e, chunk, n, []*bindings.Tensor{z, y, a}, func(in []*bindings.Tensor) (*bindings.Tensor, error) {
		x, v, p, err := step.Run(in[0], in[1], in[2])
		verdict, prob = append(verdict, v...), append(prob, p...)
		return x, err
	})
	if err != nil {
		return nil, nil, nil, err
	}
	return x, verdict, prob, nil
}

// calls is the rows per model call for b's score stage (0: the whole batch at once).
func (b *batch) calls() int {
	if b.chunk >= b.n {
		return 0
	}
	return b.chunk
}

// sampleRetry is sampleBatch at the run's chunk (or at chunk[0] when given), made again at half
// the rows per call after each engine out-of-memory, down to the floor.
func sampleRetry(e *bindings.Engine, m Models, step *bindings.Step, t *plan.Target, cfg Config, o Options, ti, seq, n int, oom *oomState, chunk ...int) *batch {
	c := oom.get()
	if len(chunk) > 0 {
		c = chunk[0]
	}
	for {
		b := sampleBatch(e, m, step, t, cfg, o, ti, seq, n, c)
		if b.err == nil || !bindings.IsOOM(b.err) {
			return b
		}
		next, ok := oom.shrink(c, n, b.err)
		if !ok {
			b.err = oom.floorError(b.err)
			return b
		}
		b.close()
		c = next
	}
}

// embedChunked is embed with the screen's embed run on at most chunk rows per call.
func embedChunked(e *bindings.Engine, screen *bindings.Model, x *bindings.Tensor, px []float32, n, chunk int) ([][]float32, error) {
	if chunk <= 0 || n <= chunk || screen == nil || !screen.Meta.HasEmbed {
		return embed(screen, x, px, n)
	}
	et, err := inChunks(e, chunk, n, []*bindings.Tensor{x}, func(in []*bindings.Tensor) (*bindings.Tensor, error) {
		return screen.Embed(in[0])
	})
	if err != nil {
		return nil, err
	}
	defer et.Close()
	flat, err := et.F32()
	if err != nil {
		return nil, err
	}
	return embed(nil, nil, flat, n)
}
