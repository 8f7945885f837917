package plan

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestPerSampleBytes(t *testing.T) {
	tests := []struct {
		desc          string
		probe         int
		before, after uint64
		want          uint64
		err           bool
	}{
		{"rounded up", 8, 1000, 1017, 3, false},
		{"exact", 4, 0, 400, 100, false},
		{"memory fell", 4, 500, 400, 0, true},
		{"empty probe", 0, 0, 400, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			got, err := PerSampleBytes(tc.probe, tc.before, tc.after)
			if (err != nil) != tc.err || got != tc.want {
				t.Errorf("got %d, %v; want %d, error %v", got, err, tc.want, tc.err)
			}
		})
	}
}

var errOOM = errors.New("CUDA out of memory")

func TestRetryOOM(t *testing.T) {
	tests := []struct {
		desc      string
		start     int
		fitsBelow int // run succeeds when batch < fitsBelow; 0: never
		other     bool
		wantBatch int
		wantTries []int
		wantLogs  int
		wantErr   error
	}{
		{"OOM on the first try halves once", 256, 200, false, 128, []int{256, 128}, 1, nil},
		{"fits at once", 64, 100, false, 64, []int{64}, 0, nil},
		{"halves down to one", 5, 2, false, 1, []int{5, 2, 1}, 2, nil},
		{"OOM even at one", 4, 0, false, 1, []int{4, 2, 1}, 2, ErrOOMAtOne},
		{"other errors are not retried", 64, 0, true, 64, []int{64}, 0, errOOM},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			var tries []int
			var logs []string
			run := func(b int) error {
				tries = append(tries, b)
				if tc.other {
					return errOOM
				}
				if b < tc.fitsBelow {
					return nil
				}
				return fmt.Errorf("step: %w", errOOM)
			}
			isOOM := func(err error) bool { return !tc.other && errors.Is(err, errOOM) }
			logf := func(f string, a ...any) { logs = append(logs, fmt.Sprintf(f, a...)) }
			got, err := RetryOOM(tc.start, run, isOOM, logf)
			if got != tc.wantBatch || fmt.Sprint(tries) != fmt.Sprint(tc.wantTries) || len(logs) != tc.wantLogs {
				t.Errorf("batch %d tries %v logs %q", got, tries, logs)
			}
			if (tc.wantErr == nil) != (err == nil) || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) {
				t.Errorf("error %v, want %v", err, tc.wantErr)
			}
			if len(logs) > 0 && !strings.Contains(logs[0], fmt.Sprintf("out of memory at batch %d", tc.start)) {
				t.Errorf("log %q does not say what happened", logs[0])
			}
		})
	}
}

func TestCPUMaxBatchValidate(t *testing.T) {
	c := DefaultMemoryConfig()
	if c.CPUMax() != DefaultCPUMaxBatch {
		t.Fatal(c.CPUMax())
	}
	c.CPUMaxBatch = 0
	if err := c.Validate(); err != nil || c.CPUMax() != DefaultCPUMaxBatch {
		t.Fatalf("0 reads as the default: %v %d", err, c.CPUMax())
	}
	c.CPUMaxBatch = -1
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "cpu_max_batch") {
		t.Fatalf("%v", err)
	}
}
