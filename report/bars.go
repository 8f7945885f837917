package report

import (
	"image/color"
	"math"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// BeforeAfterBars draws, for each class, its recall before (grey) and after
// (blue) augmentation side by side. before[c] and after[c] are class c's
// recalls, in [0,1].
func BeforeAfterBars(path string, classNames []string, before, after []float64, title string) error {
	const fn = "BeforeAfterBars"
	if path == "" {
		return argErr(fn, "path is empty")
	}
	if err := checkNames(fn, "classNames", classNames); err != nil {
		return err
	}
	if err := checkVector(fn, "before", before, len(classNames), true); err != nil {
		return err
	}
	if err := checkVector(fn, "after", after, len(classNames), true); err != nil {
		return err
	}
	f, err := barFigure(title, "recall", classNames, []string{"before", "after"},
		[]color.Color{color.RGBA{0xa0, 0xa0, 0xa0, 0xff}, palette[0]},
		[][]float64{before, after}, nil)
	if err != nil {
		return argErr(fn, "%v", err)
	}
	f.p.Y.Min, f.p.Y.Max = 0, 1
	f.p.Y.Tick.Marker = unitTicks{}
	if err := writePNG(path, f.render()); err != nil {
		return argErr(fn, "%v", err)
	}
	return nil
}

// MethodBars compares methods (ERM, oversampling, ..., GAM) on several
// metrics: one group of bars per metric, one bar per method at height
// mean[m][k] with an error bar of ± sd[m][k]. sd may be nil for no error
// bars. The y axis is [0,1] when every mean ± sd lies in it, and reaches
// further (always including 0) otherwise.
func MethodBars(path string, methods []string, metrics []string, mean, sd [][]float64, title string) error {
	const fn = "MethodBars"
	if path == "" {
		return argErr(fn, "path is empty")
	}
	if err := checkNames(fn, "methods", methods); err != nil {
		return err
	}
	if err := checkNames(fn, "metrics", metrics); err != nil {
		return err
	}
	if err := checkMatrix(fn, "mean", mean, len(methods), len(metrics), false, false); err != nil {
		return err
	}
	if sd != nil {
		if err := checkMatrix(fn, "sd", sd, len(methods), len(metrics), false, false); err != nil {
			return err
		}
		for m, row := range sd {
			for k, v := range row {
				if v < 0 {
					return argErr(fn, "sd[%d][%d] = %v, negative", m, k, v)
				}
			}
		}
	}
	colors := make([]color.Color, len(methods))
	for m := range methods {
		colors[m] = seriesColor(m)
	}
	f, err := barFigure(title, "", metrics, methods, colors, mean, sd)
	if err != nil {
		return argErr(fn, "%v", err)
	}
	lo, hi := 0.0, 1.0
	for m, row := range mean {
		for k, v := range row {
			e := 0.0
			if sd != nil {
				e = sd[m][k]
			}
			lo, hi = math.Min(lo, v-e), math.Max(hi, v+e)
		}
	}
	if lo < 0 || hi > 1 {
		pad := 0.05 * (hi - lo)
		if lo < 0 {
			lo -= pad
		}
		if hi > 1 {
			hi += pad
		}
	}
	f.p.Y.Min, f.p.Y.Max = lo, hi
	if lo == 0 && hi == 1 {
		f.p.Y.Tick.Marker = unitTicks{}
	} else {
		f.p.Y.Tick.Marker = niceTicks{}
	}
	if err := writePNG(path, f.render()); err != nil {
		return argErr(fn, "%v", err)
	}
	return nil
}

// barFigure draws values[s][g] as bar s of group g, with ± errs[s][g] when
// errs is not nil. Bar widths are in canvas units in gonum, so they are
// set from the data area once the layout is known. The caller sets the y
// range.
func barFigure(title, yLabel string, groups, series []string, colors []color.Color, values, errs [][]float64) (*figure, error) {
	f := newFigure(title, "", yLabel)
	nG, nS := len(groups), len(series)
	// Wide enough that bars stay at least a few points wide and labels of
	// ten classes fit; capped so a huge class list stays a sane image.
	perGroup := vg.Length(nS)*0.22*vg.Inch + 0.35*vg.Inch
	f.width = min(max(6.5*vg.Inch, vg.Length(nG)*perGroup+1.2*vg.Inch), 40*vg.Inch)

	grid := plotter.NewGrid()
	grid.Vertical.Color = nil
	f.p.Add(grid)
	f.p.NominalX(groups...)
	longest := vg.Length(0)
	for _, g := range groups {
		longest = max(longest, f.p.X.Tick.Label.Width(g))
	}
	if longest > 0.9*(f.width-1.2*vg.Inch)/vg.Length(nG) {
		f.p.X.Tick.Label.Rotation = math.Pi / 6
		f.p.X.Tick.Label.XAlign = draw.XRight
		f.p.X.Tick.Label.YAlign = draw.YCenter
	}

	bars := make([]*plotter.BarChart, nS)
	ebars := make([]*plotter.YErrorBars, nS)
	for s := range series {
		b, err := plotter.NewBarChart(plotter.Values(values[s]), 1)
		if err != nil {
			return nil, err
		}
		b.Color = colors[s]
		b.LineStyle.Width = vg.Points(0.5)
		f.p.Add(b)
		f.legend.Add(series[s], b)
		bars[s] = b
	}
	if errs != nil {
		for s := range series {
			pts := errPoints{XYs: make(plotter.XYs, nG), YErrors: make(plotter.YErrors, nG)}
			for g := range groups {
				pts.XYs[g] = plotter.XY{X: float64(g), Y: values[s][g]}
				pts.YErrors[g] = struct{ Low, High float64 }{errs[s][g], errs[s][g]}
			}
			eb, err := plotter.NewYErrorBars(pts)
			if err != nil {
				return nil, err
			}
			eb.LineStyle.Width = vg.Points(1)
			eb.CapWidth = vg.Points(4)
			f.p.Add(eb)
			ebars[s] = eb
		}
	}
	f.p.X.Min, f.p.X.Max = -0.5, float64(nG)-0.5
	f.fit = func(data draw.Canvas) {
		unit := (data.Max.X - data.Min.X) / vg.Length(nG)
		w := 0.8 * unit / vg.Length(nS)
		for s, b := range bars {
			b.Width = w
			b.Offset = (vg.Length(s) - vg.Length(nS-1)/2) * w
			if eb := ebars[s]; eb != nil {
				for g := range eb.XYs {
					eb.XYs[g].X = float64(g) + float64(b.Offset/unit)
				}
				eb.CapWidth = min(vg.Points(6), 0.6*w)
			}
		}
	}
	return f, nil
}

type errPoints struct {
	plotter.XYs
	plotter.YErrors
}
