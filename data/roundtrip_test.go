package data

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestRoundTripIDX: IDX -> ImageFolder+manifest -> read back, with real
// images referenced and generated ones stored as PNGs.
func TestRoundTripIDX(t *testing.T) {
	src := t.TempDir()
	imgs, labs := tinyIDX(12, 5, 6, 4)
	real, err := ReadIDX(writeFile(t, filepath.Join(src, "i.gz"), gz(t, imgs)), writeFile(t, filepath.Join(src, "l.gz"), gz(t, labs)))
	if err != nil {
		t.Fatal(err)
	}
	real.ClassNames = []string{"w", "x", "y", "z"}
	gen := real.Subset([]int{1, 2, 3})
	gen.Refs = nil
	for i := range gen.Images {
		gen.Images[i] = 1 - gen.Images[i]
	}
	all, err := Concat("all", real, gen)
	if err != nil {
		t.Fatal(err)
	}
	recs := make([]Record, all.Len())
	for i := real.Len(); i < all.Len(); i++ {
		recs[i] = Record{Source: SourceGenerated, Provenance: &Provenance{Round: 1, Seed: uint64(i)}}
	}
	for _, tc := range []struct {
		desc string
		ds   *Dataset
		recs []Record
		pngs int
	}{
		{"real images only, no records", real, nil, 0},
		{"real and generated", all, recs, 3},
		{"no refs: every image stored", gen, nil, 3},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			if err := WriteImageFolder(out, tc.ds, tc.recs); err != nil {
				t.Fatal(err)
			}
			pngs, _ := filepath.Glob(filepath.Join(out, "images", "*", "*.png"))
			if len(pngs) != tc.pngs {
				t.Errorf("%d PNGs written, want %d", len(pngs), tc.pngs)
			}
			back, _, err := ReadManifest(filepath.Join(out, ManifestName), tc.ds.ClassNames)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(as8(back.Images), as8(tc.ds.Images)) {
				t.Error("pixels differ after the round trip")
			}
			if !slices.Equal(back.Labels, tc.ds.Labels) {
				t.Errorf("labels %v, want %v", back.Labels, tc.ds.Labels)
			}
		})
	}
}

func TestRoundTripRGB(t *testing.T) {
	root := t.TempDir()
	writePNG(t, filepath.Join(root, "in", "a", "1.png"), rgbImage(5, 4, 1))
	writePNG(t, filepath.Join(root, "in", "b", "2.png"), rgbImage(5, 4, 90))
	ds, err := ReadImageFolder(filepath.Join(root, "in"))
	if err != nil {
		t.Fatal(err)
	}
	ds.Refs = nil // store them
	if err := WriteImageFolder(filepath.Join(root, "out"), ds, nil); err != nil {
		t.Fatal(err)
	}
	back, err := ReadImageFolder(filepath.Join(root, "out", "images"))
	if err != nil {
		t.Fatal(err)
	}
	if back.C != 3 || !slices.Equal(as8(back.Images), as8(ds.Images)) || !slices.Equal(back.Labels, ds.Labels) {
		t.Errorf("RGB round trip: C=%d, labels %v vs %v", back.C, back.Labels, ds.Labels)
	}
}

// TestRoundTripManifest: attributes, provenance and meta survive a
// read-write-read unchanged, written to the same folder or another.
func TestRoundTripManifest(t *testing.T) {
	dir := t.TempDir()
	imgs, _ := tinyIDX(3, 2, 2, 1)
	idxPath := writeFile(t, filepath.Join(dir, "src", "imgs"), imgs)
	writePNG(t, filepath.Join(dir, "set", "images", "shirt", "g_r1_000001.png"), grayImage(2, 2, 7))
	lines := []string{
		`{"v":1,"path":"images/shirt/g_r1_000001.png","label":1,"class":"shirt","attrs":{"blur":0.6},"source":"generated","provenance":{"round":1,"target":"shirt/blurry","seed":123,"generator":"zoo:cvae","confidence":0.81,"screen_prob":0.97,"conditions":{"blur":"generator"},"review":"accepted"},"meta":{"note":"<&>"}}`,
		`{"v":1,"ref":"idx:` + idxPath + `#2","label":0,"class":"coat","attrs":{"noise":0,"shadow":0.25},"source":"real"}`,
		`{"v":1,"ref":"idx:../src/imgs#1","label":1,"class":"shirt"}`,
	}
	m := writeFile(t, filepath.Join(dir, "set", ManifestName), []byte(strings.Join(lines, "\n")+"\n"))
	ds, recs, err := ReadManifest(m, []string{"coat", "shirt"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		desc string
		dir  string
	}{
		{"same folder", filepath.Join(dir, "set")},
		{"sibling folder", filepath.Join(dir, "set2")},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			if err := WriteImageFolder(tc.dir, ds, recs); err != nil {
				t.Fatal(err)
			}
			got, err := ReadManifestRecords(filepath.Join(tc.dir, ManifestName))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, recs) {
				t.Errorf("records changed:\n got %+v\nwant %+v", got, recs)
			}
			if tc.dir == filepath.Join(dir, "set") {
				b, _ := os.ReadFile(filepath.Join(tc.dir, ManifestName))
				if string(b) != strings.Join(lines, "\n")+"\n" {
					t.Errorf("manifest bytes changed:\n%s", b)
				}
			}
			back, _, err := ReadManifest(filepath.Join(tc.dir, ManifestName), ds.ClassNames)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(back.Attrs, ds.Attrs) || !slices.Equal(as8(back.Images), as8(ds.Images)) {
				t.Error("attrs or pixels changed")
			}
		})
	}
}

func TestWriteImageFolderBadInput(t *testing.T) {
	ds := &Dataset{ClassNames: []string{"a", "b"}, C: 1, H: 2, W: 2, Images: make([]float32, 8), Labels: []int64{0, 1}}
	withClasses := func(names ...string) *Dataset { d := ds.Clone(); d.ClassNames = names; return d }
	withLabels := func(l ...int64) *Dataset { d := ds.Clone(); d.Labels = l; return d }
	gen := func(path string) []Record {
		return []Record{{Source: SourceGenerated, Path: path}, {Source: SourceGenerated, Path: "images/b/x.png"}}
	}
	for _, tc := range []struct {
		desc string
		ds   *Dataset
		recs []Record
		want string
	}{
		{"fewer records than images", ds, []Record{{}}, "1 records for 2 images"},
		{"class name with a slash", withClasses("T-shirt/top", "b"), nil, "cannot be a folder name"},
		{"label out of range", withLabels(0, 5), nil, "label 5 outside"},
		{"pixels missing", &Dataset{ClassNames: []string{"a"}, C: 1, H: 2, W: 2, Images: make([]float32, 3), Labels: []int64{0}}, nil, "3 floats"},
		{"path escaping the folder", ds, gen("../x.png"), "inside the manifest's folder"},
		{"path not a png", ds, gen("images/a/x.jpg"), "must end in .png"},
		{"two images, one path", ds, gen("images/b/x.png"), "both write"},
		{"record class disagrees", ds, []Record{{Class: "b"}, {}}, `says class "b"`},
		{"bad provenance", ds, []Record{{Provenance: &Provenance{Confidence: 2}}, {}}, "confidence = 2"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			parent := t.TempDir()
			out := filepath.Join(parent, "out")
			err := WriteImageFolder(out, tc.ds, tc.recs)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), out) && !strings.Contains(err.Error(), "dataset") {
				t.Errorf("error %v, want one naming %s and saying %q", err, out, tc.want)
			}
			if files := listTree(t, parent); len(files) != 1 {
				t.Errorf("written: %v", files)
			}
		})
	}
}

func TestTo8(t *testing.T) {
	for _, tc := range []struct {
		desc string
		in   float32
		want uint8
	}{
		{"zero", 0, 0},
		{"one", 1, 255},
		{"rounds to nearest, up", 0.999, 255},
		{"rounds to nearest, down", 0.998, 254},
		{"above one clamps", 1.5, 255},
		{"negative clamps", -0.2, 0},
		{"every byte survives /255", float32(77) / 255, 77},
	} {
		if got := to8(tc.in); got != tc.want {
			t.Errorf("%s: to8(%v) = %d, want %d", tc.desc, tc.in, got, tc.want)
		}
	}
}
