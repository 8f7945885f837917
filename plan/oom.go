package plan

import "fmt"

// RetryOOM runs run(batch); when isOOM says the error is out-of-memory it halves the batch, says so
// through logf, and tries again, down to a batch of one. It returns the batch that worked. Errors
// that are not out-of-memory are returned at once; OOM at batch one wraps ErrOOMAtOne.
func RetryOOM(batch int, run func(batch int) error, isOOM func(error) bool, logf func(string, ...any)) (int, error) {
	batch = max(batch, 1)
	for {
		err := run(batch)
		if err == nil {
			return batch, nil
		}
		if !isOOM(err) {
			return batch, err
		}
		if batch == 1 {
			return 1, fmt.Errorf("%w: %v", ErrOOMAtOne, err)
		}
		next := batch / 2
		if logf != nil {
			logf("out of memory at batch %d (%v); retrying with batch %d", batch, err, next)
		}
		batch = next
	}
}
