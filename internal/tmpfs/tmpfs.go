// Package tmpfs mounts a small tmpfs for tests of full disks (ENOSPC), skipping the test where
// mounting is not permitted (not root, no CAP_SYS_ADMIN, a container without mount rights).
package tmpfs

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// Mount mounts a tmpfs of size bytes on a new folder under t.TempDir() and unmounts it when the
// test ends. It skips the test when the mount is refused.
func Mount(t testing.TB, size int64) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tmpfs")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d", size)); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v): the full-disk test needs root or CAP_SYS_ADMIN", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// Resize changes the size of the tmpfs Mount made at dir (a remount; what it holds stays).
func Resize(t testing.TB, dir string, size int64) {
	t.Helper()
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_REMOUNT, fmt.Sprintf("size=%d", size)); err != nil {
		t.Fatalf("resize the tmpfs at %s to %d bytes: %v", dir, size, err)
	}
}

// Temporaries lists the hidden files under dir (names starting with ".", other than the run
// folder's ".lock"), relative to dir: what a write cut short leaves behind (".x.tmp123",
// ".job123.toml").
func Temporaries(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if n := d.Name(); !d.IsDir() && strings.HasPrefix(n, ".") && n != ".lock" {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	return out
}
