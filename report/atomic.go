package report

import (
	"bytes"
	"errors"
	"image"
	"image/png"
	"os"
	"path/filepath"

	"github.com/google/renameio/v2"
)

// writeFileAtomic replaces path with data through a temporary file in the
// same folder (renameio fsyncs it before the rename), then syncs the folder
// so the rename itself survives a crash. The folder sync is best effort:
// some filesystems refuse to fsync a directory.
func writeFileAtomic(path string, data []byte) error {
	if path == "" {
		return errors.New("path is empty")
	}
	if err := renameio.WriteFile(path, data, 0o644); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// writePNG encodes img fully in memory first, so an encoding failure never
// reaches the file system.
func writePNG(path string, img image.Image) error {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return err
	}
	return writeFileAtomic(path, buf.Bytes())
}
