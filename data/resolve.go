package data

import (
	"fmt"
	"path/filepath"
	"strconv"
)

// idxImages is one IDX image file, loaded once per manifest read.
type idxImages struct {
	n, h, w int
	pix     []float32
}

// loadRecordImages decodes each record's pixels and returns, per record,
// the absolute origin that Dataset.Refs holds.
func loadRecordImages(base string, recs []Record, at func(int, error) error) ([]pixels, []string, error) {
	return loadRecordImagesSized(base, recs, at, FolderOptions{}, &ImageInfo{Sizes: map[string]int{}})
}

// loadRecordImagesSized is loadRecordImages with image files resized (opts.Resize) and their
// sizes counted into info.
func loadRecordImagesSized(base string, recs []Record, at func(int, error) error, opts FolderOptions, info *ImageInfo) ([]pixels, []string, error) {
	refs := make([]string, len(recs))
	imgs := make([]pixels, len(recs))
	var files []string
	var fileIdx []int
	idxCache := map[string]*idxImages{}
	for i, r := range recs {
		switch {
		case r.Path != "":
			refs[i] = filepath.Join(base, filepath.FromSlash(r.Path))
			files, fileIdx = append(files, refs[i]), append(fileIdx, i)
		default:
			file, index, err := parseIDXRef(r.Ref)
			if err != nil {
				return nil, nil, at(i, err)
			}
			if index < 0 {
				refs[i] = absFrom(base, r.Ref)
				files, fileIdx = append(files, refs[i]), append(fileIdx, i)
				continue
			}
			file = absFrom(base, file)
			refs[i] = "idx:" + file + "#" + strconv.Itoa(index)
			set := idxCache[file]
			if set == nil {
				n, h, w, pix, err := readIDXImagesFile(file)
				if err != nil {
					return nil, nil, at(i, fmt.Errorf("ref %q: %w", r.Ref, err))
				}
				set = &idxImages{n, h, w, pix}
				idxCache[file] = set
			}
			if index >= set.n {
				return nil, nil, at(i, fmt.Errorf("ref %q: %s holds only %d images", r.Ref, file, set.n))
			}
			s := set.h * set.w
			imgs[i] = pixels{1, set.h, set.w, set.pix[index*s : (index+1)*s]}
		}
	}
	h, w := 0, 0
	if opts.Resize {
		type size struct{ w, h int }
		counts := map[size]int{}
		for k, f := range files {
			fw, fh, err := imageSize(f)
			if err != nil {
				return nil, nil, at(fileIdx[k], err)
			}
			counts[size{fw, fh}]++
		}
		for _, p := range imgs {
			if p.pix != nil {
				counts[size{p.w, p.h}]++ // IDX images, counted at their size
			}
		}
		var best size
		for sz, n := range counts {
			info.Sizes[fmt.Sprintf("%dx%d", sz.w, sz.h)] = n
			if b := counts[best]; n > b || n == b && (sz.w*sz.h > best.w*best.h || sz.w*sz.h == best.w*best.h && sz.w > best.w) {
				best = sz
			}
		}
		h, w = best.h, best.w
		if opts.Height > 0 {
			h, w = opts.Height, opts.Width
		}
		for sz, n := range counts {
			if sz.w != w || sz.h != h {
				info.Resized += n
			}
		}
		if info.Resized > 0 {
			info.Resize = ResizeMethod
		}
		for i, p := range imgs {
			if p.pix != nil && (p.h != h || p.w != w) {
				return nil, nil, at(i, fmt.Errorf("ref %q: an IDX image is %dx%d, the data set's size is %dx%d (IDX images are not resized)", recs[i].Ref, p.w, p.h, w, h))
			}
		}
	}
	decoded, bad, err := decodeAllSized(files, h, w)
	if err != nil {
		return nil, nil, at(fileIdx[bad], err)
	}
	for k, p := range decoded {
		imgs[fileIdx[k]] = p
	}
	return imgs, refs, nil
}

func absFrom(base, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(base, filepath.FromSlash(p))
}
