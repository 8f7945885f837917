package generate

import (
	"fmt"
	"math/rand/v2"

	"github.com/gam-native/gam-native/data"
)

// RealPool is the training set that Config.ConditionContent = "real" draws a conditioned target's
// content from: every image of each class, by index.
type RealPool struct {
	ds      *data.Dataset
	byClass [][]int
}

// NewRealPool indexes ds by class.
func NewRealPool(ds *data.Dataset) *RealPool {
	p := &RealPool{ds: ds, byClass: make([][]int, len(ds.ClassNames))}
	for i, l := range ds.Labels {
		if int(l) >= 0 && int(l) < len(p.byClass) {
			p.byClass[l] = append(p.byClass[l], i)
		}
	}
	return p
}

// Count is the number of real images of class c (0 for a nil pool).
func (p *RealPool) Count(c int) int {
	if p == nil || c < 0 || c >= len(p.byClass) {
		return 0
	}
	return len(p.byClass[c])
}

// Draw picks n images of class c uniformly at random (with replacement: a quota may exceed the
// class's count, and each copy gets its own severity) and returns their pixels (n*C*H*W) and
// where each came from ("real:" and the image's ref, or its index when the set has no refs).
func (p *RealPool) Draw(rng *rand.Rand, c, n int) ([]float32, []string) {
	sz := p.ds.C * p.ds.H * p.ds.W
	px := make([]float32, 0, n*sz)
	refs := make([]string, n)
	idx := p.byClass[c]
	for j := range refs {
		i := idx[rng.IntN(len(idx))]
		px = append(px, p.ds.Images[i*sz:(i+1)*sz]...)
		refs[j] = "real:" + imageRef(p.ds, i)
	}
	return px, refs
}

// imageRef names image i of ds in a record's provenance: its ref, or "#i" when the set has none.
func imageRef(ds *data.Dataset, i int) string {
	if r := ds.RefOf(i); r != "" {
		return r
	}
	return fmt.Sprintf("#%d", i)
}
