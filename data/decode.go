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

	xdraw "golang.org/x/image/draw"
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
func decodeImageFile(path string) (pixels, error) { return decodeImageFileSized(path, 0, 0) }

// decodeImageFileSized is decodeImageFile resized to h x w (Catmull-Rom, ResizeMethod) when its
// size differs; h = 0 keeps every image's own size.
func decodeImageFileSized(path string, h, w int) (pixels, error) {
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
	img = grayIfGrayPalette(img)
	if h > 0 && (img.Bounds().Dx() != w || img.Bounds().Dy() != h) {
		img = resize(img, h, w)
	}
	return toPixels(img), nil
}

// ResizeMethod names the filter that resizes images of another size than the data set's.
const ResizeMethod = "Catmull-Rom (golang.org/x/image/draw)"

// resize scales img to h x w with Catmull-Rom, keeping grayscale images grayscale. Alpha is
// dropped afterwards, as for images of the right size.
func resize(img image.Image, h, w int) image.Image {
	var dst xdraw.Image
	switch img.(type) {
	case *image.Gray, *image.Gray16:
		dst = image.NewGray(image.Rect(0, 0, w, h))
	default:
		dst = image.NewNRGBA(image.Rect(0, 0, w, h))
	}
	xdraw.CatmullRom.Scale(dst, dst.Bounds(), img, img.Bounds(), xdraw.Src, nil)
	return dst
}

// grayIfGrayPalette turns a palette image whose colours are all gray into a Gray one, so that
// a grayscale set saved with a palette stays one channel; other images are returned as they are.
func grayIfGrayPalette(img image.Image) image.Image {
	m, ok := img.(*image.Paletted)
	if !ok {
		return img
	}
	lut := make([]uint8, len(m.Palette))
	for i, c := range m.Palette {
		n := color.NRGBAModel.Convert(c).(color.NRGBA)
		if n.R != n.G || n.G != n.B {
			return img
		}
		lut[i] = n.R
	}
	r := m.Bounds()
	g := image.NewGray(image.Rect(0, 0, r.Dx(), r.Dy()))
	for y := range r.Dy() {
		for x := range r.Dx() {
			g.Pix[y*g.Stride+x] = lut[m.Pix[y*m.Stride+x]]
		}
	}
	return g
}

// imageSize reads only the header of a PNG or JPEG: its width and height.
func imageSize(path string) (w, h int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	cfg, _, err := image.DecodeConfig(f)
	if err != nil {
		ext := strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), ".")
		return 0, 0, fmt.Errorf("%s: not a readable %s image: %w", path, ext, err)
	}
	return cfg.Width, cfg.Height, nil
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
func decodeAll(paths []string) ([]pixels, int, error) { return decodeAllSized(paths, 0, 0) }

// decodeAllSized is decodeAll with every image resized to h x w (h = 0: none resized).
func decodeAllSized(paths []string, h, w int) ([]pixels, int, error) {
	out := make([]pixels, len(paths))
	errs := make([]error, len(paths))
	var wg sync.WaitGroup
	next := make(chan int, runtime.GOMAXPROCS(0))
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				out[i], errs[i] = decodeImageFileSized(paths[i], h, w)
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
