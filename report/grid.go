package report

import (
	"image"
	"image/color"
	"image/draw"
)

const (
	gridGap = 2 // pixels between images and around the grid
	// maxGridPixels bounds the output so a wrong n or scale fails instead of
	// allocating gigabytes.
	maxGridPixels = 1 << 28
)

// Grid writes n images as a PNG grid, cols images per row (fewer columns
// when n < cols), each scaled up by the integer factor scale (nearest
// neighbour), with white gaps of 2 pixels between the images and around
// them. pixels holds the images in NCHW order as float32 in [0,1]: c == 1
// gives a grayscale PNG, c == 3 an RGB one; values outside [0,1] are clamped
// and NaN is drawn black. n == 0 writes a small blank image.
//
// The output is (cols'·w·scale + (cols'+1)·2) pixels wide and
// (rows·h·scale + (rows+1)·2) high, with cols' = min(n, cols) and
// rows = ceil(n/cols).
func Grid(path string, pixels []float32, n, c, h, w, cols int, scale int) error {
	const fn = "Grid"
	if n < 0 {
		return argErr(fn, "n = %d, negative", n)
	}
	if err := checkGridArgs(fn, path, c, h, w, cols, scale); err != nil {
		return err
	}
	if !sizeMatches(len(pixels), n, c, h, w) {
		return argErr(fn, "pixels has %d values, want n·c·h·w = %d·%d·%d·%d", len(pixels), n, c, h, w)
	}
	if n == 0 {
		if err := writePNG(path, blank(4*gridGap, 4*gridGap, c)); err != nil {
			return argErr(fn, "%v", err)
		}
		return nil
	}
	gc := min(n, cols)
	gr := (n + cols - 1) / cols
	cellW, cellH := int64(w)*int64(scale), int64(h)*int64(scale)
	outW := int64(gc)*cellW + int64(gc+1)*gridGap
	outH := int64(gr)*cellH + int64(gr+1)*gridGap
	if outW*outH > maxGridPixels {
		return argErr(fn, "grid of %dx%d pixels is too large (n=%d, cols=%d, scale=%d)", outW, outH, n, cols, scale)
	}
	img := blank(int(outW), int(outH), c)
	plane := h * w
	for i := 0; i < n; i++ {
		x0 := gridGap + (i%cols)*(int(cellW)+gridGap)
		y0 := gridGap + (i/cols)*(int(cellH)+gridGap)
		src := pixels[i*c*plane : (i+1)*c*plane]
		for y := 0; y < int(cellH); y++ {
			row := src[(y/scale)*w:]
			for x := 0; x < int(cellW); x++ {
				o := x / scale
				switch im := img.(type) {
				case *image.Gray:
					im.Pix[im.PixOffset(x0+x, y0+y)] = to8(row[o])
				case *image.RGBA:
					p := im.PixOffset(x0+x, y0+y)
					im.Pix[p] = to8(row[o])
					im.Pix[p+1] = to8(row[plane+o])
					im.Pix[p+2] = to8(row[2*plane+o])
				}
			}
		}
	}
	if err := writePNG(path, img); err != nil {
		return argErr(fn, "%v", err)
	}
	return nil
}

// sizeMatches reports whether total == n·c·h·w without overflowing: all
// factors are positive except n, so each divides total exactly.
func sizeMatches(total, n, c, h, w int) bool {
	if n == 0 || total == 0 {
		return n == 0 && total == 0
	}
	for _, f := range []int{n, c, h} {
		if total%f != 0 {
			return false
		}
		total /= f
	}
	return total == w
}

// blank is a white image, gray or opaque RGB to match the channels.
func blank(w, h, c int) draw.Image {
	r := image.Rect(0, 0, w, h)
	var img draw.Image
	if c == 1 {
		img = image.NewGray(r)
	} else {
		img = image.NewRGBA(r)
	}
	draw.Draw(img, r, image.NewUniform(color.White), image.Point{}, draw.Src)
	return img
}

// to8 maps [0,1] to 0..255, rounding to nearest.
func to8(v float32) uint8 {
	switch {
	case !(v > 0): // also NaN
		return 0
	case v >= 1:
		return 255
	}
	return uint8(v*255 + 0.5)
}

// checkGridArgs checks the arguments Grid and LabeledGrid share.
func checkGridArgs(fn, path string, c, h, w, cols, scale int) error {
	switch {
	case path == "":
		return argErr(fn, "path is empty")
	case c != 1 && c != 3:
		return argErr(fn, "c = %d, want 1 (gray) or 3 (RGB)", c)
	case h <= 0:
		return argErr(fn, "h = %d, want > 0", h)
	case w <= 0:
		return argErr(fn, "w = %d, want > 0", w)
	case cols <= 0:
		return argErr(fn, "cols = %d, want > 0", cols)
	case scale <= 0:
		return argErr(fn, "scale = %d, want > 0", scale)
	}
	return nil
}
