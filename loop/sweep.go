package loop

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/gam-native/gam-native/internal/dirlock"
	"github.com/gam-native/gam-native/progress"
)

// isLeftover is a temporary file that a write cut short leaves in a run folder: an atomic write's
// ".NAME.tmpXXXX" (a model save, a PNG, a JSON result), or the older names of Prepare's and the
// review reader's temporaries (".job*.toml", ".reviewed*.jsonl").
func isLeftover(name string) bool {
	if !strings.HasPrefix(name, ".") || name == dirlock.Name {
		return false
	}
	return strings.Contains(name, ".tmp") || strings.HasPrefix(name, ".job") || strings.HasPrefix(name, ".reviewed")
}

// sweepLeftovers removes the temporary files anywhere in the run folder dir, which this process
// holds (its lock): a run killed, or failed on a full disk, in the middle of a write leaves them,
// and nothing else would remove them. It logs how many it removed; an error is only logged, as a
// leftover is harmless to the run.
func sweepLeftovers(dir string) {
	n := 0
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() || !isLeftover(d.Name()) {
			return nil
		}
		if err := os.Remove(p); err != nil {
			progress.Logf("%s: %v", dir, err)
			return nil
		}
		n++
		return nil
	})
	if n > 0 {
		progress.Logf("%s: removed %d temporary file(s) left by an interrupted write", dir, n)
	}
}
