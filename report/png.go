package report

import (
	"bytes"
	"image"
	"image/png"

	"github.com/gam-native/gam-native/internal/atomicfile"
)

// writePNG encodes img fully in memory first, so an encoding failure never
// reaches the file system; the file is replaced atomically.
func writePNG(path string, img image.Image) error {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return err
	}
	return atomicfile.Write(path, buf.Bytes())
}
