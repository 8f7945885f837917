package data

import (
	"bytes"
	"image/png"
	"math/rand/v2"
	"sync"
	"testing"
)

// TestEncodePNGSameBytesWithReusedBuffers: the pooled encoder writes the bytes a fresh encoder
// writes, for gray and RGB images, also from many goroutines at once.
func TestEncodePNGSameBytesWithReusedBuffers(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, c := range []int{1, 3} {
		ds := &Dataset{C: c, H: 28, W: 28, Images: make([]float32, 64*c*28*28), Labels: make([]int64, 64)}
		for i := range ds.Images {
			ds.Images[i] = rng.Float32()
		}
		want := make([][]byte, 64)
		for i := range want {
			var buf bytes.Buffer
			fresh := png.Encoder{CompressionLevel: png.BestSpeed}
			if err := fresh.Encode(&buf, toImage(ds, i)); err != nil {
				t.Fatal(err)
			}
			want[i] = buf.Bytes()
		}
		var wg sync.WaitGroup
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range want {
					got, err := EncodePNG(ds, i)
					if err != nil || !bytes.Equal(got, want[i]) {
						t.Errorf("%d channels, image %d: pooled encoding differs from a fresh one (%v)", c, i, err)
						return
					}
				}
			}()
		}
		wg.Wait()
	}
}
