package report

import (
	"image"
	"image/color"
	"image/draw"

	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/vgimg"
)

// GridRow is one labelled row of a LabeledGrid: N images, NCHW float32 in [0,1].
type GridRow struct {
	Label  string
	Pixels []float32
	N      int
}

const (
	labelPad  = 6  // pixels left and right of a row's label
	rowGap    = 6  // pixels between labelled rows
	labelSize = 12 // label font size in pixels (points at 72 dpi)
)

// labelFace is the sans-serif face the plots use for their text.
func labelFace() font.Face {
	return font.DefaultCache.Lookup(font.Font{Typeface: "Liberation", Variant: "Sans"}, vg.Length(labelSize))
}

// LabeledGrid writes rows of images as one PNG: each row's label on its left, in a column as wide
// as the longest label, then its images, cols to a line (a row with more wraps onto further
// lines; one with none keeps a blank line), each scaled up by scale (nearest neighbour). Images
// are gray for c == 1 and RGB for c == 3; values outside [0,1] are clamped and NaN is drawn
// black, as in Grid. No rows writes a small blank image.
func LabeledGrid(path string, rows []GridRow, c, h, w, cols, scale int) error {
	const fn = "LabeledGrid"
	if err := checkGridArgs(fn, path, c, h, w, cols, scale); err != nil {
		return err
	}
	for i, r := range rows {
		if r.N < 0 {
			return argErr(fn, "rows[%d] (%q): n = %d, negative", i, r.Label, r.N)
		}
		if !sizeMatches(len(r.Pixels), r.N, c, h, w) {
			return argErr(fn, "rows[%d] (%q): pixels has %d values, want n·c·h·w = %d·%d·%d·%d", i, r.Label, len(r.Pixels), r.N, c, h, w)
		}
	}
	if len(rows) == 0 {
		if err := writePNG(path, blank(4*gridGap, 4*gridGap, c)); err != nil {
			return argErr(fn, "%v", err)
		}
		return nil
	}
	face := labelFace()
	labelW := int64(0)
	maxN := 1
	lines := int64(0)
	for _, r := range rows {
		labelW = max(labelW, int64(face.Width(r.Label).Points()+0.999))
		maxN = max(maxN, r.N)
		lines += int64(max(1, (r.N+cols-1)/cols))
	}
	labelW += 2 * labelPad
	gc := int64(min(maxN, cols))
	cellW, cellH := int64(w)*int64(scale), int64(h)*int64(scale)
	outW := labelW + gc*cellW + (gc+1)*gridGap
	outH := lines*(cellH+gridGap) + int64(len(rows)-1)*rowGap + gridGap
	if outW*outH > maxGridPixels {
		return argErr(fn, "grid of %dx%d pixels is too large (%d rows, cols=%d, scale=%d)", outW, outH, len(rows), cols, scale)
	}
	cv := vgimg.NewWith(vgimg.UseWH(vg.Length(outW), vg.Length(outH)), vgimg.UseDPI(72), vgimg.UseBackgroundColor(color.White))
	cv.SetColor(color.Black)
	ext := face.Extents()
	img := cv.Image()
	plane := h * w
	y0 := int64(gridGap)
	for _, r := range rows {
		// The label's baseline centres its capitals on the row's first line.
		base := y0 + cellH/2 + int64((ext.Ascent.Points()-ext.Descent.Points())/2)
		cv.FillString(face, vg.Point{X: labelPad, Y: vg.Length(outH - base)}, r.Label)
		for i := 0; i < r.N; i++ {
			x := int(labelW) + gridGap + (i%cols)*(int(cellW)+gridGap)
			y := int(y0) + (i/cols)*(int(cellH)+gridGap)
			src := r.Pixels[i*c*plane : (i+1)*c*plane]
			for dy := 0; dy < int(cellH); dy++ {
				row := src[(dy/scale)*w:]
				for dx := 0; dx < int(cellW); dx++ {
					o := dx / scale
					v := to8(row[o])
					px := color.RGBA{v, v, v, 255}
					if c == 3 {
						px.G, px.B = to8(row[plane+o]), to8(row[2*plane+o])
					}
					img.Set(x+dx, y+dy, px)
				}
			}
		}
		y0 += int64(max(1, (r.N+cols-1)/cols))*(cellH+gridGap) + rowGap
	}
	var out image.Image = img
	if c == 1 {
		g := image.NewGray(img.Bounds())
		draw.Draw(g, g.Bounds(), img, img.Bounds().Min, draw.Src)
		out = g
	}
	if err := writePNG(path, out); err != nil {
		return argErr(fn, "%v", err)
	}
	return nil
}
