package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestWriteReplaces(t *testing.T) {
	for _, c := range []struct {
		desc string
		sync Sync
	}{
		{"file and folder synced", SyncAll},
		{"file synced", SyncFile},
		{"nothing synced", SyncNone},
	} {
		dir := t.TempDir()
		p := filepath.Join(dir, "r.json")
		if err := WriteSync(p, []byte("old"), c.sync); err != nil {
			t.Fatalf("%s: %v", c.desc, err)
		}
		if fi, _ := os.Stat(p); fi.Mode().Perm()&0o044 == 0 {
			t.Errorf("%s: a new file is %v, want 0644 less the umask", c.desc, fi.Mode())
		}
		if err := os.Chmod(p, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := WriteSync(p, []byte("new"), c.sync); err != nil {
			t.Fatalf("%s: %v", c.desc, err)
		}
		if b, _ := os.ReadFile(p); string(b) != "new" {
			t.Errorf("%s: read back %q", c.desc, b)
		}
		if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: permissions %v, want the old file's 0600", c.desc, fi.Mode())
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 1 {
			t.Errorf("%s: temporary files left: %v", c.desc, ents)
		}
	}
}

func TestWriteErrorsNameThePathAndLeaveNoTemp(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("engine failed")
	for _, c := range []struct {
		desc  string
		path  string
		write func(p string) error
		want  string
	}{
		{"a folder in the way", sub, func(p string) error { return Write(p, []byte("x")) }, "not a regular file"},
		{"a FIFO in the way", fifo, func(p string) error { return Write(p, []byte("x")) }, "not a regular file"},
		{"a missing folder", filepath.Join(dir, "none", "f"), func(p string) error { return Write(p, []byte("x")) }, "no such file"},
		{"fill fails", filepath.Join(dir, "m.pt"), func(p string) error {
			return WriteWith(p, func(string) error { return boom })
		}, "engine failed"},
		{"an empty path", "", func(p string) error { return Write(p, nil) }, "empty"},
	} {
		err := c.write(c.path)
		if err == nil || !strings.Contains(err.Error(), c.path) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: want an error naming %q and saying %q, got %v", c.desc, c.path, c.want, err)
		}
		if err != nil && strings.Contains(err.Error(), tempTag) {
			t.Errorf("%s: the error names the temporary file: %v", c.desc, err)
		}
		if c.desc == "fill fails" && !errors.Is(err, boom) {
			t.Errorf("%s: fill's error is not wrapped: %v", c.desc, err)
		}
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if IsTemp(e.Name()) {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
	if fi, err := os.Lstat(fifo); err != nil || fi.Mode().Type() != os.ModeNamedPipe {
		t.Errorf("the FIFO was replaced: %v, %v", fi, err)
	}
}

func TestWriteWithSyncsWhatFillWrote(t *testing.T) {
	p := filepath.Join(t.TempDir(), "model.pt")
	err := WriteWith(p, func(tmp string) error {
		if !IsTemp(filepath.Base(tmp)) || filepath.Dir(tmp) != filepath.Dir(p) {
			t.Errorf("temporary file %s: want a temporary name beside %s", tmp, p)
		}
		return os.WriteFile(tmp, []byte("weights"), 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "weights" {
		t.Fatalf("read back %q", b)
	}
}

func TestIsTemp(t *testing.T) {
	for _, c := range []struct {
		name string
		want bool
	}{
		{".state.json.tmp0a1b2c3d4e5f", true},
		{"state.json", false},
		{".hidden", false},
		{"model.tmp.pt", false},
	} {
		if got := IsTemp(c.name); got != c.want {
			t.Errorf("IsTemp(%q) = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestPublishDir(t *testing.T) {
	parent := t.TempDir()
	tmp := filepath.Join(parent, ".export123")
	if err := os.MkdirAll(filepath.Join(tmp, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "sub", "m.pt"), []byte("weights"), 0o644); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(parent, "cnn-1x32x32")
	if err := PublishDir(tmp, dst); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dst, "sub", "m.pt")); err != nil || string(b) != "weights" {
		t.Fatalf("published folder: %q, %v", b, err)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatalf("the temporary folder is still there: %v", err)
	}
	// A second export of the same key finds it published and is refused, the first one kept.
	if err := os.MkdirAll(filepath.Join(tmp, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(tmp, "sub", "m.pt"), []byte("other"), 0o644)
	var le *os.LinkError
	if err := PublishDir(tmp, dst); !errors.As(err, &le) {
		t.Fatalf("publishing over an existing folder: want an *os.LinkError, got %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "sub", "m.pt")); string(b) != "weights" {
		t.Fatalf("the published folder was replaced: %q", b)
	}
}
