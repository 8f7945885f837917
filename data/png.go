package data

import (
	"bytes"
	"image/png"
	"sync"
)

// pngBuffers lets the PNG encoder reuse its zlib writer and row buffers between images: without
// it every image allocated (and the GC cleared) a fresh compressor, which was the largest cost of
// the generation sink after its system calls (a CPU profile of BenchmarkDirSink).
type pngBuffers struct{ p sync.Pool }

func (b *pngBuffers) Get() *png.EncoderBuffer {
	if v, ok := b.p.Get().(*png.EncoderBuffer); ok {
		return v
	}
	return nil
}

func (b *pngBuffers) Put(e *png.EncoderBuffer) { b.p.Put(e) }

var pngEncoder = png.Encoder{CompressionLevel: png.BestSpeed, BufferPool: &pngBuffers{}}

// EncodePNG encodes image i of ds as PNG (grayscale for one channel, RGB for three), for
// writers that place images one at a time (the generation sink, sample grids). Safe for
// concurrent use.
func EncodePNG(ds *Dataset, i int) ([]byte, error) {
	var buf bytes.Buffer
	if err := pngEncoder.Encode(&buf, toImage(ds, i)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
