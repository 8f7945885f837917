package jsonfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteThenReadAndErrors(t *testing.T) {
	p := filepath.Join(t.TempDir(), "sub", "r.json")
	if err := WriteJSON(p, map[string]int{"a": 1}); err != nil {
		t.Fatal(err)
	}
	var got map[string]int
	if err := ReadJSON(p, &got); err != nil || got["a"] != 1 {
		t.Fatalf("read back %v, %v", got, err)
	}
	if b, _ := os.ReadFile(p); !strings.HasSuffix(string(b), "}\n") {
		t.Fatalf("no final newline: %q", b)
	}
	if ents, _ := os.ReadDir(filepath.Dir(p)); len(ents) != 1 {
		t.Fatalf("temporary files left: %v", ents)
	}
	if err := WriteAtomic(p, []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	if err := ReadJSON(p, &got); err == nil || !strings.Contains(err.Error(), p) {
		t.Fatalf("bad JSON: want an error naming %s, got %v", p, err)
	}
}
