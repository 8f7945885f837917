package data

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestClassFolderRoundTrip (issue 22, item 1): any class name has a folder name that is one path
// element, not hidden, and gives the name back.
func TestClassFolderRoundTrip(t *testing.T) {
	for _, c := range []struct{ name, folder string }{
		{"tshirt_top", "tshirt_top"},
		{"Ankle boot", "Ankle boot"},
		{"T-shirt/top", "T-shirt%2Ftop"},
		{"100%", "100%25"},
		{".hidden", "%2Ehidden"},
		{"..", "%2E."},
		{`a\b`, "a%5Cb"},
		{"tab\there", "tab%09here"},
		{"", "%"},
		{"été", "été"},
	} {
		if got := ClassFolder(c.name); got != c.folder {
			t.Errorf("ClassFolder(%q) = %q, want %q", c.name, got, c.folder)
		}
		back, err := ClassFromFolder(c.folder)
		if err != nil || back != c.name {
			t.Errorf("ClassFromFolder(%q) = %q, %v; want %q", c.folder, back, err, c.name)
		}
	}
	for _, bad := range []string{"a%2", "a%zz", "a%2f", "%41"} {
		if _, err := ClassFromFolder(bad); err == nil {
			t.Errorf("ClassFromFolder(%q): no error", bad)
		}
	}
}

func FuzzClassFolder(f *testing.F) {
	for _, s := range []string{"T-shirt/top", ".", "%", "a%2Fb", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		folder := ClassFolder(name)
		if strings.ContainsAny(folder, `/\`) || strings.HasPrefix(folder, ".") || folder == "" {
			t.Fatalf("ClassFolder(%q) = %q is not one visible path element", name, folder)
		}
		if back, err := ClassFromFolder(folder); err != nil || back != name {
			t.Fatalf("ClassFromFolder(ClassFolder(%q)) = %q, %v", name, back, err)
		}
	})
}

// TestImageFolderReadsEscapedClassFolders (issue 22, item 1): an ImageFolder that gam-native wrote
// for a class named "T-shirt/top" (folder T-shirt%2Ftop) reads back with the class's true name,
// in the folders' (torchvision's) order.
func TestImageFolderReadsEscapedClassFolders(t *testing.T) {
	root := t.TempDir()
	ds := &Dataset{C: 1, H: 2, W: 2, Images: make([]float32, 4), Labels: []int64{0}}
	png, err := EncodePNG(ds, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"T-shirt/top", "coat"} {
		d := filepath.Join(root, ClassFolder(name))
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "a.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ReadImageFolder(root)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got.ClassNames, ",") != "T-shirt/top,coat" || got.Len() != 2 || got.Labels[0] != 0 || got.Labels[1] != 1 {
		t.Fatalf("classes %q, %d images, labels %v", got.ClassNames, got.Len(), got.Labels)
	}
}
