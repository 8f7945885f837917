package loop

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gam-native/gam-native/internal/dirlock"
)

// TestSweepLeftovers: the temporary files a write cut short leaves anywhere in a run folder are
// removed (issue 27, item 2); the lock and every other file stay.
func TestSweepLeftovers(t *testing.T) {
	dir := t.TempDir()
	files := map[string]bool{ // name -> kept
		"models/.generator.pt.tmp29724ac89a9b":       false,
		"accepted/coat/.r1_coat_000001.png.tmp0a1b2": false,
		".state.json.tmp1234":                        false,
		".job123.toml":                               false,
		"review/.reviewed42.jsonl":                   false,
		dirlock.Name:                                 true,
		"models/generator.pt":                        true,
		"accepted/coat/r1_coat_000001.png":           true,
		"accepted/.hidden-by-user":                   true,
		"state.json":                                 true,
	}
	for f := range files {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sweepLeftovers(dir)
	for f, kept := range files {
		if _, err := os.Stat(filepath.Join(dir, f)); (err == nil) != kept {
			t.Errorf("%s: exists = %v after the sweep, want %v", f, err == nil, kept)
		}
	}
}
