package review

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/gam-native/gam-native/data"
)

// TestApplyMergesDecisions (issue 22, item 3): accepted and relabeled images join the dataset
// under their class's folder with one record each; a rejected one stays out; a second apply
// changes no byte; a changed decision takes the image out again or moves it.
func TestApplyMergesDecisions(t *testing.T) {
	run := makeRun(t, 6)
	ds := filepath.Join(run, "accepted")
	// One image the generator accepted on its own: the apply leaves it as it is.
	own := data.Record{V: 1, Path: "trouser/r1_trouser_000001.png", Label: 1, Class: "trouser", Source: data.SourceGenerated,
		Provenance: &data.Provenance{Round: 1, Target: "trouser"}}
	must(t, os.MkdirAll(filepath.Join(ds, "trouser"), 0o755))
	must(t, os.WriteFile(filepath.Join(ds, filepath.FromSlash(own.Path)), []byte("png"), 0o644))
	must(t, data.RewriteManifest(ds, []data.Record{own}))
	q := []data.Record{queueRecord(0), queueRecord(1), queueRecord(2)}
	decide := func(ds ...Decision) {
		for i := range ds {
			ds[i].Reviewer, ds[i].Time = "ann", "2026-12-04T01:00:00Z"
		}
		must(t, AppendDecisions(run, ds...))
	}
	decide(Decision{Path: q[0].Path, Decision: Accept}, Decision{Path: q[1].Path, Decision: Relabel, Class: "coat", Label: 4},
		Decision{Path: q[2].Path, Decision: Reject})
	res, err := Apply(run, ds, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res != (ApplyResult{Accepted: 1, Relabeled: 1, Rejected: 1}) {
		t.Fatalf("apply: %+v", res)
	}
	want := map[string]string{ // path -> class
		own.Path:                         "trouser",
		"t-shirt%2Ftop/r1_t0_000000.png": "t-shirt/top", // testClasses[0] holds a "/"
		"coat/r1_t1_000001.png":          "coat",
	}
	check := func(want map[string]string) []byte {
		t.Helper()
		recs, err := data.ReadManifestRecords(filepath.Join(ds, data.ManifestName))
		must(t, err)
		if len(recs) != len(want) {
			t.Fatalf("%d records, want %d: %+v", len(recs), len(want), recs)
		}
		for _, r := range recs {
			if want[r.Path] != r.Class {
				t.Errorf("record %s of class %q, want %q", r.Path, r.Class, want[r.Path])
			}
			if _, err := os.Stat(filepath.Join(ds, filepath.FromSlash(r.Path))); err != nil {
				t.Error(err)
			}
		}
		meta, err := os.ReadFile(filepath.Join(ds, data.MetadataName))
		must(t, err)
		n := 0
		for sc := bufio.NewScanner(bytes.NewReader(meta)); sc.Scan(); n++ {
			var row data.MetadataRow
			must(t, json.Unmarshal(sc.Bytes(), &row))
			if want[row.FileName] != row.Label {
				t.Errorf("metadata %s labelled %q, want %q", row.FileName, row.Label, want[row.FileName])
			}
		}
		if n != len(want) {
			t.Errorf("metadata.jsonl has %d rows, want %d", n, len(want))
		}
		b, _ := os.ReadFile(filepath.Join(ds, data.ManifestName))
		return b
	}
	first := check(want)
	if res, err := Apply(run, ds, nil); err != nil || res.Removed != 0 {
		t.Fatalf("second apply: %+v, %v", res, err)
	}
	if again := check(want); !bytes.Equal(again, first) {
		t.Fatalf("a second apply changed the manifest:\n%s\n%s", first, again)
	}
	// Minds changed: the accepted one rejected, the relabeled one relabeled again.
	decide(Decision{Path: q[0].Path, Decision: Reject}, Decision{Path: q[1].Path, Decision: Relabel, Class: "bag", Label: 8})
	if res, err = Apply(run, ds, nil); err != nil || res.Removed != 2 || res.Relabeled != 1 {
		t.Fatalf("apply after the changes: %+v, %v", res, err)
	}
	check(map[string]string{own.Path: "trouser", "bag/r1_t1_000001.png": "bag"})
	for _, gone := range []string{"t-shirt%2Ftop/r1_t0_000000.png", "coat/r1_t1_000001.png"} {
		if _, err := os.Stat(filepath.Join(ds, gone)); !os.IsNotExist(err) {
			t.Errorf("%s is still in the dataset: %v", gone, err)
		}
	}
}
