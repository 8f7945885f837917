package data

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
)

// ShapeClasses are the classes of Shapes, in label order.
var ShapeClasses = []string{"circle", "square", "triangle", "cross", "ring"}

// Shapes is a synthetic data set for tests and examples: one filled shape per image (the class),
// of random size, place and colour, on a background of another random colour with a soft
// gradient. counts[k] images of class k (at most len(ShapeClasses) classes); c is 1 or 3.
// Deterministic for a seed.
func Shapes(counts []int, c, size int, seed uint64) (*Dataset, error) {
	if len(counts) == 0 || len(counts) > len(ShapeClasses) || (c != 1 && c != 3) || size < 8 {
		return nil, fmt.Errorf("shapes: want 1 to %d classes, 1 or 3 channels and a size of at least 8 (got %d, %d, %d)", len(ShapeClasses), len(counts), c, size)
	}
	n := 0
	for _, k := range counts {
		n += k
	}
	ds := &Dataset{Name: fmt.Sprintf("shapes%d", size), ClassNames: ShapeClasses[:len(counts)], C: c, H: size, W: size,
		Images: make([]float32, n*c*size*size), Labels: make([]int64, 0, n)}
	r := rand.New(rand.NewPCG(seed, 0x5ba9e5))
	i := 0
	for class, k := range counts {
		for range k {
			ds.Labels = append(ds.Labels, int64(class))
			drawShape(ds.Image(i), class, c, size, r)
			i++
		}
	}
	return ds, nil
}

func drawShape(dst []float32, class, c, size int, r *rand.Rand) {
	fg, bg := [3]float32{}, [3]float32{}
	for k := range 3 {
		fg[k], bg[k] = r.Float32(), r.Float32()
	}
	// Keep the shape visible: a light shape on a dark ground or the other way round, the colours
	// a third of each.
	l := 0.1 + 0.2*r.Float32()
	if r.IntN(2) == 0 {
		l = 0.7 + 0.2*r.Float32()
	}
	for k := range 3 {
		bg[k] = bg[k]*0.35 + l*0.65
		fg[k] = fg[k]*0.35 + (1-l)*0.65
	}
	s := float64(size)
	cx, cy := s*(0.4+0.2*r.Float64()), s*(0.4+0.2*r.Float64())
	rad := s * (0.24 + 0.1*r.Float64())
	gx, gy := r.Float64()-0.5, r.Float64()-0.5
	plane := size * size
	for y := range size {
		for x := range size {
			px, py := float64(x)+0.5-cx, float64(y)+0.5-cy
			in := false
			switch class {
			case 0: // circle
				in = px*px+py*py <= rad*rad
			case 1: // square
				in = math.Abs(px) <= rad*0.85 && math.Abs(py) <= rad*0.85
			case 2: // triangle, apex up
				in = py <= rad*0.8 && py >= -rad && math.Abs(px) <= (py+rad)*0.6
			case 3: // cross
				in = (math.Abs(px) <= rad*0.3 && math.Abs(py) <= rad) || (math.Abs(py) <= rad*0.3 && math.Abs(px) <= rad)
			default: // ring
				d := px*px + py*py
				in = d <= rad*rad && d >= rad*rad*0.4
			}
			shade := float32(0.12 * (gx*(float64(x)/s-0.5) + gy*(float64(y)/s-0.5)))
			col := bg
			if in {
				col = fg
			}
			if c == 1 {
				dst[y*size+x] = clamp01f(lum(col) + shade)
				continue
			}
			for k := range 3 {
				dst[k*plane+y*size+x] = clamp01f(col[k] + shade)
			}
		}
	}
}

func lum(c [3]float32) float32 { return 0.299*c[0] + 0.587*c[1] + 0.114*c[2] }

func clamp01f(v float32) float32 { return min(max(v, 0), 1) }

// WriteSplitFolder writes ds as an ImageFolder split, dir/<split>/<class>/<class>_NNNN.png
// (the layout `imagefolder:DIR` reads), one PNG per image: grayscale for one channel, RGB for
// three. For tests and examples; each file is written directly.
func WriteSplitFolder(dir, split string, ds *Dataset) error {
	for _, class := range ds.ClassNames {
		if err := os.MkdirAll(filepath.Join(dir, split, class), 0o755); err != nil {
			return err
		}
	}
	for i := range ds.Len() {
		b, err := EncodePNG(ds, i)
		if err != nil {
			return err
		}
		class := ds.ClassNames[ds.Labels[i]]
		if err := os.WriteFile(filepath.Join(dir, split, class, fmt.Sprintf("%s_%04d.png", class, i)), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
