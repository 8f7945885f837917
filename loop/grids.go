package loop

import (
	"path/filepath"
	"regexp"

	"github.com/gam-native/gam-native/generate"
	"github.com/gam-native/gam-native/report"
)

// gridSink passes candidates on and keeps the first few accepted images of each target for a
// sample grid, so people can look at what each target produced.
type gridSink struct {
	next   generate.Sink
	keep   int
	order  []string
	pixels map[string][]float32
	counts map[string]int
}

func newGridSink(next generate.Sink, keep int) *gridSink {
	return &gridSink{next: next, keep: keep, pixels: map[string][]float32{}, counts: map[string]int{}}
}

func (g *gridSink) Accept(c *generate.Candidate) error {
	if err := g.next.Accept(c); err != nil {
		return err
	}
	g.remember(c.Target.ID, c.Pixels)
	return nil
}

// remember keeps px for target id's grid if it has room (a sharded round's merged images go
// straight here).
func (g *gridSink) remember(id string, px []float32) {
	if _, ok := g.counts[id]; !ok {
		g.order = append(g.order, id)
	}
	if g.counts[id] < g.keep {
		g.pixels[id] = append(g.pixels[id], px...)
		g.counts[id]++
	}
}

func (g *gridSink) Pend(c *generate.Candidate) error { return g.next.Pend(c) }
func (g *gridSink) Flush() error                     { return g.next.Flush() }

var fileSafe = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// write puts one grid_<target>.png per target into dir, labelled with the target (its class, and
// segment if it has one).
func (g *gridSink) write(dir string, c, h, w int) error {
	for _, id := range g.order {
		p := filepath.Join(dir, "grid_"+fileSafe.ReplaceAllString(id, "-")+".png")
		row := []report.GridRow{{Label: id, Pixels: g.pixels[id], N: g.counts[id]}}
		if err := report.LabeledGrid(p, row, c, h, w, 8, 2); err != nil {
			return err
		}
	}
	return nil
}
