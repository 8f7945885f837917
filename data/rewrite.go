package data

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/gam-native/gam-native/internal/atomicfile"
)

// ReadManifestIfAny is ReadManifestRecords, with a missing file read as no records.
func ReadManifestIfAny(path string) ([]Record, error) {
	recs, err := ReadManifestRecords(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return recs, err
}

// RewriteManifest replaces dir/manifest.jsonl and its metadata.jsonl view with recs, each
// atomically: the metadata first, then the manifest, which is the commit. Every file a record
// names must be in place before. No ManifestWriter may have the manifest open.
func RewriteManifest(dir string, recs []Record) error {
	var buf bytes.Buffer
	for i := range recs {
		line, err := recs[i].MarshalLine()
		if err != nil {
			return fmt.Errorf("%s: record %d: %w", filepath.Join(dir, ManifestName), i, err)
		}
		buf.Write(line)
	}
	if err := WriteMetadata(dir, recs); err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, ManifestName), buf.Bytes())
}

// MoveOut moves the records of dir's manifest that out says to the manifest of dst, with their
// image files (same relative paths), and returns how many moved. Killed at any moment, and run
// again, it ends in the same state: each file is linked into dst first, dst's manifest then
// takes the records, dir's manifest drops them (the commit), and the old names are removed
// last; until then either manifest names files that exist. dir and dst must be on one file
// system.
func MoveOut(dir, dst string, out func(Record) bool) (int, error) {
	recs, err := ReadManifestIfAny(filepath.Join(dir, ManifestName))
	if err != nil {
		return 0, err
	}
	moved, err := ReadManifestIfAny(filepath.Join(dst, ManifestName))
	if err != nil {
		return 0, err
	}
	have := map[string]bool{}
	for _, r := range moved {
		have[r.Path] = true
	}
	var keep, gone []Record
	for _, r := range recs {
		if r.Path != "" && out(r) {
			gone = append(gone, r)
		} else {
			keep = append(keep, r)
		}
	}
	if len(gone) == 0 {
		return 0, removeMoved(dir, moved, keep)
	}
	for _, r := range gone {
		from, to := filepath.Join(dir, filepath.FromSlash(r.Path)), filepath.Join(dst, filepath.FromSlash(r.Path))
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return 0, err
		}
		if err := os.Link(from, to); err != nil && !errors.Is(err, fs.ErrExist) {
			return 0, fmt.Errorf("move %s to %s: %w", from, dst, err)
		}
		if !have[r.Path] {
			moved, have[r.Path] = append(moved, r), true
		}
	}
	for _, d := range RecordFolders(dst, gone) {
		if err := atomicfile.SyncDir(d); err != nil {
			return 0, err
		}
	}
	if err := RewriteManifest(dst, moved); err != nil {
		return 0, err
	}
	if err := RewriteManifest(dir, keep); err != nil {
		return 0, err
	}
	return len(gone), removeMoved(dir, moved, keep)
}

// removeMoved removes dir's old names of the files moved out (a kill after the commit leaves
// them): those dst's manifest has and dir's does not.
func removeMoved(dir string, moved, keep []Record) error {
	kept := map[string]bool{}
	for _, r := range keep {
		kept[r.Path] = true
	}
	for _, r := range moved {
		if kept[r.Path] {
			continue
		}
		if err := os.Remove(filepath.Join(dir, filepath.FromSlash(r.Path))); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// RecordFolders is the distinct folders (under root) that recs' files are in, in first-seen order:
// the folders a batch of files must sync before its manifest names them.
func RecordFolders(root string, recs []Record) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range recs {
		d := filepath.Dir(filepath.Join(root, filepath.FromSlash(r.Path)))
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out
}
