package generate

import (
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/gam-native/gam-native/data"
	"github.com/gam-native/gam-native/internal/tmpfs"
	"github.com/gam-native/gam-native/plan"
)

func noiseCandidate(rng *rand.Rand, t *plan.Target, seq int) *Candidate {
	px := make([]float32, 28*28)
	for i := range px {
		px[i] = rng.Float32()
	}
	return &Candidate{Target: t, Pixels: px, Seed: uint64(seq), Seq: seq, Confidence: 0.5, ScreenProb: 0.9}
}

// pngsNotNamed lists the PNGs under dir (leaving out skip) that no record of manifest names.
func pngsNotNamed(t *testing.T, dir, skip, manifest string) []string {
	t.Helper()
	recs, err := data.ReadManifestRecords(manifest)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	named := map[string]bool{}
	for _, r := range recs {
		named[r.Path] = true
	}
	var out []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && p == skip {
			return filepath.SkipDir
		}
		rel, _ := filepath.Rel(dir, p)
		if !d.IsDir() && strings.HasSuffix(p, ".png") && !named[filepath.ToSlash(rel)] {
			out = append(out, rel)
		}
		return nil
	})
	return out
}

// TestSinkOnAFullDisk (issue 27, item 2): when the disk fills in the middle of a generation, the
// error names the file and says ENOSPC, and once the sink is closed no PNG is left that no record
// names, nor any temporary file; Sweep on reopening removes what a killed process would leave.
func TestSinkOnAFullDisk(t *testing.T) {
	root := tmpfs.Mount(t, 256<<10)
	dir, reviewDir := filepath.Join(root, "accepted"), filepath.Join(root, "review")
	s, err := OpenDirSink(dir, reviewDir, data.FashionMNISTClasses, 1, "test", 1, 28, 28)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	tgt := &plan.Target{ID: "coat/blurry", Class: 4, ClassName: "coat", Count: 1000}
	var werr error
	n := 0
	for werr == nil && n < 1000 {
		for range 16 {
			c := noiseCandidate(rng, tgt, n)
			if n%4 == 3 {
				werr = s.Pend(c)
			} else {
				werr = s.Accept(c)
			}
			n++
			if werr != nil {
				break
			}
		}
		if werr == nil {
			werr = s.Flush()
		}
	}
	if werr == nil {
		t.Fatalf("%d images fit a 256 KiB disk", n)
	}
	if !errors.Is(werr, syscall.ENOSPC) || !strings.Contains(werr.Error(), root) {
		t.Fatalf("error on a full disk: %v; want ENOSPC naming a path under %s", werr, root)
	}
	t.Logf("after %d images: %v", n, werr)
	s.Close() // its last Flush fails too, or commits what fits
	if left := pngsNotNamed(t, dir, reviewDir, filepath.Join(dir, "manifest.jsonl")); len(left) > 0 {
		t.Errorf("accepted PNGs that no record names: %v", left)
	}
	if left := pngsNotNamed(t, reviewDir, "", filepath.Join(reviewDir, "pending.jsonl")); len(left) > 0 {
		t.Errorf("pending PNGs that no record names: %v", left)
	}
	if tmp := tmpfs.Temporaries(t, root); len(tmp) > 0 {
		t.Errorf("temporary files left: %v", tmp)
	}

	// What a process killed between a batch's PNGs and its manifest append leaves.
	tmpfs.Resize(t, root, 8<<20)
	recorded := len(pngsNotNamed(t, dir, reviewDir, filepath.Join(root, "none.jsonl")))
	recs, err := data.ReadManifestRecords(filepath.Join(dir, "manifest.jsonl"))
	if err != nil || len(recs) == 0 {
		t.Fatalf("no record committed before the disk filled (%v)", err)
	}
	folder := filepath.Join(dir, filepath.FromSlash(path.Dir(recs[0].Path)))
	orphan := filepath.Join(folder, "r1_coat-blurry_999999.png")
	other := filepath.Join(folder, "r0_coat-blurry_000001.png") // another round's: not this sink's to sweep
	temp := filepath.Join(reviewDir, "images", ".x.png.tmp123")
	for _, p := range []string{orphan, other, temp} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s, err = OpenDirSink(dir, reviewDir, data.FashionMNISTClasses, 1, "test", 1, 28, 28)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	removed, err := s.Sweep()
	if err != nil || removed != 2 {
		t.Fatalf("Sweep removed %d (%v), want 2 (the orphan and the temporary)", removed, err)
	}
	for p, want := range map[string]bool{orphan: false, temp: false, other: true} {
		if _, err := os.Stat(p); (err == nil) != want {
			t.Errorf("%s: exists = %v after the sweep, want %v", p, err == nil, want)
		}
	}
	if got := len(pngsNotNamed(t, dir, reviewDir, filepath.Join(root, "none.jsonl"))); got != recorded+1 {
		t.Errorf("%d PNGs after the sweep, want the %d recorded and round 0's", got, recorded)
	}
}
