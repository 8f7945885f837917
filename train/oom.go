package train

import (
	"github.com/gam-native/gam-native/bindings"
	"github.com/gam-native/gam-native/progress"
)

// OOMStats receives a training run's out-of-memory recovery (GeneratorOptions.OOM,
// ClassifierOptions.OOM): Retries counts the steps run again in halves after an engine
// out-of-memory, Rows is the most rows per step the run ended at (its batch size when none).
type OOMStats struct {
	Retries int `json:"oom_retries"`
	Rows    int `json:"rows_per_step"`
}

// stepHalving takes one batch of n rows as steps of at most *chunk rows (one step when they
// fit). After an engine out-of-memory it halves *chunk and runs the rest of the batch, from the
// rows that failed on, in steps of that size (rows already stepped are not stepped again), down to
// one row a step. The loss is the rows' weighted mean of the steps' losses. *chunk stays lowered
// for the batches after (a step that ran out of memory once would again).
func stepHalving(n int, chunk *int, st *OOMStats, label string, run func(lo, hi int) (float32, error)) (float32, error) {
	var sum float64
	for lo := 0; lo < n; {
		hi := min(lo+max(*chunk, 1), n)
		loss, err := run(lo, hi)
		if err != nil {
			if !bindings.IsOOM(err) || hi-lo <= 1 {
				return 0, err
			}
			*chunk = (hi - lo) / 2
			if st != nil {
				st.Retries++
			}
			progress.Logf("%s: out of memory on a step of %d rows (%v); running it again as steps of %d", label, hi-lo, err, *chunk)
			continue
		}
		sum += float64(loss) * float64(hi-lo)
		lo = hi
	}
	if st != nil {
		st.Rows = *chunk
	}
	return float32(sum / float64(max(n, 1))), nil
}
