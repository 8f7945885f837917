package data

import (
	"bytes"
	"image"
	"image/jpeg"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestReadImageFolder(t *testing.T) {
	for _, tc := range []struct {
		desc    string
		files   map[string]image.Image
		classes []string
		c       int
	}{
		{"grayscale stays one channel", map[string]image.Image{
			"coat/a.png": grayImage(4, 3, 1), "bag/b.png": grayImage(4, 3, 2), "bag/sub/c.png": grayImage(4, 3, 3),
		}, []string{"bag", "coat"}, 1},
		{"any color image makes RGB", map[string]image.Image{
			"x/a.png": grayImage(4, 3, 1), "y/b.png": rgbImage(4, 3, 9),
		}, []string{"x", "y"}, 3},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			root := t.TempDir()
			for name, img := range tc.files {
				writePNG(t, filepath.Join(root, name), img)
			}
			ds, err := ReadImageFolder(root)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ds.ClassNames, tc.classes) || ds.C != tc.c || ds.H != 3 || ds.W != 4 || ds.Len() != len(tc.files) {
				t.Fatalf("classes %v, %d images of %dx%dx%d", ds.ClassNames, ds.Len(), ds.C, ds.H, ds.W)
			}
			for i, ref := range ds.Refs {
				rel, _ := filepath.Rel(root, ref)
				img := tc.files[filepath.ToSlash(rel)]
				if want := ds.ClassNames[ds.Labels[i]]; !strings.HasPrefix(rel, want+"/") {
					t.Errorf("%s has label %s", rel, want)
				}
				want := toPixels(img)
				got := ds.Image(i)[:len(want.pix)]
				if !slices.Equal(as8(got), as8(want.pix)) {
					t.Errorf("%s: pixels differ", rel)
				}
			}
		})
	}
}

func TestReadImageFolderJPEG(t *testing.T) {
	root := t.TempDir()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, grayImage(8, 8, 0), &jpeg.Options{Quality: 100}); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(root, "a", "x.JPG"), b.Bytes())
	ds, err := ReadImageFolder(root)
	if err != nil {
		t.Fatal(err)
	}
	if ds.C != 1 || ds.H != 8 || ds.Len() != 1 {
		t.Errorf("%d images of %dx%dx%d", ds.Len(), ds.C, ds.H, ds.W)
	}
}

func TestReadImageFolderBadInput(t *testing.T) {
	for _, tc := range []struct {
		desc  string
		setup func(t *testing.T, root string)
		file  string // the file the error must name
		want  string
	}{
		{"image of the wrong size", func(t *testing.T, root string) {
			writePNG(t, filepath.Join(root, "a", "1.png"), grayImage(4, 4, 0))
			writePNG(t, filepath.Join(root, "b", "2.png"), grayImage(5, 4, 0))
		}, "b/2.png", "all images must share one size"},
		{"text file among the images", func(t *testing.T, root string) {
			writePNG(t, filepath.Join(root, "a", "1.png"), grayImage(4, 4, 0))
			writeFile(t, filepath.Join(root, "a", "notes.txt"), []byte("hi"))
		}, "a/notes.txt", "not an image file"},
		{"text file named .png", func(t *testing.T, root string) {
			writeFile(t, filepath.Join(root, "a", "1.png"), []byte("not a png"))
		}, "a/1.png", "not a readable png image"},
		{"no class folders", func(t *testing.T, root string) {
			writePNG(t, filepath.Join(root, "1.png"), grayImage(4, 4, 0))
		}, "", "no class folders"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			root := t.TempDir()
			tc.setup(t, root)
			before := listTree(t, root)
			_, err := ReadImageFolder(root)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), filepath.Join(root, tc.file)) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q should name %s and say %q", err, tc.file, tc.want)
			}
			if after := listTree(t, root); !slices.Equal(before, after) {
				t.Errorf("files changed: %v -> %v", before, after)
			}
		})
	}
}
