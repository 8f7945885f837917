package report

import (
	"image"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

const (
	dpi    = 120
	margin = vg.Length(8)
)

// figure lays a plot out beside its legend. gonum draws a legend inside the
// data area, where it covers lines and bars; here it gets its own column on
// the right, top-aligned with the data area.
type figure struct {
	p      *plot.Plot
	legend plot.Legend
	// width and height are of the plot part; the legend column is added to
	// the width.
	width, height vg.Length
	// fit, when set, sees the data area before the plot is drawn, so
	// plotters sized in canvas units (bars) can be fitted to it.
	fit func(data draw.Canvas)
}

func newFigure(title, xLabel, yLabel string) *figure {
	p := plot.New()
	p.Title.Text = title
	p.Title.Padding = vg.Points(6)
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	leg := plot.NewLegend()
	leg.Top = true
	leg.Left = true
	leg.Padding = vg.Points(3)
	leg.ThumbnailWidth = vg.Points(28)
	return &figure{p: p, legend: leg, width: 6.5 * vg.Inch, height: 4.5 * vg.Inch}
}

func (f *figure) render() image.Image {
	r := f.legend.Rectangle(draw.Canvas{})
	legendW := r.Max.X - r.Min.X
	if legendW > 0 {
		legendW += 2 * margin
	}
	// A long legend (many classes) makes the figure taller rather than
	// running off the bottom; the allowance covers title and x axis.
	f.height = max(f.height, r.Max.Y-r.Min.Y+1.3*vg.Inch)
	c := vgimg.NewWith(
		vgimg.UseWH(f.width+legendW, f.height),
		vgimg.UseDPI(dpi),
		vgimg.UseBackgroundColor(color.White),
	)
	dc := draw.New(c)
	plotC := draw.Crop(dc, margin, -legendW-margin, margin, -margin)
	data := f.p.DataCanvas(plotC)
	if f.fit != nil {
		f.fit(data)
	}
	f.p.Draw(plotC)
	if legendW > 0 {
		legC := draw.Canvas{Canvas: dc.Canvas, Rectangle: vg.Rectangle{
			Min: vg.Point{X: plotC.Max.X + margin, Y: data.Min.Y},
			Max: vg.Point{X: dc.Max.X - margin, Y: data.Max.Y},
		}}
		f.legend.Draw(legC)
	}
	return c.Image()
}

// palette is matplotlib's tab10: ten hues that stay distinct for the ten
// classes of the usual benchmarks.
var palette = []color.Color{
	color.RGBA{0x1f, 0x77, 0xb4, 0xff},
	color.RGBA{0xff, 0x7f, 0x0e, 0xff},
	color.RGBA{0x2c, 0xa0, 0x2c, 0xff},
	color.RGBA{0xd6, 0x27, 0x28, 0xff},
	color.RGBA{0x94, 0x67, 0xbd, 0xff},
	color.RGBA{0x8c, 0x56, 0x4b, 0xff},
	color.RGBA{0xe3, 0x77, 0xc2, 0xff},
	color.RGBA{0x7f, 0x7f, 0x7f, 0xff},
	color.RGBA{0xbc, 0xbd, 0x22, 0xff},
	color.RGBA{0x17, 0xbe, 0xcf, 0xff},
}

// dashes cycle on a different period than the colours, so lines that lie
// on top of each other (many classes at recall 1.0) still tell apart, and
// more than ten series stay distinct.
var dashes = [][]vg.Length{
	nil,
	{vg.Points(6), vg.Points(3)},
	{vg.Points(2), vg.Points(2)},
	{vg.Points(8), vg.Points(3), vg.Points(2), vg.Points(3)},
}

func seriesColor(i int) color.Color { return palette[i%len(palette)] }

func seriesLine(i int) draw.LineStyle {
	return draw.LineStyle{
		Color:  seriesColor(i),
		Width:  vg.Points(1.6),
		Dashes: dashes[i%len(dashes)],
	}
}
