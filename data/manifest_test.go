package data

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestReadManifest(t *testing.T) {
	dir := t.TempDir()
	imgs, labs := tinyIDX(6, 4, 4, 3)
	idxPath := writeFile(t, filepath.Join(dir, "src", "imgs.gz"), gz(t, imgs))
	writeFile(t, filepath.Join(dir, "src", "labs"), labs)
	writePNG(t, filepath.Join(dir, "set", "images", "b", "g.png"), grayImage(4, 4, 5))
	manifest := writeFile(t, filepath.Join(dir, "set", "m.jsonl"), []byte(
		`{"path":"images/b/g.png","class":"b","attrs":{"noise":0.4},"source":"generated"}`+"\n\n"+
			`{"ref":"idx:`+idxPath+`#5","label":0,"class":"a","source":"real"}`+"\n"+
			`{"ref":"idx:../src/imgs.gz#2","label":2}`+"\n"))
	ds, recs, err := ReadManifest(manifest, []string{"a", "b", "c"})
	if err != nil {
		t.Fatal(err)
	}
	if ds.Len() != 3 || ds.C != 1 || ds.H != 4 || !slices.Equal(ds.Labels, []int64{1, 0, 2}) {
		t.Fatalf("%d images %dx%dx%d labels %v", ds.Len(), ds.C, ds.H, ds.W, ds.Labels)
	}
	if recs[0].Label != 1 {
		t.Errorf("record 0's label not filled in from its class: %d", recs[0].Label)
	}
	for _, tc := range []struct {
		desc string
		i    int
		want []byte
	}{
		{"png by path", 0, grayImage(4, 4, 5).Pix},
		{"idx by absolute ref", 1, imgs[16+5*16 : 16+6*16]},
		{"idx by relative ref", 2, imgs[16+2*16 : 16+3*16]},
	} {
		if got := as8(ds.Image(tc.i)); !slices.Equal(got, tc.want) {
			t.Errorf("%s: pixels %v, want %v", tc.desc, got, tc.want)
		}
	}
	if want := []float32{0, 0, 0, 0.4}; !slices.Equal(ds.AttrsOf(0), want) || !slices.Equal(ds.AttrsOf(1), make([]float32, 4)) {
		t.Errorf("attrs %v", ds.Attrs)
	}
	if want := "idx:" + idxPath + "#2"; ds.Refs[2] != want {
		t.Errorf("ref %q, want the absolute %q", ds.Refs[2], want)
	}
}

func TestReadManifestClassesFromRecords(t *testing.T) {
	dir := t.TempDir()
	writePNG(t, filepath.Join(dir, "a.png"), grayImage(2, 2, 0))
	for _, tc := range []struct {
		desc  string
		lines string
		want  []string
		err   string
	}{
		{"pairs name every class", `{"path":"a.png","label":1,"class":"y"}` + "\n" + `{"path":"a.png","label":0,"class":"x"}`, []string{"x", "y"}, ""},
		{"a gap", `{"path":"a.png","label":1,"class":"y"}`, nil, "no record names class 0"},
		{"one label, two names", `{"path":"a.png","label":0,"class":"y"}` + "\n" + `{"path":"a.png","label":0,"class":"x"}`, nil, "called both"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			m := writeFile(t, filepath.Join(dir, "m.jsonl"), []byte(tc.lines))
			ds, _, err := ReadManifest(m, nil)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), m) {
					t.Fatalf("error %v, want one naming %s and saying %q", err, m, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ds.ClassNames, tc.want) {
				t.Errorf("classes %v, want %v", ds.ClassNames, tc.want)
			}
		})
	}
}

func TestReadManifestBadInput(t *testing.T) {
	good := `{"path":"images/a/1.png","class":"a"}`
	for _, tc := range []struct {
		desc string
		bad  string // the third line of the manifest
		want string
	}{
		{"line not JSON", `{"path": "images/a/1.png", "class": "a"`, "not a JSON record"},
		{"missing file", `{"path":"images/a/nope.png","class":"a"}`, "nope.png: no such file"},
		{"unknown class", `{"path":"images/a/1.png","class":"zebra"}`, `unknown class "zebra"`},
		{"label out of range", `{"path":"images/a/1.png","label":7}`, "label 7 outside the 2 classes"},
		{"label and class disagree", `{"path":"images/a/1.png","label":1,"class":"a"}`, "disagrees"},
		{"not an image", `{"path":"notes.txt","class":"a"}`, "not an image file"},
		{"wrong size", `{"path":"images/a/big.png","class":"a"}`, "all images must share one size"},
		{"idx ref past the end", `{"ref":"idx:src.idx#9","class":"a"}`, "holds only 2 images"},
		{"idx ref to a missing file", `{"ref":"idx:nope.idx#0","class":"a"}`, "nope.idx: no such file"},
		{"mix of an unknown class", `{"path":"images/a/1.png","class":"a","mix":{"with":"zebra","weight":0.3}}`, `"mix" names unknown class "zebra"`},
		{"mix with its own class", `{"path":"images/a/1.png","class":"a","mix":{"with":"a","weight":0.3}}`, "own class"},
		{"mix weight out of range", `{"path":"images/a/1.png","class":"a","mix":{"with":"b","weight":1}}`, "want a share in (0,1)"},
		{"mix without a class", `{"path":"images/a/1.png","class":"a","mix":{"weight":0.2}}`, `names no class`},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			dir := t.TempDir()
			writePNG(t, filepath.Join(dir, "images", "a", "1.png"), grayImage(3, 3, 0))
			writePNG(t, filepath.Join(dir, "images", "a", "big.png"), grayImage(4, 3, 0))
			writeFile(t, filepath.Join(dir, "notes.txt"), []byte("x"))
			imgs, _ := tinyIDX(2, 3, 3, 2)
			writeFile(t, filepath.Join(dir, "src.idx"), imgs)
			m := writeFile(t, filepath.Join(dir, "m.jsonl"), []byte(good+"\n"+good+"\n"+tc.bad+"\n"+good+"\n"))
			before := listTree(t, dir)
			_, _, err := ReadManifest(m, []string{"a", "b"})
			if err == nil {
				t.Fatal("no error")
			}
			if at := fmt.Sprintf("%s:3:", m); !strings.Contains(err.Error(), at) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q should name %s and say %q", err, at, tc.want)
			}
			if after := listTree(t, dir); !slices.Equal(before, after) {
				t.Errorf("files changed: %v -> %v", before, after)
			}
		})
	}
}

// A soft label ("mix") is read into Dataset.Mix by class name, written back by MarshalLine, and
// carried by Subset and Concat; records without one are hard labels.
func TestReadManifestMix(t *testing.T) {
	dir := t.TempDir()
	writePNG(t, filepath.Join(dir, "images", "a", "1.png"), grayImage(3, 3, 0))
	m := writeFile(t, filepath.Join(dir, "m.jsonl"), []byte(
		`{"path":"images/a/1.png","class":"a"}`+"\n"+
			`{"path":"images/a/1.png","class":"a","mix":{"with":"c","weight":0.25}}`+"\n"))
	ds, recs, err := ReadManifest(m, []string{"a", "b", "c"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []Mix{{}, {With: 2, Weight: 0.25}}; !slices.Equal(ds.Mix, want) {
		t.Fatalf("mix %v, want %v", ds.Mix, want)
	}
	line, err := recs[1].MarshalLine()
	if err != nil || !strings.Contains(string(line), `"mix":{"with":"c","weight":0.25}`) {
		t.Errorf("written line %s (%v) lost the soft label", line, err)
	}
	if line, _ := recs[0].MarshalLine(); strings.Contains(string(line), "mix") {
		t.Errorf("a hard label is written with a mix: %s", line)
	}
	if s := ds.Subset([]int{1, 0}); !slices.Equal(s.Mix, []Mix{{With: 2, Weight: 0.25}, {}}) {
		t.Errorf("subset mix %v", s.Mix)
	}
	hard := &Dataset{Name: "h", ClassNames: ds.ClassNames, C: 1, H: 3, W: 3, Images: make([]float32, 9), Labels: []int64{1}}
	cat, err := Concat("c", hard, ds)
	if err != nil || !slices.Equal(cat.Mix, []Mix{{}, {}, {With: 2, Weight: 0.25}}) || cat.Validate() != nil {
		t.Errorf("concat mix %v (%v, %v)", cat.Mix, err, cat.Validate())
	}
	ds.Mix[1].With = 0
	if err := ds.Validate(); err == nil || !strings.Contains(err.Error(), "soft label") {
		t.Errorf("a mix with the image's own class validates: %v", err)
	}
}
