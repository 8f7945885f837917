package report

import (
	"math"
	"sort"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// maxMarkedPoints is the most points per line that still get a marker at
// each round; beyond it markers clutter more than they help.
const maxMarkedPoints = 25

// RecallPlot draws each class's validation recall over the rounds of the
// loop as one line per class. recallPerRound[r][c] is class c's recall after
// round r, round 0 being before any augmentation; a NaN (a class without
// validation samples) leaves a gap in that class's line. The y axis is
// [0,1].
func RecallPlot(path string, classNames []string, recallPerRound [][]float64, title string) error {
	const fn = "RecallPlot"
	if path == "" {
		return argErr(fn, "path is empty")
	}
	if err := checkNames(fn, "classNames", classNames); err != nil {
		return err
	}
	if len(recallPerRound) == 0 {
		return argErr(fn, "recallPerRound is empty")
	}
	if err := checkMatrix(fn, "recallPerRound", recallPerRound, len(recallPerRound), len(classNames), true, true); err != nil {
		return err
	}
	series := make([][]float64, len(classNames))
	for c := range classNames {
		series[c] = make([]float64, len(recallPerRound))
		for r, row := range recallPerRound {
			series[c][r] = row[c]
		}
	}
	f, err := lineFigure(title, "round", "recall", classNames, series)
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

// SummaryPlot draws summary metrics (balanced accuracy, macro-F1,
// worst-class recall, ...) over rounds, one line per key of series, drawn
// and listed in sorted key order so the file is the same on every run.
// Series may differ in length; NaN leaves a gap. The y axis is [0,1] when
// every value lies in it, and fitted to the data otherwise.
func SummaryPlot(path string, series map[string][]float64, title string) error {
	const fn = "SummaryPlot"
	if path == "" {
		return argErr(fn, "path is empty")
	}
	if len(series) == 0 {
		return argErr(fn, "series is empty")
	}
	names := make([]string, 0, len(series))
	for k := range series {
		names = append(names, k)
	}
	sort.Strings(names)
	ys := make([][]float64, len(names))
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, k := range names {
		v := series[k]
		if len(v) == 0 {
			return argErr(fn, "series[%q] is empty", k)
		}
		for r, x := range v {
			if err := checkValue(x, true, false); err != nil {
				return argErr(fn, "series[%q][%d] %v", k, r, err)
			}
			if !math.IsNaN(x) {
				lo, hi = math.Min(lo, x), math.Max(hi, x)
			}
		}
		ys[i] = v
	}
	f, err := lineFigure(title, "round", "", names, ys)
	if err != nil {
		return argErr(fn, "%v", err)
	}
	switch {
	case math.IsInf(lo, 1): // all NaN: an empty [0,1] frame
		f.p.Y.Min, f.p.Y.Max = 0, 1
		f.p.Y.Tick.Marker = unitTicks{}
	case lo >= 0 && hi <= 1:
		f.p.Y.Min, f.p.Y.Max = 0, 1
		f.p.Y.Tick.Marker = unitTicks{}
	default:
		pad := 0.05 * (hi - lo)
		if pad == 0 {
			pad = 0.5
		}
		f.p.Y.Min, f.p.Y.Max = lo-pad, hi+pad
		f.p.Y.Tick.Marker = niceTicks{}
	}
	if err := writePNG(path, f.render()); err != nil {
		return argErr(fn, "%v", err)
	}
	return nil
}

// lineFigure draws series[i] (x = index) as a line named names[i]. The
// caller sets the y range.
func lineFigure(title, xLabel, yLabel string, names []string, series [][]float64) (*figure, error) {
	f := newFigure(title, xLabel, yLabel)
	grid := plotter.NewGrid()
	grid.Vertical.Color = nil
	f.p.Add(grid)
	rounds := 0
	for i, ys := range series {
		rounds = max(rounds, len(ys))
		ls := seriesLine(i)
		gs := draw.GlyphStyle{Color: seriesColor(i), Radius: vg.Points(2.5), Shape: plotutil.Shape(i)}
		marked := len(ys) <= maxMarkedPoints
		for _, seg := range segments(ys) {
			if len(seg) > 1 {
				l, err := plotter.NewLine(seg)
				if err != nil {
					return nil, err
				}
				l.LineStyle = ls
				f.p.Add(l)
			}
			if marked || len(seg) == 1 {
				s, err := plotter.NewScatter(seg)
				if err != nil {
					return nil, err
				}
				s.GlyphStyle = gs
				f.p.Add(s)
			}
		}
		thumbs := []plot.Thumbnailer{&plotter.Line{LineStyle: ls}}
		if marked {
			thumbs = append(thumbs, &plotter.Scatter{GlyphStyle: gs})
		}
		f.legend.Add(names[i], thumbs...)
	}
	f.p.X.Tick.Marker = roundTicks{}
	f.p.X.Min, f.p.X.Max = 0, float64(max(1, rounds-1))
	return f, nil
}

// segments splits ys at NaNs into runs of points, x being the index in ys.
func segments(ys []float64) []plotter.XYs {
	var out []plotter.XYs
	var cur plotter.XYs
	for i, y := range ys {
		if math.IsNaN(y) {
			if len(cur) > 0 {
				out = append(out, cur)
				cur = nil
			}
			continue
		}
		cur = append(cur, plotter.XY{X: float64(i), Y: y})
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// roundTicks puts ticks on whole rounds only, at most about ten of them.
type roundTicks struct{}

func (roundTicks) Ticks(lo, hi float64) []plot.Tick {
	first, last := math.Ceil(lo), math.Floor(hi)
	step := roundStep(last - first)
	var ticks []plot.Tick
	for v := math.Ceil(first/step) * step; v <= last; v += step {
		ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', -1, 64)})
	}
	return ticks
}

// roundStep is the smallest of 1, 2, 5, 10, 20, 50, ... that cuts span into
// at most ten steps.
func roundStep(span float64) float64 {
	return max(1, niceStep(span, 10))
}

// niceStep is the smallest of ..., 0.1, 0.2, 0.5, 1, 2, 5, 10, ... that cuts
// span into at most maxSteps steps.
func niceStep(span float64, maxSteps int) float64 {
	if !(span > 0) || math.IsInf(span, 0) {
		return 1
	}
	base := math.Pow(10, math.Floor(math.Log10(span/float64(maxSteps))))
	for {
		for _, m := range []float64{1, 2, 5} {
			if span/(base*m) <= float64(maxSteps) {
				return base * m
			}
		}
		base *= 10
	}
}

// niceTicks labels an arbitrary range every 1, 2 or 5 times a power of ten,
// at most eight labels; gonum's default gives as few as three.
type niceTicks struct{}

func (niceTicks) Ticks(lo, hi float64) []plot.Tick {
	step := niceStep(hi-lo, 8)
	prec := max(0, -int(math.Floor(math.Log10(step)+1e-9)))
	var ticks []plot.Tick
	for k := math.Ceil(lo / step); k*step <= hi+step*1e-9; k++ {
		v := k * step
		if v == 0 {
			v = 0 // no "-0"
		}
		ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', prec, 64)})
	}
	return ticks
}

// unitTicks labels a [0,1] axis every 0.2 with minor ticks between, finer
// than gonum's default of 0, 0.5 and 1.
type unitTicks struct{}

func (unitTicks) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	for i := 0; i <= 10; i++ {
		v := float64(i) / 10
		if v < lo || v > hi {
			continue
		}
		t := plot.Tick{Value: v}
		if i%2 == 0 {
			t.Label = strconv.FormatFloat(v, 'f', 1, 64)
		}
		ticks = append(ticks, t)
	}
	return ticks
}
