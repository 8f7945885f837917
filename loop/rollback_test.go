package loop

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gam-native/gam-native/data"
)

// TestRolledBackImagesLeaveAccepted (issue 22, item 2): the images of a rolled-back target move
// from accepted/ (the ImageFolder root a training service reads) to rolled_back/, with their
// records; the others stay; a second move (a redone feedback stage) changes nothing.
func TestRolledBackImagesLeaveAccepted(t *testing.T) {
	dir := t.TempDir()
	acc := filepath.Join(dir, "accepted")
	var recs []data.Record
	for i, tg := range []string{"shirt", "coat/blurry", "shirt", "coat/blurry", "coat/blurry"} {
		cls, _, _ := strings.Cut(tg, "/")
		r := data.Record{V: 1, Path: fmt.Sprintf("%s/r1_%d.png", cls, i), Class: cls, Label: map[string]int64{"shirt": 6, "coat": 4}[cls],
			Source: data.SourceGenerated, Provenance: &data.Provenance{Round: 1, Target: tg}}
		if i == 4 {
			r.Provenance.Review = "accepted" // a reviewer's: stays
		}
		os.MkdirAll(filepath.Join(acc, cls), 0o755)
		if err := os.WriteFile(filepath.Join(acc, filepath.FromSlash(r.Path)), []byte{byte(i)}, 0o644); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	if err := data.RewriteManifest(acc, recs); err != nil {
		t.Fatal(err)
	}
	r := &Runner{Dir: dir, State: &State{RolledBack: []string{"1/coat/blurry", "0/shirt"}}}
	for pass := range 2 {
		if err := r.moveRolledBack(); err != nil {
			t.Fatal(err)
		}
		kept, _ := data.ReadManifestRecords(filepath.Join(acc, data.ManifestName))
		moved, _ := data.ReadManifestRecords(filepath.Join(dir, rolledBackDir, data.ManifestName))
		if len(kept) != 3 || len(moved) != 2 || moved[0].Path != "coat/r1_1.png" || moved[1].Path != "coat/r1_3.png" {
			t.Fatalf("pass %d: kept %v, moved %v", pass, kept, moved)
		}
		for _, p := range []string{"coat/r1_1.png", "coat/r1_3.png"} {
			if _, err := os.Stat(filepath.Join(acc, p)); !os.IsNotExist(err) {
				t.Errorf("%s still in accepted/", p)
			}
			if b, err := os.ReadFile(filepath.Join(dir, rolledBackDir, p)); err != nil || len(b) != 1 {
				t.Errorf("%s not in rolled_back/: %v", p, err)
			}
		}
		meta, _ := os.ReadFile(filepath.Join(acc, data.MetadataName))
		if n := countLines(meta); n != 3 {
			t.Errorf("accepted/metadata.jsonl has %d rows, want 3", n)
		}
	}
	// A kill after the commit leaves the old names: the next move removes them.
	os.WriteFile(filepath.Join(acc, "coat", "r1_1.png"), []byte{1}, 0o644)
	if err := r.moveRolledBack(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(acc, "coat", "r1_1.png")); !os.IsNotExist(err) {
		t.Error("a leftover of a moved image stays in accepted/")
	}
	ds, all, err := r.acceptedWithRolledBack([]string{"t", "trouser", "pullover", "dress", "coat", "sandal", "shirt"})
	if err == nil && (ds == nil || len(all) != 5) {
		t.Errorf("accepted with rolled back: %d records", len(all))
	}
}

func countLines(b []byte) int {
	n := 0
	for _, c := range b {
		if c == '\n' {
			n++
		}
	}
	return n
}
