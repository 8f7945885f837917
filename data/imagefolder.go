package data

import (
	"cmp"
	"fmt"
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
// skipped; a class folder with no images keeps its label; all images must
// share one size (ReadImageFolderWith resizes).
func ReadImageFolder(root string) (*Dataset, error) {
	ds, _, err := ReadImageFolderWith(root, FolderOptions{})
	return ds, err
}

// FolderOptions says how ReadImageFolderWith makes one tensor of a folder's images.
type FolderOptions struct {
	// Resize, when set, resizes every image of another size to Height x Width (see Size).
	Resize bool
	// Height and Width are the size images are resized to; 0 with Resize: the most common size.
	Height, Width int
	// Classes, when set, is the class list (a val/ or test/ folder takes train/'s); a class
	// folder not in it is an error, a class in it with no folder has no images.
	Classes []string
}

// ImageInfo says how a folder's images became one tensor: their sizes and modes, and what was
// resized. Shown by the loop and written to report.json ("data").
type ImageInfo struct {
	Images int `json:"images"`
	// Sizes counts images per size, "WxH" (e.g. "64x48": 64 wide, 48 high).
	Sizes map[string]int `json:"sizes"`
	// Resized images were resized to Height x Width with Resize ("" when none was).
	Resized int    `json:"resized"`
	Resize  string `json:"resize,omitempty"`
	Height  int    `json:"height"`
	Width   int    `json:"width"`
	// Colour images were decoded with three channels, Gray with one; with both, the gray ones are
	// repeated over three channels and FirstColour names the first colour image.
	Colour      int    `json:"colour"`
	Gray        int    `json:"gray"`
	FirstColour string `json:"first_colour,omitempty"`
}

// Mode is a sentence on the channels: "RGB", "grayscale", or the mixed case naming an image.
func (in ImageInfo) Mode() string {
	switch {
	case in.Colour == 0:
		return "grayscale (1 channel)"
	case in.Gray == 0:
		return "RGB (3 channels)"
	}
	return fmt.Sprintf("RGB (3 channels): %d of %d images are in colour (the first: %s), the %d grayscale ones are repeated over 3 channels",
		in.Colour, in.Images, in.FirstColour, in.Gray)
}

// Sentence says what was done to the images' size, for logs and the report.
func (in ImageInfo) Sentence() string {
	if in.Resized == 0 {
		return fmt.Sprintf("%d images of %dx%d (WxH), none resized", in.Images, in.Width, in.Height)
	}
	sizes := slices.Collect(func(yield func(string) bool) {
		for s := range in.Sizes {
			if !yield(s) {
				return
			}
		}
	})
	slices.SortFunc(sizes, func(a, b string) int { return cmp.Or(cmp.Compare(in.Sizes[b], in.Sizes[a]), cmp.Compare(a, b)) })
	parts := make([]string, len(sizes))
	for i, s := range sizes {
		parts[i] = fmt.Sprintf("%s: %d", s, in.Sizes[s])
	}
	return fmt.Sprintf("%d of %d images resized to %dx%d (WxH) with %s; sizes found %s",
		in.Resized, in.Images, in.Width, in.Height, in.Resize, strings.Join(parts, ", "))
}

// ReadImageFolderWith is ReadImageFolder with images of other sizes resized (opts.Resize) and
// an account of sizes and modes.
func ReadImageFolderWith(root string, opts FolderOptions) (*Dataset, *ImageInfo, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, nil, err
	}
	w := folderWalk{}
	if w.root, err = filepath.EvalSymlinks(root); err != nil {
		return nil, nil, err
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, nil, err
	}
	var found []string
	for _, e := range entries {
		if isDirEntry(root, e) && !strings.HasPrefix(e.Name(), ".") {
			found = append(found, e.Name())
		}
	}
	slices.Sort(found)
	// A folder gam-native wrote for a class whose name needs escaping (ClassFolder: T-shirt%2Ftop)
	// reads back as the class's name; the order stays the folders' (torchvision's).
	folderOf := map[string]string{}
	for i, f := range found {
		name := f
		if n, err := ClassFromFolder(f); err == nil && n != "" {
			name = n
		}
		folderOf[name], found[i] = f, name
	}
	classes := found
	if opts.Classes != nil {
		classes = opts.Classes
		for _, f := range found {
			if !slices.Contains(classes, f) {
				return nil, nil, fmt.Errorf("%s: class folder %q is not a class of the training set (%s)", filepath.Join(root, f), f, strings.Join(classes, ", "))
			}
		}
	}
	if len(found) == 0 {
		return nil, nil, fmt.Errorf("%s: no class folders", root)
	}
	// Every class folder, resolved, bounds the tree: a file link may point anywhere inside it.
	resolved := map[string]string{}
	for _, class := range found {
		p := filepath.Join(root, folderOf[class])
		r, err := filepath.EvalSymlinks(p)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", p, err)
		}
		if r == w.root || isUnder(r, w.root) {
			return nil, nil, fmt.Errorf("%s: the class folder links to %s, which holds the tree itself (a loop)", p, r)
		}
		resolved[class] = r
		w.trees = append(w.trees, r)
	}
	var paths []string
	var labels []int64
	for label, class := range classes {
		if _, ok := resolved[class]; !ok {
			continue
		}
		n := len(paths)
		if err := w.walk(filepath.Join(root, folderOf[class]), resolved[class], map[string]bool{resolved[class]: true}, &paths); err != nil {
			return nil, nil, err
		}
		for range len(paths) - n {
			labels = append(labels, int64(label))
		}
	}
	info := &ImageInfo{Images: len(paths), Sizes: map[string]int{}}
	h, wd := 0, 0
	if opts.Resize {
		if h, wd, err = sizesOf(paths, info); err != nil {
			return nil, nil, err
		}
		if opts.Height > 0 {
			h, wd = opts.Height, opts.Width
		}
		for s, n := range info.Sizes {
			if s != fmt.Sprintf("%dx%d", wd, h) {
				info.Resized += n
			}
		}
		if info.Resized > 0 {
			info.Resize = ResizeMethod
		}
	}
	imgs, _, err := decodeAllSized(paths, h, wd)
	if err != nil {
		return nil, nil, err
	}
	c, hh, ww, pix, err := stackPixels(imgs, paths)
	if err != nil {
		return nil, nil, err
	}
	info.Height, info.Width = hh, ww
	for i, p := range imgs {
		if p.c == 3 {
			if info.Colour == 0 {
				info.FirstColour = paths[i]
			}
			info.Colour++
		} else {
			info.Gray++
		}
	}
	if !opts.Resize {
		info.Sizes[fmt.Sprintf("%dx%d", ww, hh)] = len(paths)
	}
	return &Dataset{
		Name: filepath.Base(root), ClassNames: classes, C: c, H: hh, W: ww,
		Images: pix, Labels: labels, Refs: paths,
	}, info, nil
}

// sizesOf reads every image's header into info.Sizes and returns the most common size as h, w
// (ties go to the larger image, then the wider).
func sizesOf(paths []string, info *ImageInfo) (h, w int, err error) {
	type size struct{ w, h int }
	counts := map[size]int{}
	for _, p := range paths {
		w, h, err := imageSize(p)
		if err != nil {
			return 0, 0, err
		}
		counts[size{w, h}]++
	}
	var best size
	for s, n := range counts {
		info.Sizes[fmt.Sprintf("%dx%d", s.w, s.h)] = n
		if b := counts[best]; n > b || n == b && (s.w*s.h > best.w*best.h || s.w*s.h == best.w*best.h && s.w > best.w) {
			best = s
		}
	}
	return best.h, best.w, nil
}

// folderWalk walks class folders, following links with two rules: a link to a folder that holds
// the link (a loop) is an error, and a link to a file outside the tree (root and the class
// folders, resolved) is refused.
type folderWalk struct {
	root  string
	trees []string
}

func (fw *folderWalk) inTree(p string) bool {
	if isUnder(fw.root, p) {
		return true
	}
	for _, t := range fw.trees {
		if p == t || isUnder(t, p) {
			return true
		}
	}
	return false
}

// walk lists dir's images (dir shown as path, real is its resolved path) in lexical order;
// open holds the resolved folders being walked, to see a loop.
func (fw *folderWalk) walk(path, real string, open map[string]bool, out *[]string) error {
	entries, err := os.ReadDir(path)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		p := filepath.Join(path, e.Name())
		if e.Type()&os.ModeSymlink == 0 {
			if e.IsDir() {
				r := filepath.Join(real, e.Name())
				open[r] = true
				if err := fw.walk(p, r, open, out); err != nil {
					return err
				}
				delete(open, r)
			} else {
				*out = append(*out, p)
			}
			continue
		}
		r, err := filepath.EvalSymlinks(p)
		if err != nil {
			return fmt.Errorf("%s: a broken link: %w", p, err)
		}
		st, err := os.Stat(r)
		if err != nil {
			return err
		}
		if st.IsDir() {
			for o := range open {
				if r == o || isUnder(r, o) {
					return fmt.Errorf("%s: links to %s, a folder that holds the link (a loop)", p, r)
				}
			}
			open[r] = true
			if err := fw.walk(p, r, open, out); err != nil {
				return err
			}
			delete(open, r)
			continue
		}
		if !fw.inTree(r) {
			return fmt.Errorf("%s: links to %s, outside the data set's folders: refused (copy the file in, or link its folder as a class)", p, r)
		}
		*out = append(*out, p)
	}
	return nil
}

// isUnder reports whether p lies strictly inside dir (both clean and absolute).
func isUnder(dir, p string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != "." && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// isDirEntry follows symlinks, as torchvision does.
func isDirEntry(root string, e os.DirEntry) bool {
	if e.IsDir() {
		return true
	}
	if e.Type()&os.ModeSymlink == 0 {
		return false
	}
	st, err := os.Stat(filepath.Join(root, e.Name()))
	return err == nil && st.IsDir()
}

// FolderSplits is an ImageFolder data set's splits: Val and Test are nil when their folder is
// absent. Info describes the training images; every split is made the training set's shape.
type FolderSplits struct {
	Train, Val, Test *Dataset
	Info             *ImageInfo
}

// ReadImageFolderSplits reads dir/train, and dir/val and dir/test when they exist, as
// ImageFolders with one class list (train/'s folders) and one image size: opts' size, else the
// training images' most common one, every other size resized. A val/ or test/ image in colour
// when train/ is grayscale (or the other way round) is made the training set's mode: gray
// images are repeated over three channels, colour ones refused.
func ReadImageFolderSplits(dir string, opts FolderOptions) (*FolderSplits, error) {
	tr := filepath.Join(dir, "train")
	if st, err := os.Stat(tr); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("imagefolder %s: no train/ folder (want DIR/train/<class>/*.png, and optionally DIR/val/ and DIR/test/)", dir)
	}
	opts.Resize = true
	train, info, err := ReadImageFolderWith(tr, opts)
	if err != nil {
		return nil, err
	}
	out := &FolderSplits{Train: train, Info: info}
	for _, s := range []struct {
		name string
		dst  **Dataset
	}{{"val", &out.Val}, {"test", &out.Test}} {
		p := filepath.Join(dir, s.name)
		if _, err := os.Stat(p); err != nil {
			continue
		}
		o := FolderOptions{Resize: true, Height: train.H, Width: train.W, Classes: train.ClassNames}
		ds, in, err := ReadImageFolderWith(p, o)
		if err != nil {
			return nil, err
		}
		if ds.Len() > 0 {
			if ds, err = toChannels(ds, train.C, in); err != nil {
				return nil, err
			}
		} else {
			ds.C, ds.H, ds.W = train.C, train.H, train.W
		}
		*s.dst = ds
	}
	return out, nil
}

// toChannels makes ds c channels: gray repeated over three, or an error naming a colour image
// when the training set is grayscale.
func toChannels(ds *Dataset, c int, in *ImageInfo) (*Dataset, error) {
	switch {
	case ds.C == c:
		return ds, nil
	case ds.C == 3:
		return nil, fmt.Errorf("%s: the image is in colour but the training images are grayscale (1 channel); make it grayscale, or add colour images to train/", in.FirstColour)
	}
	plane := ds.H * ds.W
	pix := make([]float32, ds.Len()*3*plane)
	for i := range ds.Len() {
		src := ds.Image(i)
		for k := range 3 {
			copy(pix[(i*3+k)*plane:], src)
		}
	}
	ds.C, ds.Images = 3, pix
	return ds, nil
}
