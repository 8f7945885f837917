package report

import (
	"image"
	"path/filepath"
	"strings"
	"testing"
)

func TestLabeledGrid(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "samples.png")
	rows := []GridRow{
		{Label: "T-shirt/top", Pixels: grayImages(3, 5, 6), N: 3},
		{Label: "Ankle boot", Pixels: nil, N: 0},
		{Label: "Bag", Pixels: grayImages(5, 5, 6), N: 5},
	}
	const cols, sc = 4, 2
	if err := LabeledGrid(path, rows, 1, 5, 6, cols, sc); err != nil {
		t.Fatal(err)
	}
	img := decodePNG(t, path, 1, 1)
	onlyFile(t, dir, "samples.png")
	if _, ok := img.(*image.Gray); !ok {
		t.Errorf("gray images drawn as %T, want a gray PNG", img)
	}
	cellW, cellH := 6*sc, 5*sc
	// Lines: 1 + 1 (an empty row keeps one) + 2 (5 images over 4 columns).
	wantH := 4*(cellH+gridGap) + 2*rowGap + gridGap
	b := img.Bounds()
	if b.Dy() != wantH {
		t.Fatalf("height %d, want %d", b.Dy(), wantH)
	}
	labelW := b.Dx() - (cols*cellW + (cols+1)*gridGap)
	if labelW < 2*labelPad+20 {
		t.Fatalf("label column %d pixels wide: too narrow for %q", labelW, rows[0].Label)
	}
	// Each label draws dark pixels in the label column beside its row's first line.
	y0 := []int{gridGap, gridGap + cellH + gridGap + rowGap, gridGap + 2*(cellH+gridGap+rowGap)}
	for i, y := range y0 {
		dark := 0
		for yy := y; yy < y+cellH; yy++ {
			for x := 0; x < labelW; x++ {
				if rgba(img.At(x, yy)).R < 128 {
					dark++
				}
			}
		}
		if dark == 0 {
			t.Errorf("row %d (%q): no label drawn", i, rows[i].Label)
		}
	}
	// The last image of the wrapped row starts its second line.
	x0 := labelW + gridGap
	y1 := y0[2] + cellH + gridGap
	for dy := 0; dy < sc; dy++ {
		for dx := 0; dx < sc; dx++ {
			if got, want := rgba(img.At(x0+5*sc+dx, y1+4*sc+dy)), gray(grayValue(4, 4, 5)); got != want {
				t.Fatalf("image 4 of row 2 pixel (4,5): %v, want %v", got, want)
			}
		}
	}
	// The empty row's line has no image.
	if got := rgba(img.At(labelW+gridGap+1, y0[1]+1)); got != gray(255) {
		t.Errorf("empty row drawn %v, want white", got)
	}
}

func TestLabeledGridRGB(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rgb.png")
	px := make([]float32, 3*2*2)
	for i := range 4 {
		px[i], px[4+i], px[8+i] = 1, 0.5, 0
	}
	if err := LabeledGrid(path, []GridRow{{Label: "x", Pixels: px, N: 1}}, 3, 2, 2, 8, 1); err != nil {
		t.Fatal(err)
	}
	img := decodePNG(t, path, 1, 1)
	b := img.Bounds()
	if got := rgba(img.At(b.Max.X-gridGap-1, gridGap)); got.R != 255 || got.G != 128 || got.B != 0 {
		t.Errorf("RGB pixel %v, want (255,128,0)", got)
	}
}

func TestLabeledGridRejectBadInput(t *testing.T) {
	ok := []GridRow{{Label: "a", Pixels: grayImages(2, 3, 3), N: 2}}
	for _, tc := range []struct {
		desc                 string
		path                 string
		rows                 []GridRow
		c, h, w, cols, scale int
		want                 string
	}{
		{"empty path", "", ok, 1, 3, 3, 2, 1, "path"},
		{"two channels", "g.png", ok, 2, 3, 3, 2, 1, "c ="},
		{"zero columns", "g.png", ok, 1, 3, 3, 0, 1, "cols"},
		{"zero scale", "g.png", ok, 1, 3, 3, 2, 0, "scale"},
		{"zero height", "g.png", ok, 1, 0, 3, 2, 1, "h ="},
		{"pixels short", "g.png", []GridRow{{Label: "a", Pixels: grayImages(2, 3, 3)[:17], N: 2}}, 1, 3, 3, 2, 1, "rows[0]"},
		{"negative n", "g.png", []GridRow{{Label: "a", N: -1}}, 1, 3, 3, 2, 1, "negative"},
		{"absurdly large", "g.png", ok, 1, 3, 3, 2, 1 << 20, "too large"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			dir := t.TempDir()
			p := tc.path
			if p != "" {
				p = filepath.Join(dir, p)
			}
			err := LabeledGrid(p, tc.rows, tc.c, tc.h, tc.w, tc.cols, tc.scale)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one naming %q", err, tc.want)
			}
			onlyFile(t, dir, "")
		})
	}
}
