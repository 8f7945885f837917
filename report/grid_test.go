package report

import (
	"image/color"
	"math"
	"path/filepath"
	"strings"
	"testing"
)

// grayValue is the test pattern: distinct per image and position, exact in
// 8 bits.
func grayValue(i, y, x int) uint8 { return uint8(i*20 + (y+x)%7) }

func grayImages(n, h, w int) []float32 {
	px := make([]float32, n*h*w)
	for i := 0; i < n; i++ {
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				px[(i*h+y)*w+x] = float32(grayValue(i, y, x)) / 255
			}
		}
	}
	return px
}

func TestGridLayout(t *testing.T) {
	rgb := make([]float32, 2*3*4*4) // two 4x4 RGB images
	for i := 0; i < 2; i++ {
		for ch := 0; ch < 3; ch++ {
			for p := 0; p < 16; p++ {
				rgb[(i*3+ch)*16+p] = float32(i*100+ch*50+p) / 255
			}
		}
	}
	tests := []struct {
		desc                 string
		pixels               []float32
		n, c, h, w, cols, sc int
		wantW, wantH         int
		img, y, x            int // a source pixel to look up in the output
		want                 color.RGBA
	}{
		{"10 gray 28x28, 5 columns, scale 2", grayImages(10, 28, 28), 10, 1, 28, 28, 5, 2,
			5*56 + 6*2, 2*56 + 3*2, 7, 3, 5, gray(grayValue(7, 3, 5))},
		{"last image of a ragged last row", grayImages(7, 5, 6), 7, 1, 5, 6, 3, 1,
			3*6 + 4*2, 3*5 + 4*2, 6, 4, 5, gray(grayValue(6, 4, 5))},
		{"fewer images than columns narrows the grid", grayImages(3, 5, 6), 3, 1, 5, 6, 8, 3,
			3*18 + 4*2, 15 + 2*2, 2, 0, 0, gray(grayValue(2, 0, 0))},
		{"RGB channels from their planes", rgb, 2, 3, 4, 4, 2, 3,
			2*12 + 3*2, 12 + 2*2, 1, 2, 3, color.RGBA{100 + 11, 150 + 11, 200 + 11, 255}},
		{"no images: small blank image", nil, 0, 1, 28, 28, 5, 2,
			4 * gridGap, 4 * gridGap, -1, 0, 0, gray(255)},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "grid.png")
			if err := Grid(path, tc.pixels, tc.n, tc.c, tc.h, tc.w, tc.cols, tc.sc); err != nil {
				t.Fatal(err)
			}
			img := decodePNG(t, path, 1, 1)
			onlyFile(t, dir, "grid.png")
			if b := img.Bounds(); b.Dx() != tc.wantW || b.Dy() != tc.wantH {
				t.Fatalf("size %dx%d, want %dx%d", b.Dx(), b.Dy(), tc.wantW, tc.wantH)
			}
			// The corner is always gap or border: white.
			if got := rgba(img.At(0, 0)); got != gray(255) {
				t.Errorf("corner %v, want white", got)
			}
			if tc.img < 0 {
				return
			}
			cols := min(tc.n, tc.cols)
			x0 := gridGap + (tc.img%cols)*(tc.w*tc.sc+gridGap)
			y0 := gridGap + (tc.img/cols)*(tc.h*tc.sc+gridGap)
			// Every output pixel of the scaled-up source pixel has its value.
			for dy := 0; dy < tc.sc; dy++ {
				for dx := 0; dx < tc.sc; dx++ {
					px, py := x0+tc.x*tc.sc+dx, y0+tc.y*tc.sc+dy
					if got := rgba(img.At(px, py)); got != tc.want {
						t.Fatalf("pixel (%d,%d) = %v, want %v", px, py, got, tc.want)
					}
				}
			}
			// The gap left of the image is white.
			if got := rgba(img.At(x0-1, y0)); got != gray(255) {
				t.Errorf("gap pixel (%d,%d) = %v, want white", x0-1, y0, got)
			}
		})
	}
}

func TestGridClamp(t *testing.T) {
	path := filepath.Join(t.TempDir(), "g.png")
	if err := Grid(path, []float32{-1, 2, float32(math.NaN()), 0.5}, 1, 1, 2, 2, 1, 1); err != nil {
		t.Fatal(err)
	}
	img := decodePNG(t, path, 6, 6)
	for i, want := range []uint8{0, 255, 0, 128} {
		if got := rgba(img.At(gridGap+i%2, gridGap+i/2)); got != gray(want) {
			t.Errorf("value %d drawn as %v, want gray %d", i, got, want)
		}
	}
}

func TestGridRejectBadInput(t *testing.T) {
	px := grayImages(4, 3, 3)
	tests := []struct {
		desc                 string
		path                 string
		pixels               []float32
		n, c, h, w, cols, sc int
		want                 string
	}{
		{"zero columns", "g.png", px, 4, 1, 3, 3, 0, 1, "cols"},
		{"negative columns", "g.png", px, 4, 1, 3, 3, -2, 1, "cols"},
		{"zero scale", "g.png", px, 4, 1, 3, 3, 2, 0, "scale"},
		{"two channels", "g.png", px, 2, 2, 3, 3, 2, 1, "c ="},
		{"zero height", "g.png", px, 4, 1, 0, 3, 2, 1, "h ="},
		{"zero width", "g.png", px, 4, 1, 3, 0, 2, 1, "w ="},
		{"negative n", "g.png", px, -1, 1, 3, 3, 2, 1, "n ="},
		{"pixels short by one", "g.png", px[:35], 4, 1, 3, 3, 2, 1, "pixels"},
		{"pixels for five images, n four", "g.png", grayImages(5, 3, 3), 4, 1, 3, 3, 2, 1, "pixels"},
		{"gray pixels read as RGB", "g.png", px, 4, 3, 3, 3, 2, 1, "pixels"},
		{"n zero with pixels", "g.png", px, 0, 1, 3, 3, 2, 1, "pixels"},
		{"empty path", "", px, 4, 1, 3, 3, 2, 1, "path"},
		{"absurdly large", "g.png", px, 4, 1, 3, 3, 2, 1 << 20, "too large"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			dir := t.TempDir()
			path := tc.path
			if path != "" {
				path = filepath.Join(dir, path)
			}
			err := Grid(path, tc.pixels, tc.n, tc.c, tc.h, tc.w, tc.cols, tc.sc)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not name %q", err, tc.want)
			}
			onlyFile(t, dir, "")
		})
	}
}

func gray(v uint8) color.RGBA { return color.RGBA{v, v, v, 255} }

func rgba(c color.Color) color.RGBA {
	r, g, b, a := c.RGBA()
	return color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), uint8(a >> 8)}
}
