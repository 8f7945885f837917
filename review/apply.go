package review

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"github.com/gam-native/gam-native/data"
	"github.com/gam-native/gam-native/internal/atomicfile"
)

// ApplyResult counts what Apply left in the dataset.
type ApplyResult struct {
	Accepted  int // reviewed images in the dataset as their intended class
	Relabeled int // reviewed images in the dataset under another class
	Rejected  int // decisions that keep an image out
	Removed   int // images of earlier applies taken out again (a decision changed)
}

// Apply merges the decisions of the review queue under queueRoot (queueRoot/review/pending.jsonl
// and decisions.jsonl, classes from queueRoot/classes.json when classNames is nil) into the
// ImageFolder dataset at datasetDir: each accepted image is copied to <class folder>/NAME.png of
// its class, each relabeled one to that of its new class, and datasetDir's manifest.jsonl and
// metadata.jsonl then hold exactly one record per reviewed image that is in, with
// provenance.review "accepted" or "relabeled"; rejected ones stay out (and come out, if an
// earlier apply had put them in). Records the review did not make are left as they are.
//
// It is idempotent (a second apply with the same decisions changes no byte) and atomic: the
// images are in place before the manifest that names them is replaced (metadata first, then
// the manifest: the commit), and files no record names any more are removed after. The caller
// holds the dataset's folder (no ManifestWriter on it while this runs).
func Apply(queueRoot, datasetDir string, classNames []string) (ApplyResult, error) {
	var res ApplyResult
	if classNames == nil {
		var err error
		if classNames, err = LoadClasses(queueRoot); err != nil {
			return res, err
		}
	}
	accepted, rejected, err := Resolved(queueRoot, classNames)
	if err != nil {
		return res, err
	}
	res.Rejected = len(rejected)
	mp := filepath.Join(datasetDir, data.ManifestName)
	recs, err := data.ReadManifestIfAny(mp)
	if err != nil {
		return res, err
	}
	var keep, stale []data.Record
	for _, r := range recs {
		if r.Provenance != nil && r.Provenance.Review != "" {
			stale = append(stale, r)
		} else {
			keep = append(keep, r)
		}
	}
	taken := map[string]bool{}
	for _, r := range keep {
		taken[r.Path] = true
	}
	reviewDir := filepath.Join(queueRoot, ReviewDir)
	var in []data.Record
	for _, r := range accepted {
		src := filepath.Join(reviewDir, filepath.FromSlash(r.Path))
		r.Path = data.ClassFolder(r.Class) + "/" + path.Base(r.Path)
		if taken[r.Path] {
			return res, fmt.Errorf("apply %s: %s is already in %s, not from the review", queueRoot, r.Path, mp)
		}
		taken[r.Path] = true
		if err := copyIn(src, filepath.Join(datasetDir, filepath.FromSlash(r.Path))); err != nil {
			return res, err
		}
		if r.Provenance.Review == ReviewRelabeled {
			res.Relabeled++
		} else {
			res.Accepted++
		}
		in = append(in, r)
	}
	for _, d := range data.RecordFolders(datasetDir, in) {
		if err := atomicfile.SyncDir(d); err != nil {
			return res, err
		}
	}
	if len(in) > 0 || len(stale) > 0 {
		if err := data.RewriteManifest(datasetDir, append(keep, in...)); err != nil {
			return res, err
		}
	}
	for _, r := range stale {
		if taken[r.Path] {
			continue
		}
		res.Removed++
		if err := os.Remove(filepath.Join(datasetDir, filepath.FromSlash(r.Path))); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return res, err
		}
	}
	return res, nil
}

// copyIn copies src to dst (atomically), unless dst already holds the same bytes.
func copyIn(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("reviewed image: %w", err)
	}
	if old, err := os.ReadFile(dst); err == nil && bytes.Equal(old, b) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return atomicfile.WriteSync(dst, b, atomicfile.SyncFile)
}
