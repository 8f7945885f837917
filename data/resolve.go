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
	decoded, bad, err := decodeAll(files)
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
