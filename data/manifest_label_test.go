package data

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestManifestHugeLabelIsRefused: a manifest whose one record has label 2,000,000,000 is refused
// at once, naming the first class no record names; it used to size a list of 2e9 class names
// and run out of memory (found by FuzzManifestClasses; issue 22, item 7).
func TestManifestHugeLabelIsRefused(t *testing.T) {
	p := filepath.Join(t.TempDir(), "m.jsonl")
	if err := os.WriteFile(p, []byte(`{"path":"a.png","label":2000000000,"class":"a"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := ReadManifest(p, nil)
	if err == nil || !strings.Contains(err.Error(), "no record names class 0") {
		t.Fatalf("ReadManifest: %v; want the error naming class 0", err)
	}
}
