package data

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func genRecord(i int) Record {
	return Record{Path: fmt.Sprintf("images/a/%03d.png", i), Label: 0, Class: "a", Source: SourceGenerated,
		Provenance: &Provenance{Round: 1, Seed: uint64(i), Confidence: 0.5, ScreenProb: 0.9}}
}

func TestManifestWriterResume(t *testing.T) {
	path := filepath.Join(t.TempDir(), ManifestName)
	w, err := OpenManifestWriter(path)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := w.Append(genRecord(0), genRecord(1)); n != 2 || err != nil {
		t.Fatalf("append: %d, %v", n, err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	line2, _ := (&Record{V: 1, Path: "images/a/002.png", Label: 0}).MarshalLine()
	whole, _ := os.ReadFile(path)
	for _, tc := range []struct {
		desc string
		tail string // bytes a killed append left
		torn int
	}{
		{"clean end", "", 0},
		{"half a line", string(line2[:len(line2)/2]), len(line2) / 2},
		{"a whole line without its newline", string(line2[:len(line2)-1]), len(line2) - 1},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			writeFile(t, path, append(append([]byte{}, whole...), tc.tail...))
			w, err := OpenManifestWriter(path)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			if w.TornBytes() != tc.torn || len(w.Records()) != 2 {
				t.Fatalf("torn %d records %d, want %d and 2", w.TornBytes(), len(w.Records()), tc.torn)
			}
			// A resumed run appends its last batch again, plus new records.
			n, err := w.Append(genRecord(1), genRecord(2), genRecord(3))
			if n != 2 || err != nil {
				t.Fatalf("append after resume: %d, %v; want 2 new", n, err)
			}
			recs, err := ReadManifestRecords(path)
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range recs {
				if r.Path != genRecord(i).Path {
					t.Errorf("record %d is %s", i, r.Path)
				}
			}
			if len(recs) != 4 {
				t.Errorf("%d records, want 4", len(recs))
			}
		})
	}
}

func TestManifestWriterBadInput(t *testing.T) {
	changed := genRecord(1)
	changed.Provenance.Seed = 99
	bad := genRecord(5)
	bad.Attrs = map[string]float32{"fog": 1}
	for _, tc := range []struct {
		desc  string
		batch []Record
		want  string
	}{
		{"invalid record in the batch", []Record{genRecord(4), bad}, `unknown attribute "fog"`},
		{"same path, other content", []Record{genRecord(4), changed}, "already in the manifest with other content"},
		{"same path twice in one batch", []Record{genRecord(4), changed, func() Record { r := changed; r.Provenance = &Provenance{Seed: 7}; return r }()}, "other content"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), ManifestName)
			w, err := OpenManifestWriter(path)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			if _, err := w.Append(genRecord(0), genRecord(1)); err != nil {
				t.Fatal(err)
			}
			before, _ := os.ReadFile(path)
			n, err := w.Append(tc.batch...)
			if err == nil || n != 0 || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("append: %d, %v; want 0 and an error naming %s saying %q", n, err, path, tc.want)
			}
			if after, _ := os.ReadFile(path); string(after) != string(before) {
				t.Errorf("file changed:\n%s", after)
			}
		})
	}
}

func TestManifestWriterCorruptLine(t *testing.T) {
	path := writeFile(t, filepath.Join(t.TempDir(), ManifestName), []byte("{\"path\":\"a.png\",\"label\":0}\nnot json\n"))
	_, err := OpenManifestWriter(path)
	if err == nil || !strings.Contains(err.Error(), path+":2:") {
		t.Errorf("error %v, want one naming %s:2", err, path)
	}
}
