package review

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestAtomicWriteMissingFolderNamesIt(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "missing")
	err := atomicWrite(filepath.Join(dir, "tasks.json"), []byte("[]"))
	if err == nil || !strings.Contains(err.Error(), dir) || strings.Contains(err.Error(), ".tmp") {
		t.Fatalf("want an error naming folder %s, got %v", dir, err)
	}
}
