package data

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// maxLineBytes bounds one manifest line; real ones are a few hundred bytes.
const maxLineBytes = 1 << 20

// ReadManifestRecords parses a manifest without touching the images. Blank
// lines are skipped; any other bad line is an error naming file and line.
func ReadManifestRecords(path string) ([]Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	recs, _, err := scanManifest(path, f)
	return recs, err
}

// scanManifest also returns each record's line number, for later errors.
func scanManifest(name string, r io.Reader) ([]Record, []int, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLineBytes)
	var recs []Record
	var lines []int
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		rec, err := ParseManifestLine(line)
		if err != nil {
			return nil, nil, fmt.Errorf("%s:%d: %w", name, n, err)
		}
		recs = append(recs, rec)
		lines = append(lines, n)
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("%s: after line %d: %w", name, len(lines), err)
	}
	return recs, lines, nil
}

// ReadManifest reads a manifest and the images it names: "path" relative
// to the manifest's folder, else "ref" (idx:FILE#INDEX or an image file;
// relative ones also from the manifest's folder). With classNames nil the
// classes come from the records' (label, class) pairs. The records are
// returned as written, labels filled in from class names.
func ReadManifest(path string, classNames []string) (*Dataset, []Record, error) {
	ds, recs, _, err := ReadManifestWith(path, classNames, FolderOptions{})
	return ds, recs, err
}

// ReadManifestWith is ReadManifest with image files of other sizes resized as
// ReadImageFolderWith does (opts.Resize: to opts' size, else the most common one, IDX images
// counted at their size; IDX images themselves are never resized), and the account of sizes and
// modes. opts.Classes is not used (classNames is).
func ReadManifestWith(path string, classNames []string, opts FolderOptions) (*Dataset, []Record, *ImageInfo, error) {
	ds, recs, info, err := readManifest(path, classNames, opts)
	return ds, recs, info, err
}

func readManifest(path string, classNames []string, opts FolderOptions) (*Dataset, []Record, *ImageInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, nil, err
	}
	recs, lines, err := scanManifest(path, f)
	f.Close()
	if err != nil {
		return nil, nil, nil, err
	}
	at := func(i int, err error) error { return fmt.Errorf("%s:%d: %w", path, lines[i], err) }
	if classNames == nil {
		if classNames, err = classesFromRecords(recs); err != nil {
			return nil, nil, nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	labels := make([]int64, len(recs))
	for i := range recs {
		if labels[i], err = resolveLabel(&recs[i], classNames); err != nil {
			return nil, nil, nil, at(i, err)
		}
		recs[i].Label = labels[i]
	}
	base, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, nil, nil, err
	}
	info := &ImageInfo{Images: len(recs), Sizes: map[string]int{}}
	imgs, refs, err := loadRecordImagesSized(base, recs, at, opts, info)
	if err != nil {
		return nil, nil, nil, err
	}
	names := make([]string, len(recs))
	for i := range names {
		names[i] = fmt.Sprintf("%s:%d: %s", path, lines[i], refs[i])
	}
	c, h, w, pix, err := stackPixels(imgs, names)
	if err != nil {
		return nil, nil, nil, err
	}
	ds := &Dataset{
		Name: strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)), ClassNames: classNames,
		C: c, H: h, W: w, Images: pix, Labels: labels, Refs: refs,
	}
	if ds.Attrs, err = attrsFromRecords(recs); err != nil {
		return nil, nil, nil, err
	}
	if ds.Mix, err = mixFromRecords(recs, classNames, at); err != nil {
		return nil, nil, nil, err
	}
	info.Height, info.Width = ds.H, ds.W
	for i, p := range imgs {
		if p.c == 3 {
			if info.Colour == 0 {
				info.FirstColour = refs[i]
			}
			info.Colour++
		} else {
			info.Gray++
		}
	}
	if !opts.Resize && ds.Len() > 0 {
		info.Sizes[fmt.Sprintf("%dx%d", ds.W, ds.H)] = ds.Len()
	}
	return ds, recs, info, nil
}

// mixFromRecords is nil when no record has a soft label ("mix"); a record's "with" must name a
// known class other than its own.
func mixFromRecords(recs []Record, classNames []string, at func(int, error) error) ([]Mix, error) {
	if !slices.ContainsFunc(recs, func(r Record) bool { return r.Mix != nil }) {
		return nil, nil
	}
	out := make([]Mix, len(recs))
	for i, r := range recs {
		if r.Mix == nil {
			continue
		}
		k := slices.Index(classNames, r.Mix.With)
		if k < 0 {
			return nil, at(i, fmt.Errorf(`"mix" names unknown class %q (known: %s)`, r.Mix.With, strings.Join(classNames, ", ")))
		}
		if int64(k) == r.Label {
			return nil, at(i, fmt.Errorf(`"mix" names the record's own class %q: a soft label mixes two classes`, r.Mix.With))
		}
		out[i] = Mix{With: int64(k), Weight: r.Mix.Weight}
	}
	return out, nil
}

func resolveLabel(r *Record, classNames []string) (int64, error) {
	if r.Class != "" {
		k := slices.Index(classNames, r.Class)
		if k < 0 {
			return 0, fmt.Errorf("unknown class %q (known: %s)", r.Class, strings.Join(classNames, ", "))
		}
		if r.Label != NoLabel && r.Label != int64(k) {
			return 0, fmt.Errorf("label %d disagrees with class %q (label %d)", r.Label, r.Class, k)
		}
		return int64(k), nil
	}
	if r.Label >= int64(len(classNames)) {
		return 0, fmt.Errorf("label %d outside the %d classes", r.Label, len(classNames))
	}
	return r.Label, nil
}

// classesFromRecords needs every label from 0 to the largest named once.
func classesFromRecords(recs []Record) ([]string, error) {
	byLabel := map[int64]string{}
	var top int64 = -1
	for _, r := range recs {
		if r.Label == NoLabel || r.Class == "" {
			continue
		}
		if old, ok := byLabel[r.Label]; ok && old != r.Class {
			return nil, fmt.Errorf("label %d is called both %q and %q", r.Label, old, r.Class)
		}
		byLabel[r.Label] = r.Class
		top = max(top, r.Label)
	}
	if top >= int64(len(byLabel)) {
		// Some class below top has no record that names it: said before the list is made, as a
		// label of 2e9 would otherwise size it (found by FuzzManifestClasses).
		for k := int64(0); ; k++ {
			if _, ok := byLabel[k]; !ok {
				return nil, fmt.Errorf("no record names class %d: pass the class names", k)
			}
		}
	}
	names := make([]string, top+1)
	for k := range names {
		if names[k] = byLabel[int64(k)]; names[k] == "" {
			return nil, fmt.Errorf("no record names class %d: pass the class names", k)
		}
	}
	if dup := firstDuplicate(names); dup != "" {
		return nil, fmt.Errorf("class %q has two labels", dup)
	}
	return names, nil
}

func firstDuplicate(names []string) string {
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			return n
		}
		seen[n] = true
	}
	return ""
}

// attrsFromRecords is nil when no record has attributes, so "unknown" and
// "known clean" stay apart.
func attrsFromRecords(recs []Record) ([]float32, error) {
	if !slices.ContainsFunc(recs, func(r Record) bool { return r.Attrs != nil }) {
		return nil, nil
	}
	out := make([]float32, len(recs)*NumAttrs)
	for i, r := range recs {
		for k, v := range r.Attrs {
			out[i*NumAttrs+AttrIndex(k)] = v
		}
	}
	return out, nil
}
