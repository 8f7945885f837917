package bindings

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gam-native/gam-native/internal/tmpfs"
)

// TestSaveOnAFullDisk (issue 27, item 2): a model saved to a full file system is an error naming
// the path and the cause, not a std::terminate from PyTorchStreamWriter's destructor; the previous
// file stays and no temporary file is left.
func TestSaveOnAFullDisk(t *testing.T) {
	e := testEngine(t)
	defer e.Close()
	g := ok(e.LoadModel(zooFile(t, "cvae.pt"), RoleGenerator))
	defer g.Close()
	small := ok(e.LoadModel(fixtureFile(t, "null_screen.pt"), RoleClassifier))
	defer small.Close()
	dir := tmpfs.Mount(t, 1<<20) // the cVAE takes several MB
	dst := filepath.Join(dir, "generator.pt")
	noErr(t, small.Save(dst)) // the previous file
	before, err := os.ReadFile(dst)
	noErr(t, err)
	err = g.Save(dst)
	if err == nil {
		t.Fatal("saving a model larger than the disk succeeded")
	}
	for _, w := range []string{dst, "No space left on device"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
	t.Logf("save to a full disk: %v", err)
	after, err := os.ReadFile(dst)
	noErr(t, err)
	if string(after) != string(before) {
		t.Errorf("the previous file changed (%d bytes, was %d)", len(after), len(before))
	}
	if tmp := tmpfs.Temporaries(t, dir); len(tmp) > 0 {
		t.Errorf("temporary files left: %v", tmp)
	}
	// The engine is still usable: the same save to a roomier folder works.
	noErr(t, g.Save(filepath.Join(t.TempDir(), "generator.pt")))
}
