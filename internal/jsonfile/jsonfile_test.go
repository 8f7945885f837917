package jsonfile

import (
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
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

func TestWriteAtomicRefusesNonRegular(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		desc string
		make func(p string) error
	}{
		{"a folder", func(p string) error { return os.Mkdir(p, 0o755) }},
		{"a FIFO", func(p string) error { return syscall.Mkfifo(p, 0o644) }},
		{"a character device", func(p string) error {
			return syscall.Mknod(p, syscall.S_IFCHR|0o666, int(unix.Mkdev(1, 3)))
		}},
	}
	for i, c := range cases {
		p := filepath.Join(dir, fmt.Sprint("node", i))
		if err := c.make(p); err != nil {
			t.Logf("%s: cannot make (%v); skipped", c.desc, err)
			continue
		}
		before, _ := os.Lstat(p)
		err := WriteAtomic(p, []byte("x"))
		if err == nil || !strings.Contains(err.Error(), p) || strings.Contains(err.Error(), ".tmp") {
			t.Errorf("%s: want an error naming %s, got %v", c.desc, p, err)
		}
		after, err2 := os.Lstat(p)
		if err2 != nil || after.Mode().Type() != before.Mode().Type() {
			t.Errorf("%s: replaced: was %v, now %v (%v)", c.desc, before.Mode(), after, err2)
		}
	}
}
