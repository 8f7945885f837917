// Package jsonfile writes result files atomically (temporary file in the same folder, fsync,
// rename; github.com/google/renameio) and reads JSON with the file's name in the error. The run
// folder, the efficacy benchmark and the bench suite all write through it, so that a process
// killed at any moment leaves either the old file or the new one.
package jsonfile

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/google/renameio/v2"
)

// WriteAtomic writes b to path, creating its folder. A path that exists and is not a regular file
// (a device such as /dev/null, a FIFO, a folder) is refused: the rename would replace it. Errors
// name path, never the temporary file.
func WriteAtomic(path string, b []byte) error {
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
		return fmt.Errorf("%s: exists and is not a regular file (%s); give a file path", path, fi.Mode().Type())
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := renameio.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
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
