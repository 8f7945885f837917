package generate

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/gam-native/gam-native/data"
)

// isTemp is a temporary file of an atomic write (".NAME.tmpXXXX", internal/atomicfile), left by
// a process that was killed or failed in the middle of the write.
func isTemp(name string) bool { return strings.HasPrefix(name, ".") && strings.Contains(name, ".tmp") }

// Sweep removes what an earlier, cut-short generation of this sink's round left in its folders
// (the accepted folder and the review folder): temporary files, and the round's PNGs (rN_*.png, anywhere
// in the folder) that no record of the folder's manifest names. Those were written but their record never became durable
// (the process was killed, or the disk filled, before the batch's manifest append): the same seeds
// make them again, and an image without a record is in no dataset. Call it after OpenDirSink (which
// cuts a torn manifest line) and before the first image. It returns how many files it removed.
func (s *DirSink) Sweep() (int, error) {
	n, err := sweepFolder(s.Dir, s.ReviewDir, s.accepted, s.Round)
	if err != nil || s.pending == nil {
		return n, err
	}
	m, err := sweepFolder(s.ReviewDir, "", s.pending, s.Round)
	return n + m, err
}

// sweepFolder sweeps dir against its manifest m, leaving out the folder skip (a review folder
// inside the output folder has a manifest of its own).
func sweepFolder(dir, skip string, m *data.ManifestWriter, round int) (int, error) {
	named := map[string]bool{}
	for _, r := range m.Records() {
		if r.Path != "" {
			named[filepath.FromSlash(r.Path)] = true
		}
	}
	prefix := fmt.Sprintf("r%d_", round)
	removed := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && skip != "" && p != dir && sameFile(p, skip) {
			return filepath.SkipDir
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		name := d.Name()
		orphan := strings.HasSuffix(name, ".png") && strings.HasPrefix(name, prefix) && !named[rel]
		if !isTemp(name) && !orphan {
			return nil
		}
		if err := os.Remove(p); err != nil {
			return fmt.Errorf("sweep %s: %w", dir, err)
		}
		removed++
		return nil
	})
	return removed, err
}

// discard removes the images of a batch whose records could not be committed (a failed syncfs or
// manifest append: a full disk), the accepted ones (acc) and the pending ones (pend), so that no
// PNG is left that no record names. The error that caused it is the one reported; a file that
// cannot be removed here is swept by the next attempt (Sweep).
func (s *DirSink) discard(acc, pend bool) {
	for _, q := range []struct {
		on   bool
		root string
		recs *[]data.Record
	}{{acc, s.Dir, &s.queuedAcc}, {pend, s.ReviewDir, &s.queuedPend}} {
		if !q.on {
			continue
		}
		for _, r := range *q.recs {
			os.Remove(filepath.Join(q.root, filepath.FromSlash(r.Path)))
		}
		*q.recs = (*q.recs)[:0]
	}
}

func sameFile(a, b string) bool {
	x, err1 := os.Stat(a)
	y, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(x, y)
}
