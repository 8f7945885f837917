package data

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/gam-native/gam-native/internal/atomicfile"
)

// ManifestWriter appends records to a manifest durably, for a loop that may
// be killed at any moment and resumed. One writer per file: it takes no lock.
type ManifestWriter struct {
	mu     sync.Mutex
	path   string
	f      *os.File
	size   int64
	lines  map[string][]byte // record key -> its line, for idempotent appends
	recs   []Record
	torn   int
	broken error
}

// OpenManifestWriter opens or creates a manifest. A last line without its
// newline is what a kill during an append leaves: it was never
// acknowledged, so it is cut off (TornBytes says how much). Any complete
// line that does not parse is corruption, not tearing, and an error.
func OpenManifestWriter(path string) (*ManifestWriter, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	w, err := openManifestWriter(path, f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return w, nil
}

func openManifestWriter(path string, f *os.File) (*ManifestWriter, error) {
	content, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	keep := bytes.LastIndexByte(content, '\n') + 1
	w := &ManifestWriter{path: path, f: f, size: int64(keep), lines: map[string][]byte{}, torn: len(content) - keep}
	if w.torn > 0 {
		if err := f.Truncate(w.size); err != nil {
			return nil, err
		}
		if err := f.Sync(); err != nil {
			return nil, err
		}
	}
	if len(content) == 0 {
		// A new file's name must survive a crash too.
		if err := atomicfile.SyncDir(filepath.Dir(path)); err != nil {
			return nil, err
		}
	}
	recs, _, err := scanManifest(path, bytes.NewReader(content[:keep]))
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		line, err := r.MarshalLine()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if _, dup := w.lines[recordKey(&r)]; !dup {
			w.lines[recordKey(&r)] = line
		}
	}
	w.recs = recs
	return w, nil
}

// recordKey identifies the image a record stands for.
func recordKey(r *Record) string {
	if r.Path != "" {
		return "path:" + r.Path
	}
	return "ref:" + r.Ref
}

// Records returns the records in the file, in order (not a copy).
func (w *ManifestWriter) Records() []Record {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.recs
}

// TornBytes is how many bytes of a torn last line the open cut off.
func (w *ManifestWriter) TornBytes() int { return w.torn }

// Append writes a batch with one write and one fsync. A record already in
// the file with the same content is skipped, so a resumed run may append
// its last batch again; one with the same path or ref but other content is
// an error. Any invalid record fails the whole batch before a byte is
// written; a failed write is cut back off.
func (w *ManifestWriter) Append(recs ...Record) (added int, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.broken != nil {
		return 0, w.broken
	}
	var buf bytes.Buffer
	batch := map[string][]byte{}
	var fresh []Record
	for i := range recs {
		r := recs[i]
		if r.V == 0 {
			r.V = ManifestVersion
		}
		line, err := r.MarshalLine()
		if err != nil {
			return 0, fmt.Errorf("%s: record %d of the batch: %w", w.path, i, err)
		}
		key := recordKey(&r)
		old, ok := w.lines[key]
		if !ok {
			old, ok = batch[key]
		}
		if ok {
			if !bytes.Equal(old, line) {
				return 0, fmt.Errorf("%s: record %d of the batch: %s is already in the manifest with other content", w.path, i, key)
			}
			continue
		}
		batch[key] = line
		buf.Write(line)
		fresh = append(fresh, r)
	}
	if len(fresh) == 0 {
		return 0, nil
	}
	if _, err := w.f.WriteAt(buf.Bytes(), w.size); err != nil {
		return 0, w.undo(err)
	}
	if err := w.f.Sync(); err != nil {
		return 0, w.undo(err)
	}
	w.size += int64(buf.Len())
	for k, v := range batch {
		w.lines[k] = v
	}
	w.recs = append(w.recs, fresh...)
	return len(fresh), nil
}

// undo cuts a failed append off; if even that fails the file's state is
// unknown and the writer refuses further appends (reopen to repair).
func (w *ManifestWriter) undo(err error) error {
	err = fmt.Errorf("%s: append: %w", w.path, err)
	if terr := w.f.Truncate(w.size); terr != nil {
		w.broken = errors.Join(err, terr)
		return w.broken
	}
	return err
}

// Close is idempotent.
func (w *ManifestWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	if w.broken == nil {
		w.broken = fmt.Errorf("%s: manifest writer is closed", w.path)
	}
	return err
}
