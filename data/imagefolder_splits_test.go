package data

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestReadImageFolderSplits(t *testing.T) {
	for _, tc := range []struct {
		desc            string
		val, test       bool
		trainC, trainSz int
	}{
		{"train, val and test, RGB 32", true, true, 3, 32},
		{"train only, grayscale 64", false, false, 1, 64},
		{"train and test, RGB 64", false, true, 3, 64},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			dir := t.TempDir()
			ds, err := Shapes([]int{6, 3, 2}, tc.trainC, tc.trainSz, 1)
			if err != nil {
				t.Fatal(err)
			}
			if err := WriteSplitFolder(dir, "train", ds); err != nil {
				t.Fatal(err)
			}
			if tc.val {
				v, _ := Shapes([]int{2, 2, 2}, tc.trainC, tc.trainSz, 2)
				WriteSplitFolder(dir, "val", v)
			}
			if tc.test {
				// test/ lacks the last class: it keeps train/'s class list and labels.
				v, _ := Shapes([]int{1, 1}, tc.trainC, tc.trainSz, 3)
				WriteSplitFolder(dir, "test", v)
			}
			sp, err := ReadImageFolderSplits(dir, FolderOptions{})
			if err != nil {
				t.Fatal(err)
			}
			want := []string{"circle", "square", "triangle"}
			if !slices.Equal(sp.Train.ClassNames, want) || sp.Train.Len() != 11 || sp.Train.C != tc.trainC || sp.Train.H != tc.trainSz {
				t.Fatalf("train: %v, %d images of %dx%dx%d", sp.Train.ClassNames, sp.Train.Len(), sp.Train.C, sp.Train.H, sp.Train.W)
			}
			if !slices.Equal(sp.Train.ClassCounts(), []int{6, 3, 2}) {
				t.Errorf("train counts %v", sp.Train.ClassCounts())
			}
			if (sp.Val != nil) != tc.val || (sp.Test != nil) != tc.test {
				t.Fatalf("val %v, test %v", sp.Val != nil, sp.Test != nil)
			}
			if tc.test && (!slices.Equal(sp.Test.ClassNames, want) || !slices.Equal(sp.Test.ClassCounts(), []int{1, 1, 0})) {
				t.Errorf("test: %v %v", sp.Test.ClassNames, sp.Test.ClassCounts())
			}
			if sp.Info.Resized != 0 || sp.Info.Images != 11 || (sp.Info.Colour > 0) != (tc.trainC == 3) {
				t.Errorf("info %+v", sp.Info)
			}
		})
	}
}

func TestReadImageFolderSplitsErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadImageFolderSplits(dir, FolderOptions{}); err == nil || !strings.Contains(err.Error(), "no train/ folder") {
		t.Errorf("no train/: %v", err)
	}
	writePNG(t, filepath.Join(dir, "train", "a", "1.png"), grayImage(8, 8, 0))
	writePNG(t, filepath.Join(dir, "test", "b", "1.png"), grayImage(8, 8, 0))
	if _, err := ReadImageFolderSplits(dir, FolderOptions{}); err == nil || !strings.Contains(err.Error(), `class folder "b" is not a class of the training set`) {
		t.Errorf("unknown test class: %v", err)
	}
	os.RemoveAll(filepath.Join(dir, "test"))
	writePNG(t, filepath.Join(dir, "test", "a", "1.png"), rgbImage(8, 8, 0))
	if _, err := ReadImageFolderSplits(dir, FolderOptions{}); err == nil || !strings.Contains(err.Error(), "in colour but the training images are grayscale") {
		t.Errorf("colour test image for gray train: %v", err)
	}
}

func TestReadImageFolderResizes(t *testing.T) {
	root := t.TempDir()
	writePNG(t, filepath.Join(root, "a", "1.png"), grayImage(16, 16, 0))
	writePNG(t, filepath.Join(root, "a", "2.png"), grayImage(16, 16, 5))
	writePNG(t, filepath.Join(root, "b", "3.png"), grayImage(24, 20, 0))
	if _, err := ReadImageFolder(root); err == nil || !strings.Contains(err.Error(), "all images must share one size") {
		t.Fatalf("without resize: %v", err)
	}
	for _, tc := range []struct {
		desc    string
		opts    FolderOptions
		h, w    int
		resized int
	}{
		{"the most common size", FolderOptions{Resize: true}, 16, 16, 1},
		{"the size asked for", FolderOptions{Resize: true, Height: 12, Width: 10}, 12, 10, 3},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			ds, info, err := ReadImageFolderWith(root, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if ds.H != tc.h || ds.W != tc.w || ds.C != 1 || info.Resized != tc.resized || info.Resize != ResizeMethod {
				t.Fatalf("%dx%dx%d, info %+v", ds.C, ds.H, ds.W, info)
			}
			if s := info.Sentence(); !strings.Contains(s, "resized to") || !strings.Contains(s, "Catmull-Rom") || !strings.Contains(s, "24x20: 1") {
				t.Errorf("sentence %q", s)
			}
			for _, v := range ds.Images {
				if v < 0 || v > 1 {
					t.Fatalf("pixel %v outside [0, 1]", v)
				}
			}
		})
	}
}

// TestReadImageFolderModes reads the PNG and JPEG kinds a team has: RGBA, palette (colour and
// gray), 16-bit gray, JPEG colour and gray; and one RGB image among grayscale ones.
func TestReadImageFolderModes(t *testing.T) {
	rgba := image.NewRGBA(image.Rect(0, 0, 4, 4))
	for i := range rgba.Pix {
		rgba.Pix[i] = byte(40 + i)
	}
	pal := image.NewPaletted(image.Rect(0, 0, 4, 4), color.Palette{color.RGBA{255, 0, 0, 255}, color.RGBA{0, 0, 255, 255}})
	pal.Pix[3] = 1
	grayPal := image.NewPaletted(image.Rect(0, 0, 4, 4), color.Palette{color.Gray{10}, color.Gray{200}})
	grayPal.Pix[5] = 1
	g16 := image.NewGray16(image.Rect(0, 0, 4, 4))
	g16.Pix[1] = 200
	jpg := func(img image.Image) []byte {
		var b bytes.Buffer
		if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 95}); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	pngOf := func(img image.Image) []byte {
		var b bytes.Buffer
		if err := png.Encode(&b, img); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	for _, tc := range []struct {
		desc string
		file string
		b    []byte
		c    int
		// want is pixel 0's first channel, to 8 bits
		want uint8
	}{
		{"RGBA PNG: alpha dropped", "x.png", pngOf(rgba), 3, 0},
		{"palette PNG in colour", "x.png", pngOf(pal), 3, 255},
		{"palette PNG of grays stays one channel", "x.png", pngOf(grayPal), 1, 10},
		{"16-bit gray PNG", "x.png", pngOf(g16), 1, 0},
		{"JPEG in colour", "x.jpg", jpg(rgbImage(4, 4, 90)), 3, 0},
		{"JPEG gray", "x.jpeg", jpg(grayImage(4, 4, 100)), 1, 0},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			root := t.TempDir()
			writeFile(t, filepath.Join(root, "a", tc.file), tc.b)
			ds, info, err := ReadImageFolderWith(root, FolderOptions{Resize: true})
			if err != nil {
				t.Fatal(err)
			}
			if ds.C != tc.c || ds.H != 4 || ds.W != 4 || (info.Colour == 1) != (tc.c == 3) {
				t.Fatalf("%dx%dx%d, info %+v", ds.C, ds.H, ds.W, info)
			}
			if tc.want != 0 && to8(ds.Images[0]) != tc.want {
				t.Errorf("pixel 0 = %d, want %d", to8(ds.Images[0]), tc.want)
			}
		})
	}
	t.Run("one RGB image among grayscale ones is named", func(t *testing.T) {
		root := t.TempDir()
		for _, n := range []string{"1", "2", "3"} {
			writePNG(t, filepath.Join(root, "a", n+".png"), grayImage(4, 4, 1))
		}
		odd := writePNG(t, filepath.Join(root, "b", "odd.png"), rgbImage(4, 4, 1))
		ds, info, err := ReadImageFolderWith(root, FolderOptions{Resize: true})
		if err != nil {
			t.Fatal(err)
		}
		if ds.C != 3 || info.Colour != 1 || info.Gray != 3 || info.FirstColour != odd || !strings.Contains(info.Mode(), odd) {
			t.Fatalf("C=%d, info %+v, mode %q", ds.C, info, info.Mode())
		}
	})
}

func TestReadImageFolderLinks(t *testing.T) {
	outside := t.TempDir()
	ext := writePNG(t, filepath.Join(outside, "far.png"), grayImage(4, 4, 0))
	writePNG(t, filepath.Join(outside, "cls", "o.png"), grayImage(4, 4, 0))
	for _, tc := range []struct {
		desc  string
		setup func(root string)
		want  string // "" when it reads
		n     int
	}{
		{"a class folder linked from outside reads", func(root string) {
			os.Symlink(filepath.Join(outside, "cls"), filepath.Join(root, "linked"))
		}, "", 2},
		{"a file link inside the tree reads", func(root string) {
			os.Symlink(filepath.Join(root, "a", "1.png"), filepath.Join(root, "a", "again.png"))
		}, "", 2},
		{"a class folder linked to the tree's root is a loop", func(root string) {
			os.Symlink(root, filepath.Join(root, "loop"))
		}, "which holds the tree itself (a loop)", 0},
		{"a folder link to its own class is a loop", func(root string) {
			os.Symlink(filepath.Join(root, "a"), filepath.Join(root, "a", "sub"))
		}, "a folder that holds the link (a loop)", 0},
		{"a file link outside the tree is refused", func(root string) {
			os.Symlink(ext, filepath.Join(root, "a", "far.png"))
		}, "outside the data set's folders: refused", 0},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			root := t.TempDir()
			writePNG(t, filepath.Join(root, "a", "1.png"), grayImage(4, 4, 0))
			tc.setup(root)
			ds, err := ReadImageFolder(root)
			if tc.want == "" {
				if err != nil || ds.Len() != tc.n {
					t.Fatalf("%v, %v", err, ds)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestShapes(t *testing.T) {
	a, err := Shapes([]int{3, 1}, 3, 32, 7)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Shapes([]int{3, 1}, 3, 32, 7)
	if !slices.Equal(a.Images, b.Images) || a.Validate() != nil || !slices.Equal(a.ClassCounts(), []int{3, 1}) {
		t.Fatal("not deterministic, or invalid")
	}
	if _, err := Shapes([]int{1}, 2, 32, 0); err == nil {
		t.Error("2 channels accepted")
	}
}

func TestReadManifestResizes(t *testing.T) {
	root := t.TempDir()
	writePNG(t, filepath.Join(root, "a1.png"), grayImage(16, 16, 0))
	writePNG(t, filepath.Join(root, "a2.png"), grayImage(16, 16, 5))
	writePNG(t, filepath.Join(root, "b1.png"), rgbImage(24, 20, 0))
	m := writeFile(t, filepath.Join(root, "m.jsonl"), []byte(`{"path": "a1.png", "label": 0, "class": "a"}
{"path": "a2.png", "label": 0, "class": "a"}
{"path": "b1.png", "label": 1, "class": "b"}
`))
	if _, _, err := ReadManifest(m, nil); err == nil || !strings.Contains(err.Error(), "size") {
		t.Fatalf("without resize: %v", err)
	}
	ds, _, info, err := ReadManifestWith(m, nil, FolderOptions{Resize: true})
	if err != nil {
		t.Fatal(err)
	}
	if ds.H != 16 || ds.W != 16 || ds.C != 3 || info.Resized != 1 || info.Colour != 1 || info.Gray != 2 || !strings.Contains(info.Sentence(), "24x20: 1") {
		t.Fatalf("%dx%dx%d, info %+v", ds.C, ds.H, ds.W, info)
	}
}
