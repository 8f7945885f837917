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

// WriteAtomic writes b to path, creating its folder.
func WriteAtomic(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return renameio.WriteFile(path, b, 0o644)
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
