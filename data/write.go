package data

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"maps"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/gam-native/gam-native/internal/atomicfile"
)

// ManifestName is the manifest WriteImageFolder writes next to images/.
const ManifestName = "manifest.jsonl"

// WriteImageFolder writes ds as dir/manifest.jsonl plus a PNG under
// dir/images/<class>/ for each image that has to be stored: generated
// images (record source "generated") and images with no known origin.
// Real images with an origin (ds.Refs or the record's ref) are referenced,
// not copied. recs may be nil, or give one record per image whose
// provenance, source, meta and path (for generated images) are kept;
// label, class and attrs come from ds.
//
// Everything is checked before the first write, so bad input writes
// nothing. Each file is replaced atomically and the manifest goes last: a
// run killed midway leaves the old manifest, perhaps beside new PNGs.
func WriteImageFolder(dir string, ds *Dataset, recs []Record) error {
	out, err := planWrite(dir, ds, recs)
	if err != nil {
		return err
	}
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	var pngs []int
	folders := map[string]bool{absDir: true}
	for i, r := range out {
		if r.Path != "" {
			pngs = append(pngs, i)
			folders[filepath.Dir(filepath.Join(absDir, filepath.FromSlash(r.Path)))] = true
		}
	}
	for f := range folders {
		if err := os.MkdirAll(f, 0o755); err != nil {
			return err
		}
	}
	if err := writePNGs(absDir, ds, out, pngs); err != nil {
		return err
	}
	for f := range folders {
		if err := atomicfile.SyncDir(f); err != nil {
			return err
		}
	}
	var buf bytes.Buffer
	for i := range out {
		line, err := out[i].MarshalLine()
		if err != nil {
			return fmt.Errorf("record %d: %w", i, err)
		}
		buf.Write(line)
	}
	return atomicfile.Write(filepath.Join(absDir, ManifestName), buf.Bytes())
}

// planWrite builds the output records and checks all of the input.
func planWrite(dir string, ds *Dataset, recs []Record) ([]Record, error) {
	if err := ds.Validate(); err != nil {
		return nil, err
	}
	if recs != nil && len(recs) != ds.Len() {
		return nil, fmt.Errorf("write %s: %d records for %d images", dir, len(recs), ds.Len())
	}
	if ds.Len() > 0 && ds.C != 1 && ds.C != 3 {
		return nil, fmt.Errorf("write %s: %d channels; PNG output needs 1 (gray) or 3 (RGB)", dir, ds.C)
	}
	for _, c := range ds.ClassNames {
		if c == "" || c == "." || c == ".." || strings.ContainsAny(c, `/\`) || strings.HasPrefix(c, ".") {
			return nil, fmt.Errorf("write %s: class name %q cannot be a folder name", dir, c)
		}
	}
	if dup := firstDuplicate(ds.ClassNames); dup != "" {
		return nil, fmt.Errorf("write %s: class %q appears twice", dir, dup)
	}
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	out := make([]Record, ds.Len())
	seen := map[string]int{}
	for i := range out {
		r := Record{V: ManifestVersion}
		if recs != nil {
			r = recs[i]
			r.V = ManifestVersion
			r.Attrs = maps.Clone(r.Attrs)
		}
		class := ds.ClassNames[ds.Labels[i]]
		if r.Class != "" && r.Class != class {
			return nil, fmt.Errorf("write %s: record %d says class %q, the dataset %q", dir, i, r.Class, class)
		}
		r.Label, r.Class = ds.Labels[i], class
		if ds.Attrs != nil {
			r.Attrs = attrsMap(ds.AttrsOf(i), r.Attrs)
		}
		origin := ds.RefOf(i)
		if origin == "" {
			origin = r.Ref
		}
		if r.Source != SourceGenerated && origin != "" {
			r.Path, r.Ref = "", refFrom(absDir, origin, r.Ref)
		} else if r.Path == "" {
			r.Path = fmt.Sprintf("images/%s/%06d.png", class, i)
		} else if path.Ext(r.Path) != ".png" {
			return nil, fmt.Errorf("write %s: record %d: path %q must end in .png", dir, i, r.Path)
		}
		if err := r.Validate(); err != nil {
			return nil, fmt.Errorf("write %s: record %d: %w", dir, i, err)
		}
		if r.Path != "" {
			if r.Path == ManifestName {
				return nil, fmt.Errorf("write %s: record %d: path %q is the manifest", dir, i, r.Path)
			}
			if j, ok := seen[r.Path]; ok {
				return nil, fmt.Errorf("write %s: records %d and %d both write %q", dir, j, i, r.Path)
			}
			seen[r.Path] = i
		}
		out[i] = r
	}
	return out, nil
}

// attrsMap lists the conditions present, plus any the record already named
// (an explicit 0 says "checked: absent"), so a read-write round trip keeps it.
func attrsMap(sev []float32, prev map[string]float32) map[string]float32 {
	var m map[string]float32
	for k, name := range AttrNames {
		if _, named := prev[name]; sev[k] != 0 || named {
			if m == nil {
				m = map[string]float32{}
			}
			m[name] = sev[k]
		}
	}
	return m
}

// refFrom writes origin as the record had it: relative to the manifest's
// folder when the old ref was relative, else absolute.
func refFrom(absDir, origin, old string) string {
	oldFile, oldIndex, _ := parseIDXRef(old)
	if old == "" || filepath.IsAbs(oldFile) || (oldIndex < 0 && filepath.IsAbs(old)) {
		return origin
	}
	file, index, _ := parseIDXRef(origin)
	if index < 0 {
		file = origin
	}
	rel, err := filepath.Rel(absDir, file)
	if err != nil {
		return origin
	}
	rel = filepath.ToSlash(rel)
	if index >= 0 {
		return fmt.Sprintf("idx:%s#%d", rel, index)
	}
	return rel
}

func writePNGs(absDir string, ds *Dataset, out []Record, which []int) error {
	errs := make([]error, len(which))
	next := make(chan int)
	var wg sync.WaitGroup
	// Mostly waiting on fsync, so more writers than cores.
	for range 2 * runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			var buf bytes.Buffer
			enc := png.Encoder{CompressionLevel: png.BestSpeed}
			for k := range next {
				i := which[k]
				buf.Reset()
				if errs[k] = enc.Encode(&buf, toImage(ds, i)); errs[k] != nil {
					continue
				}
				p := filepath.Join(absDir, filepath.FromSlash(out[i].Path))
				// Each folder is synced once after the batch, before the manifest names them.
				errs[k] = atomicfile.WriteSync(p, buf.Bytes(), atomicfile.SyncFile)
			}
		})
	}
	for k := range which {
		next <- k
	}
	close(next)
	wg.Wait()
	if i := slices.IndexFunc(errs, func(e error) bool { return e != nil }); i >= 0 {
		return errs[i]
	}
	return nil
}

func to8(v float32) uint8 {
	switch {
	case v >= 1:
		return 255
	case v > 0:
		return uint8(v*255 + 0.5)
	}
	return 0 // also NaN
}

func toImage(ds *Dataset, i int) image.Image {
	src, h, w := ds.Image(i), ds.H, ds.W
	if ds.C == 1 {
		m := image.NewGray(image.Rect(0, 0, w, h))
		for k, v := range src {
			m.Pix[k] = to8(v)
		}
		return m
	}
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	plane := h * w
	for k := range plane {
		m.Pix[4*k] = to8(src[k])
		m.Pix[4*k+1] = to8(src[plane+k])
		m.Pix[4*k+2] = to8(src[2*plane+k])
		m.Pix[4*k+3] = 255
	}
	return m
}
