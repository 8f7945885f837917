package loop

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBatchThatCannotFitIsRefused (issue 27, item 3): an explicit batch size whose estimate is
// above the memory there is, is refused by Prepare before the run folder exists, with the key,
// the bytes it would need and the largest batch that fits; not a Go "fatal error: out of memory"
// or an allocator traceback once training starts.
func TestBatchThatCannotFitIsRefused(t *testing.T) {
	e := testEngine(t)
	for _, c := range []struct {
		desc, edit string
		want       []string
	}{
		{"target batch of 100,000,000", "[target_training]\nbatch_size = 100000000\n",
			[]string{"target_training.batch_size = 100000000", "needs about 54.8 TiB", "estimated for images [1 28 28]", "free on the host", "want at most"}},
		{"target batch of 1,500,000", "[target_training]\nbatch_size = 1500000\n",
			[]string{"target_training.batch_size = 1500000", "needs about 841.1 GiB", "want at most"}},
		{"generator batch of 100,000,000", "[generator_training]\nbatch_size = 100000000\n",
			[]string{"generator_training.batch_size = 100000000", "want at most"}},
		{"screen batch of 1,500,000", "[screen_training]\nbatch_size = 1500000\n",
			[]string{"screen_training.batch_size = 1500000", "want at most"}},
		{"generate batch of 100,000,000", "[generate]\nbatch_size = 100000000\n",
			[]string{"generate.batch_size = 100000000", "needs about 18.3 TiB", "want at most"}},
	} {
		t.Run(c.desc, func(t *testing.T) {
			body := strings.Replace(tinyJob, "["+strings.SplitN(c.edit, "]", 2)[0][1:]+"]\n", c.edit, 1)
			if !strings.Contains(body, c.edit) {
				t.Fatalf("edit %q did not apply", c.edit)
			}
			job, err := LoadJob(writeJob(t, body))
			if err != nil {
				t.Fatalf("LoadJob: %v (the size is only checked against the models' shapes, in Prepare)", err)
			}
			dir := filepath.Join(t.TempDir(), "run")
			r, err := Prepare(e, job, dir)
			if err == nil {
				r.Close()
				t.Fatal("accepted")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("the run folder exists after the refusal")
			}
		})
	}
}
