package data

import (
	"bytes"
	"image/png"
)

// EncodePNG encodes image i of ds as PNG (grayscale for one channel, RGB for three), for
// writers that place images one at a time (the generation sink, sample grids).
func EncodePNG(ds *Dataset, i int) ([]byte, error) {
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, toImage(ds, i)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
