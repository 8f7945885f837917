package data

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

// imageExts are the file types read; torchvision knows more (bmp, tiff,
// webp), which the standard library cannot decode.
var imageExts = map[string]bool{".png": true, ".jpg": true, ".jpeg": true}

// pixels is one decoded image: 1 channel when the file is grayscale, else 3.
type pixels struct {
	c, h, w int
	pix     []float32 // CHW in [0,1]
}

// decodeImageFile decodes a PNG or JPEG by content, checking that the
// extension and the content agree so that a renamed file is caught.
func decodeImageFile(path string) (pixels, error) {
	ext := strings.ToLower(filepath.Ext(path))
	if !imageExts[ext] {
		return pixels{}, fmt.Errorf("%s: not an image file (extension %q; want .png, .jpg or .jpeg)", path, ext)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return pixels{}, err
	}
	var img image.Image
	if ext == ".png" {
		img, err = png.Decode(bytes.NewReader(b))
	} else {
		img, err = jpeg.Decode(bytes.NewReader(b))
	}
	if err != nil {
		return pixels{}, fmt.Errorf("%s: not a readable %s image: %w", path, strings.TrimPrefix(ext, "."), err)
	}
	return toPixels(img), nil
}

// toPixels converts like PIL's convert("RGB") (alpha dropped, not
// composited), but keeps grayscale files at one channel.
func toPixels(img image.Image) pixels {
	r := img.Bounds()
	h, w := r.Dy(), r.Dx()
	switch m := img.(type) {
	case *image.Gray:
		p := pixels{1, h, w, make([]float32, h*w)}
		for y := range h {
			row := m.Pix[y*m.Stride : y*m.Stride+w]
			for x, v := range row {
				p.pix[y*w+x] = u8ToF32[v]
			}
		}
		return p
	case *image.Gray16:
		p := pixels{1, h, w, make([]float32, h*w)}
		for y := range h {
			for x := range w {
				p.pix[y*w+x] = float32(m.Gray16At(r.Min.X+x, r.Min.Y+y).Y) / 65535
			}
		}
		return p
	case *image.NRGBA:
		return fromInterleaved(m.Pix, m.Stride, h, w)
	}
	p := pixels{3, h, w, make([]float32, 3*h*w)}
	plane := h * w
	for y := range h {
		for x := range w {
			c := color.NRGBA64Model.Convert(img.At(r.Min.X+x, r.Min.Y+y)).(color.NRGBA64)
			i := y*w + x
			p.pix[i] = float32(c.R) / 65535
			p.pix[plane+i] = float32(c.G) / 65535
			p.pix[2*plane+i] = float32(c.B) / 65535
		}
	}
	return p
}

func fromInterleaved(pix []uint8, stride, h, w int) pixels {
	p := pixels{3, h, w, make([]float32, 3*h*w)}
	plane := h * w
	for y := range h {
		row := pix[y*stride : y*stride+4*w]
		for x := range w {
			i := y*w + x
			p.pix[i] = u8ToF32[row[4*x]]
			p.pix[plane+i] = u8ToF32[row[4*x+1]]
			p.pix[2*plane+i] = u8ToF32[row[4*x+2]]
		}
	}
	return p
}

// decodeAll decodes files in parallel; the error returned is the one of
// the lowest index (also returned), so a run reports the same file every time.
func decodeAll(paths []string) ([]pixels, int, error) {
	out := make([]pixels, len(paths))
	errs := make([]error, len(paths))
	var wg sync.WaitGroup
	next := make(chan int, runtime.GOMAXPROCS(0))
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				out[i], errs[i] = decodeImageFile(paths[i])
			}
		})
	}
	for i := range paths {
		next <- i
	}
	close(next)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, i, err
		}
	}
	return out, -1, nil
}

// stackPixels packs images of one size into NCHW; gray images are repeated
// over 3 channels when any image is in color. names[i] names image i in errors.
func stackPixels(imgs []pixels, names []string) (c, h, w int, out []float32, err error) {
	if len(imgs) == 0 {
		return 0, 0, 0, nil, nil
	}
	h, w, c = imgs[0].h, imgs[0].w, 1
	for i, p := range imgs {
		if p.h != h || p.w != w {
			return 0, 0, 0, nil, fmt.Errorf("%s: image is %dx%d (WxH), but %s is %dx%d; all images must share one size",
				names[i], p.w, p.h, names[0], w, h)
		}
		c = max(c, p.c)
	}
	size := c * h * w
	out = make([]float32, len(imgs)*size)
	for i, p := range imgs {
		dst := out[i*size : (i+1)*size]
		for k := 0; k < size; k += len(p.pix) {
			copy(dst[k:], p.pix)
		}
	}
	return c, h, w, out, nil
}
