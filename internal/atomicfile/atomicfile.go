// Package atomicfile is the one way gam-native replaces a file: a temporary file in the same
// folder, fsync, rename, fsync of the folder. A process killed at any moment leaves either the
// old file or the new one, and a crash after the call returns keeps the new one. Every writer of
// a result (run folders, datasets, plans, models, reports) goes through it.
package atomicfile

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Sync says what a write makes durable before it returns.
type Sync uint8

const (
	// SyncAll fsyncs the file before the rename and its folder after: the default.
	SyncAll Sync = iota
	// SyncFile fsyncs the file but not the folder: for a batch of files in a few folders, whose
	// caller syncs each folder once (SyncDir) before it publishes the batch.
	SyncFile
	// SyncNone fsyncs neither: for a batch whose caller syncs the whole file system once
	// (syncfs) before it publishes the batch, as generate's sink does per flush.
	SyncNone
)

// tempTag marks a temporary file: ".<name>.tmp<random>" beside <name>.
const tempTag = ".tmp"

// IsTemp reports whether a folder entry's name is one of this package's temporary files, left
// behind by a process killed mid-write; such files are safe to remove.
func IsTemp(name string) bool {
	return strings.HasPrefix(name, ".") && strings.Contains(name, tempTag)
}

// Write replaces path with b (SyncAll).
func Write(path string, b []byte) error { return WriteSync(path, b, SyncAll) }

// WriteSync replaces path with b, making durable what s says. The folder must exist. A path that
// exists and is not a regular file (a folder, a FIFO, a device such as /dev/null) is refused,
// as the rename would replace it. An existing file's permissions are kept; a new file gets 0644
// less the umask. Errors name path, never the temporary file, which is removed on any error.
func WriteSync(path string, b []byte, s Sync) error {
	return replace(path, s, func(f *os.File) (*os.File, error) {
		_, err := f.Write(b)
		return f, err
	})
}

// WriteWith replaces path with a file that fill writes by name (the engine saves a model to a
// path of its own opening), then as Write. fill gets the temporary file's path; the file exists
// and is empty.
func WriteWith(path string, fill func(tmp string) error) error {
	return replace(path, SyncAll, func(f *os.File) (*os.File, error) {
		if err := f.Close(); err != nil {
			return f, err
		}
		if err := fill(f.Name()); err != nil {
			return f, err
		}
		// Reopened so that the fsync covers what fill wrote through a descriptor of its own.
		g, err := os.OpenFile(f.Name(), os.O_RDWR, 0)
		if err != nil {
			return f, err
		}
		return g, nil
	})
}

// SyncDir makes the renames inside dir durable. A file system that cannot fsync a folder at all
// (EINVAL or ENOTSUP: some FUSE and network file systems) is not an error: there is nothing
// more to do there.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOTSUP) {
		return fmt.Errorf("sync folder %s: %w", dir, err)
	}
	return nil
}

// PublishDir puts the folder tmp, written in full by someone else (an exporter process), in place
// as dst, a name in the same parent folder: its files and tmp itself are fsynced, tmp is renamed,
// and the parent is fsynced, so that dst appears whole or not at all. A dst that holds files is never
// replaced: os.Rename's error is returned as it is (*os.LinkError), for the caller to tell "another
// process published it first" from a failure.
func PublishDir(tmp, dst string) error {
	err := filepath.WalkDir(tmp, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !(d.IsDir() || d.Type().IsRegular()) {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := f.Sync(); err != nil && !(d.IsDir() && (errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTSUP))) {
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("publish %s: %w", dst, err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return err
	}
	return SyncDir(filepath.Dir(dst))
}

// replace runs fill on a new temporary file beside path; fill returns the open file to sync.
func replace(path string, s Sync, fill func(*os.File) (*os.File, error)) (err error) {
	if path == "" {
		return errors.New("write: the file path is empty")
	}
	perm := os.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("%s: exists and is not a regular file (%s); give a file path", path, fi.Mode().Type())
		}
		perm = fi.Mode().Perm()
	}
	dir := filepath.Dir(path)
	f, err := createTemp(dir, filepath.Base(path), perm)
	if err != nil {
		return wrap(path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
			err = wrap(path, err)
		}
	}()
	if f, err = fill(f); err != nil {
		return err
	}
	if s != SyncNone {
		if err := f.Sync(); err != nil {
			return err
		}
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if s == SyncAll {
		// The new file is in place; this error says only that the rename may not survive a crash.
		if err := SyncDir(dir); err != nil {
			return fmt.Errorf("%s: written, but %w", path, err)
		}
	}
	return nil
}

// createTemp opens a new file beside name with perm (less the umask), unlike os.CreateTemp's 0600.
func createTemp(dir, name string, perm os.FileMode) (*os.File, error) {
	var r [6]byte
	for range 100 {
		if _, err := rand.Read(r[:]); err != nil {
			return nil, err
		}
		p := filepath.Join(dir, "."+name+tempTag+hex.EncodeToString(r[:]))
		f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_EXCL, perm)
		if !errors.Is(err, fs.ErrExist) {
			return f, err
		}
	}
	return nil, fmt.Errorf("no free temporary name in %s", dir)
}

// wrap names the user's path and drops the temporary file's name from a *PathError or *LinkError.
func wrap(path string, err error) error {
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case strings.Contains(err.Error(), path):
		return err
	case errors.As(err, &pe):
		return fmt.Errorf("write %s: %s: %w", path, pe.Op, pe.Err)
	case errors.As(err, &le):
		return fmt.Errorf("write %s: %s: %w", path, le.Op, le.Err)
	}
	return fmt.Errorf("write %s: %w", path, err)
}
