package data

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
)

// FashionMNISTRGBSize is the side of fashion-mnist-rgb's images.
const FashionMNISTRGBSize = 32

// Colourize makes a grayscale set of bright objects on black (Fashion-MNIST, MNIST) an RGB one of
// size x size, the fashion-mnist-rgb source: each image placed at a random offset on a random
// low-frequency coloured background (a 3x3 grid of random colours, bilinearly interpolated), the
// object tinted by a random colour, its pixel intensity the blend: out = g*tint + (1-g)*ground.
// A generator must then learn colour as well as shape. Image i's draws depend only on seed and i.
func Colourize(ds *Dataset, size int, seed uint64) (*Dataset, error) {
	if ds.C != 1 || ds.H > size || ds.W > size {
		return nil, fmt.Errorf("colourize %q: want grayscale images of at most %dx%d, have %dx%dx%d", ds.Name, size, size, ds.C, ds.H, ds.W)
	}
	out := &Dataset{Name: ds.Name + "-rgb", ClassNames: ds.ClassNames, C: 3, H: size, W: size,
		Images: make([]float32, ds.Len()*3*size*size), Labels: ds.Labels, Attrs: ds.Attrs, Refs: ds.Refs, Mix: ds.Mix}
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for wk := range workers {
		wg.Go(func() {
			for i := wk; i < ds.Len(); i += workers {
				colourOne(out.Image(i), ds.Image(i), ds.H, ds.W, size, rand.New(rand.NewPCG(seed, uint64(i))))
			}
		})
	}
	wg.Wait()
	return out, nil
}

func colourOne(dst, src []float32, h, w, size int, r *rand.Rand) {
	var grid [3][3][3]float32 // [gy][gx][channel]
	for gy := range 3 {
		for gx := range 3 {
			for k := range 3 {
				grid[gy][gx][k] = 0.6 * r.Float32()
			}
		}
	}
	var tint [3]float32
	for k := range 3 {
		tint[k] = 0.35 + 0.65*r.Float32()
	}
	oy, ox := r.IntN(size-h+1), r.IntN(size-w+1)
	plane := size * size
	for y := range size {
		fy := float32(y) / float32(size-1) * 2
		y0 := min(int(fy), 1)
		ty := fy - float32(y0)
		for x := range size {
			fx := float32(x) / float32(size-1) * 2
			x0 := min(int(fx), 1)
			tx := fx - float32(x0)
			var g float32
			if sy, sx := y-oy, x-ox; sy >= 0 && sy < h && sx >= 0 && sx < w {
				g = src[sy*w+sx]
			}
			for k := range 3 {
				top := grid[y0][x0][k]*(1-tx) + grid[y0][x0+1][k]*tx
				bot := grid[y0+1][x0][k]*(1-tx) + grid[y0+1][x0+1][k]*tx
				ground := top*(1-ty) + bot*ty
				dst[k*plane+y*size+x] = g*tint[k] + (1-g)*ground
			}
		}
	}
}
