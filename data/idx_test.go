package data

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestReadIDX(t *testing.T) {
	imgs, labs := tinyIDX(5, 3, 4, 3)
	for _, tc := range []struct {
		desc       string
		img, label []byte
	}{
		{"plain files", imgs, labs},
		{"gzipped files", gz(t, imgs), gz(t, labs)},
		{"gzipped images, plain labels", gz(t, imgs), labs},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			dir := t.TempDir()
			ds, err := ReadIDX(writeFile(t, filepath.Join(dir, "i"), tc.img), writeFile(t, filepath.Join(dir, "l"), tc.label))
			if err != nil {
				t.Fatal(err)
			}
			if ds.Len() != 5 || ds.C != 1 || ds.H != 3 || ds.W != 4 {
				t.Fatalf("got %d images of %dx%dx%d, want 5 of 1x3x4", ds.Len(), ds.C, ds.H, ds.W)
			}
			if err := ds.Validate(); err != nil {
				t.Fatal(err)
			}
			if got, want := as8(ds.Image(2)), imgs[16+2*12:16+3*12]; !slices.Equal(got, want) {
				t.Errorf("image 2 = %v, want %v", got, want)
			}
			if !slices.Equal(ds.Labels, []int64{0, 1, 2, 0, 1}) || !slices.Equal(ds.ClassNames, []string{"0", "1", "2"}) {
				t.Errorf("labels %v classes %v", ds.Labels, ds.ClassNames)
			}
			if want := "idx:" + filepath.Join(dir, "i") + "#3"; ds.Refs[3] != want {
				t.Errorf("ref %q, want %q", ds.Refs[3], want)
			}
		})
	}
}

// Zeros compress far beyond the ratio memory is reserved for, so the
// reader must grow its buffer as data arrives.
func TestReadIDXCompressible(t *testing.T) {
	dir := t.TempDir()
	imgs := gz(t, idxBytes([]int{2000, 28, 28}, make([]byte, 2000*28*28)))
	labs := idxBytes([]int{2000}, make([]byte, 2000))
	ds, err := ReadIDX(writeFile(t, filepath.Join(dir, "i"), imgs), writeFile(t, filepath.Join(dir, "l"), labs))
	if err != nil {
		t.Fatal(err)
	}
	if ratio := 2000 * 28 * 28 / len(imgs); ratio < 2*reserveDeflateRatio || len(ds.Images) != 2000*28*28 {
		t.Errorf("ratio %d, %d floats", ratio, len(ds.Images))
	}
}

func TestReadIDXBadInput(t *testing.T) {
	imgs, labs := tinyIDX(5, 3, 4, 3)
	_, labs4 := tinyIDX(4, 3, 4, 3)
	wrongMagic := slices.Clone(imgs)
	wrongMagic[3] = 2
	bigHeader := idxBytes([]int{1 << 30, 1 << 30, 1 << 30}, nil)
	gzImgs := gz(t, imgs)
	for _, tc := range []struct {
		desc       string
		img, label []byte
		file, want string // the file the error must name, and what it must say
	}{
		{"truncated gzip", gzImgs[:len(gzImgs)/2], labs, "images", "truncated"},
		{"gzip without its trailer", gzImgs[:len(gzImgs)-4], labs, "images", "truncated"},
		{"corrupt gzip checksum", append(slices.Clone(gzImgs[:len(gzImgs)-8]), 0, 0, 0, 0, 0, 0, 0, 0), labs, "images", "checksum"},
		{"wrong IDX magic", wrongMagic, labs, "images", "wrong IDX magic"},
		{"labels file given as images", labs, labs, "images", "wrong IDX magic"},
		{"plain file cut short", imgs[:len(imgs)-5], labs, "images", "data ends after"},
		{"trailing bytes", append(slices.Clone(imgs), 9), labs, "images", "trailing bytes"},
		{"header promising more than the file holds", bigHeader, labs, "images", "more bytes than the file can hold"},
		{"empty file", nil, labs, "images", "no IDX header"},
		{"image and label counts disagree", imgs, labs4, "labels", "5 images but"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			dir := t.TempDir()
			ip := writeFile(t, filepath.Join(dir, "images"), tc.img)
			lp := writeFile(t, filepath.Join(dir, "labels"), tc.label)
			before := listTree(t, dir)
			ds, err := ReadIDX(ip, lp)
			if err == nil {
				t.Fatalf("read %d images, want an error", ds.Len())
			}
			if !strings.Contains(err.Error(), filepath.Join(dir, tc.file)) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q should name %s and say %q", err, tc.file, tc.want)
			}
			if after := listTree(t, dir); !slices.Equal(before, after) {
				t.Errorf("files changed: %v -> %v", before, after)
			}
		})
	}
}

func TestLoadFashionMNIST(t *testing.T) {
	dir := fashionDir(t)
	for _, tc := range []struct {
		desc  string
		split string
		n     int
	}{
		{"train split", "train", 60000},
		{"test split", "test", 10000},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			ds, err := LoadFashionMNIST(dir, tc.split)
			if err != nil {
				t.Fatal(err)
			}
			if ds.Len() != tc.n || ds.H != 28 || ds.W != 28 || ds.C != 1 {
				t.Fatalf("%d images of %dx%dx%d", ds.Len(), ds.C, ds.H, ds.W)
			}
			for c, n := range ds.ClassCounts() {
				if n != tc.n/10 {
					t.Errorf("class %s has %d images, want %d", ds.ClassNames[c], n, tc.n/10)
				}
			}
		})
	}
	if _, err := LoadFashionMNIST(dir, "val"); err == nil || !strings.Contains(err.Error(), `"val"`) {
		t.Errorf("split val: error %v, want one naming the split", err)
	}
}

func TestLoadMNIST(t *testing.T) {
	ds, err := LoadMNIST(mnistDir(t), "test")
	if err != nil {
		t.Fatal(err)
	}
	if ds.Len() != 10000 || ds.NumClasses() != 10 {
		t.Errorf("%d images, %d classes; want 10000, 10", ds.Len(), ds.NumClasses())
	}
}
