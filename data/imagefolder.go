package data

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ReadImageFolder reads root/<class>/<...>/<image>.png|jpg the way
// torchvision's ImageFolder does: classes are the sub-folders sorted by
// name, labels their positions, images walked in lexical order.
// Differences, on purpose: a tree of only grayscale files reads as C=1
// (torchvision's loader always makes RGB); any other file in a class folder
// is an error rather than silently skipped; names starting with "." are
// skipped; a class folder with no images keeps its label.
func ReadImageFolder(root string) (*Dataset, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	var classes []string
	for _, e := range entries {
		if isDirEntry(root, e) && !strings.HasPrefix(e.Name(), ".") {
			classes = append(classes, e.Name())
		}
	}
	slices.Sort(classes)
	if len(classes) == 0 {
		return nil, fmt.Errorf("%s: no class folders", root)
	}
	var paths []string
	var labels []int64
	for label, class := range classes {
		err := filepath.WalkDir(filepath.Join(root, class), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if strings.HasPrefix(d.Name(), ".") && p != filepath.Join(root, class) {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.IsDir() {
				return nil
			}
			paths = append(paths, p)
			labels = append(labels, int64(label))
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	imgs, _, err := decodeAll(paths)
	if err != nil {
		return nil, err
	}
	c, h, w, pix, err := stackPixels(imgs, paths)
	if err != nil {
		return nil, err
	}
	return &Dataset{
		Name: filepath.Base(root), ClassNames: classes, C: c, H: h, W: w,
		Images: pix, Labels: labels, Refs: paths,
	}, nil
}

// isDirEntry follows symlinks, as torchvision does.
func isDirEntry(root string, e fs.DirEntry) bool {
	if e.IsDir() {
		return true
	}
	if e.Type()&fs.ModeSymlink == 0 {
		return false
	}
	st, err := os.Stat(filepath.Join(root, e.Name()))
	return err == nil && st.IsDir()
}
