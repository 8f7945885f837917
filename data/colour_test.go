package data

import (
	"path/filepath"
	"slices"
	"testing"
)

func TestColourize(t *testing.T) {
	gray, err := Shapes([]int{3, 2}, 1, 28, 4)
	if err != nil {
		t.Fatal(err)
	}
	a, err := Colourize(gray, 32, 9)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Colourize(gray, 32, 9)
	if a.C != 3 || a.H != 32 || a.W != 32 || a.Len() != 5 || a.Validate() != nil || !slices.Equal(a.Images, b.Images) {
		t.Fatalf("%dx%dx%d, %d images, deterministic %v", a.C, a.H, a.W, a.Len(), slices.Equal(a.Images, b.Images))
	}
	// In colour: the channels of an image differ.
	for i := range a.Len() {
		img, plane := a.Image(i), 32*32
		if slices.Equal(img[:plane], img[plane:2*plane]) {
			t.Errorf("image %d: red and green are equal", i)
		}
		for _, v := range img {
			if v < 0 || v > 1 {
				t.Fatalf("image %d: value %v outside [0, 1]", i, v)
			}
		}
	}
	if _, err := Colourize(a, 32, 1); err == nil {
		t.Error("an RGB set was colourized")
	}
}

// TestLoadIDXSplitNamesByNumber: an IDX folder without known class names names its classes by
// their numbers (MNIST's digits), never by another data set's names.
func TestLoadIDXSplitNamesByNumber(t *testing.T) {
	dir := t.TempDir()
	img, lab := tinyIDX(6, 4, 4, 3)
	writeFile(t, filepath.Join(dir, "train-images-idx3-ubyte"), img)
	writeFile(t, filepath.Join(dir, "train-labels-idx1-ubyte"), lab)
	ds, err := LoadIDXSplit(dir, "train", "idx", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ds.ClassNames, []string{"0", "1", "2"}) {
		t.Fatalf("classes %v", ds.ClassNames)
	}
}
