// Package jsonfile writes result files atomically (internal/atomicfile: a temporary file in the
// same folder, fsync, rename, fsync of the folder) and reads JSON with the file's name in the
// error. The run folder, the efficacy benchmark and the bench suite all write through it, so that
// a process killed at any moment leaves either the old file or the new one.
package jsonfile

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gam-native/gam-native/internal/atomicfile"
)

// WriteAtomic writes b to path as atomicfile.Write does, creating its folder. A path that exists
// and is not a regular file (a device such as /dev/null, a FIFO, a folder) is refused: the rename
// would replace it. Errors name path, never the temporary file.
func WriteAtomic(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return atomicfile.Write(path, b)
}

// WriteUserFile writes b atomically to a path the user named (plan --out, review export-ls
// --out): as WriteAtomic, but a missing folder is an error that names the folder, not created.
func WriteUserFile(path string, b []byte) error {
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); err != nil {
		return fmt.Errorf("%s: folder %s does not exist", path, dir)
	} else if !fi.IsDir() {
		return fmt.Errorf("%s: %s is not a folder", path, dir)
	}
	return WriteAtomic(path, b)
}

// WriteJSON writes v as indented JSON, with a final newline, atomically.
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return WriteAtomic(path, append(b, '\n'))
}

// ReadJSON reads path into v; a decoding error names the file.
func ReadJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
