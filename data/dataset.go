package data

import (
	"fmt"
	"slices"
)

// AttrNames is the fixed order of condition attributes (contract v1's names).
var AttrNames = []string{"blur", "shadow", "low_contrast", "noise"}

// NumAttrs is len(AttrNames): the stride of Dataset.Attrs.
const NumAttrs = 4

// AttrIndex returns the position of a condition in AttrNames, or -1.
func AttrIndex(name string) int { return slices.Index(AttrNames, name) }

// Dataset holds images in the layout the engine takes (NCHW float32), so a
// batch handed to the engine is a sub-slice, never a copy.
type Dataset struct {
	Name       string
	ClassNames []string
	C, H, W    int
	Images     []float32 // N*C*H*W, NCHW, values in [0,1]
	Labels     []int64   // N
	Attrs      []float32 // N*NumAttrs severities in [0,1] (0 = absent); nil when none known
	Refs       []string  // N, where each image came from; nil when unknown
	// Mix holds soft labels (a generated blend between two classes): image i's target is
	// 1-Mix[i].Weight on Labels[i] and Mix[i].Weight on class Mix[i].With. Nil when every label is
	// hard; a zero Weight is a hard label.
	Mix []Mix
}

// Mix is one image's soft label: Weight of it belongs to class With, the rest to its Label.
type Mix struct {
	With   int64
	Weight float32
}

// MixOf returns image i's soft label, the zero Mix (a hard label) when Mix is nil.
func (d *Dataset) MixOf(i int) Mix {
	if d.Mix == nil {
		return Mix{}
	}
	return d.Mix[i]
}

// Len is the number of images.
func (d *Dataset) Len() int { return len(d.Labels) }

// ImageSize is C*H*W, the number of floats per image.
func (d *Dataset) ImageSize() int { return d.C * d.H * d.W }

// Image returns image i as a sub-slice of Images (shared, not copied).
func (d *Dataset) Image(i int) []float32 {
	s := d.ImageSize()
	return d.Images[i*s : (i+1)*s : (i+1)*s]
}

// AttrsOf returns image i's severities (shared), or nil when Attrs is nil.
func (d *Dataset) AttrsOf(i int) []float32 {
	if d.Attrs == nil {
		return nil
	}
	return d.Attrs[i*NumAttrs : (i+1)*NumAttrs : (i+1)*NumAttrs]
}

// RefOf returns image i's origin, or "" when Refs is nil.
func (d *Dataset) RefOf(i int) string {
	if d.Refs == nil {
		return ""
	}
	return d.Refs[i]
}

// NumClasses is len(ClassNames).
func (d *Dataset) NumClasses() int { return len(d.ClassNames) }

// ClassCounts counts images per class; labels outside ClassNames are not counted.
func (d *Dataset) ClassCounts() []int {
	counts := make([]int, len(d.ClassNames))
	for _, l := range d.Labels {
		if l >= 0 && int(l) < len(counts) {
			counts[l]++
		}
	}
	return counts
}

// Validate checks that the slices agree with each other and with the shape.
func (d *Dataset) Validate() error {
	n := len(d.Labels)
	if d.C <= 0 || d.H <= 0 || d.W <= 0 {
		if n > 0 || d.C < 0 || d.H < 0 || d.W < 0 {
			return fmt.Errorf("dataset %q: bad image shape %dx%dx%d", d.Name, d.C, d.H, d.W)
		}
	}
	if len(d.Images) != n*d.ImageSize() {
		return fmt.Errorf("dataset %q: %d floats for %d images of %dx%dx%d (want %d)",
			d.Name, len(d.Images), n, d.C, d.H, d.W, n*d.ImageSize())
	}
	if d.Attrs != nil && len(d.Attrs) != n*NumAttrs {
		return fmt.Errorf("dataset %q: %d attribute values for %d images (want %d)", d.Name, len(d.Attrs), n, n*NumAttrs)
	}
	if d.Refs != nil && len(d.Refs) != n {
		return fmt.Errorf("dataset %q: %d refs for %d images", d.Name, len(d.Refs), n)
	}
	if d.Mix != nil && len(d.Mix) != n {
		return fmt.Errorf("dataset %q: %d soft labels for %d images", d.Name, len(d.Mix), n)
	}
	for i, l := range d.Labels {
		if l < 0 || (d.ClassNames != nil && int(l) >= len(d.ClassNames)) {
			return fmt.Errorf("dataset %q: image %d has label %d outside [0,%d)", d.Name, i, l, len(d.ClassNames))
		}
		if m := d.MixOf(i); m.Weight != 0 {
			if !(m.Weight > 0 && m.Weight < 1) || m.With < 0 || (d.ClassNames != nil && int(m.With) >= len(d.ClassNames)) || m.With == l {
				return fmt.Errorf("dataset %q: image %d has soft label %v of class %d: want a weight in (0,1) of another class in [0,%d)",
					d.Name, i, m.Weight, m.With, len(d.ClassNames))
			}
		}
	}
	return nil
}

// Subset copies the images at idx, in that order; duplicates are allowed
// (oversampling).
func (d *Dataset) Subset(idx []int) *Dataset {
	s := d.ImageSize()
	out := &Dataset{
		Name: d.Name, ClassNames: d.ClassNames, C: d.C, H: d.H, W: d.W,
		Images: make([]float32, len(idx)*s),
		Labels: make([]int64, len(idx)),
	}
	if d.Attrs != nil {
		out.Attrs = make([]float32, len(idx)*NumAttrs)
	}
	if d.Refs != nil {
		out.Refs = make([]string, len(idx))
	}
	if d.Mix != nil {
		out.Mix = make([]Mix, len(idx))
	}
	for j, i := range idx {
		copy(out.Images[j*s:(j+1)*s], d.Images[i*s:(i+1)*s])
		out.Labels[j] = d.Labels[i]
		if d.Attrs != nil {
			copy(out.Attrs[j*NumAttrs:(j+1)*NumAttrs], d.Attrs[i*NumAttrs:(i+1)*NumAttrs])
		}
		if d.Refs != nil {
			out.Refs[j] = d.Refs[i]
		}
		if d.Mix != nil {
			out.Mix[j] = d.Mix[i]
		}
	}
	return out
}

// Clone is a deep copy except for ClassNames, which datasets share.
func (d *Dataset) Clone() *Dataset {
	out := *d
	out.Images = slices.Clone(d.Images)
	out.Labels = slices.Clone(d.Labels)
	out.Attrs = slices.Clone(d.Attrs)
	out.Refs = slices.Clone(d.Refs)
	out.Mix = slices.Clone(d.Mix)
	return &out
}

// Concat joins datasets of one shape and one class list into a new one.
// Attrs (Refs, Mix) are kept when any part has them; parts without get zeros ("", hard labels).
func Concat(name string, parts ...*Dataset) (*Dataset, error) {
	if len(parts) == 0 {
		return nil, fmt.Errorf("concat %q: no datasets", name)
	}
	out := &Dataset{Name: name, ClassNames: parts[0].ClassNames, C: parts[0].C, H: parts[0].H, W: parts[0].W}
	// An empty part may carry no shape, so the first non-empty one sets it.
	if i := slices.IndexFunc(parts, func(p *Dataset) bool { return p.Len() > 0 }); i >= 0 {
		out.C, out.H, out.W = parts[i].C, parts[i].H, parts[i].W
	}
	n, withAttrs, withRefs, withMix := 0, false, false, false
	for _, p := range parts {
		if p.Len() > 0 && (p.C != out.C || p.H != out.H || p.W != out.W) {
			return nil, fmt.Errorf("concat %q: %q has images %dx%dx%d, want %dx%dx%d",
				name, p.Name, p.C, p.H, p.W, out.C, out.H, out.W)
		}
		if !slices.Equal(p.ClassNames, out.ClassNames) {
			return nil, fmt.Errorf("concat %q: %q has classes %v, want %v", name, p.Name, p.ClassNames, out.ClassNames)
		}
		n += p.Len()
		withAttrs = withAttrs || p.Attrs != nil
		withRefs = withRefs || p.Refs != nil
		withMix = withMix || p.Mix != nil
	}
	out.Images = make([]float32, 0, n*out.ImageSize())
	out.Labels = make([]int64, 0, n)
	if withAttrs {
		out.Attrs = make([]float32, 0, n*NumAttrs)
	}
	if withRefs {
		out.Refs = make([]string, 0, n)
	}
	if withMix {
		out.Mix = make([]Mix, 0, n)
	}
	for _, p := range parts {
		out.Images = append(out.Images, p.Images...)
		out.Labels = append(out.Labels, p.Labels...)
		if withAttrs {
			if p.Attrs != nil {
				out.Attrs = append(out.Attrs, p.Attrs...)
			} else {
				out.Attrs = append(out.Attrs, make([]float32, p.Len()*NumAttrs)...)
			}
		}
		if withRefs {
			if p.Refs != nil {
				out.Refs = append(out.Refs, p.Refs...)
			} else {
				out.Refs = append(out.Refs, make([]string, p.Len())...)
			}
		}
		if withMix {
			if p.Mix != nil {
				out.Mix = append(out.Mix, p.Mix...)
			} else {
				out.Mix = append(out.Mix, make([]Mix, p.Len())...)
			}
		}
	}
	return out, nil
}
