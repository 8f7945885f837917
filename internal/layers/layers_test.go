// Package layers_test checks the direction of the imports, which is the architecture: only
// bindings imports "C"; plan and data import no project package but stdlib-only leaves of
// internal/ (data writes files through internal/atomicfile); nothing imports cmd.
package layers_test

import (
	"go/build"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/gam-native/gam-native/"

// imports maps each package folder of the repo (relative, slash-separated) to its non-test
// imports.
func imports(t *testing.T) map[string][]string {
	t.Helper()
	root := filepath.Join("..", "..")
	out := map[string][]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if name := d.Name(); rel != "." && (strings.HasPrefix(name, ".") || name == "build" || name == "runs" || name == "scratch" || name == "testdata") {
			return filepath.SkipDir
		}
		pkg, err := build.ImportDir(p, 0)
		if err != nil {
			return nil // no Go files here
		}
		out[rel] = pkg.Imports
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 10 {
		t.Fatalf("found only %d packages under %s", len(out), root)
	}
	return out
}

func project(imps []string) []string {
	var p []string
	for _, i := range imps {
		if rest, ok := strings.CutPrefix(i, module); ok {
			p = append(p, rest)
		}
	}
	return p
}

func TestImportDirection(t *testing.T) {
	all := imports(t)
	for dir, imps := range all {
		if slices.Contains(imps, "C") && dir != "bindings" {
			t.Errorf("%s imports \"C\": only bindings may", dir)
		}
		for _, p := range project(imps) {
			if p == "cmd" || strings.HasPrefix(p, "cmd/") {
				t.Errorf("%s imports %s: nothing imports cmd", dir, p)
			}
		}
	}
	for _, dir := range []string{"plan", "data"} {
		for _, p := range project(all[dir]) {
			if !strings.HasPrefix(p, "internal/") || len(project(all[p])) > 0 || slices.Contains(all[p], "C") {
				t.Errorf("%s imports %s: plan and data import no project package but stdlib-only leaves of internal/", dir, p)
			}
		}
		for _, i := range all[dir] {
			if strings.Contains(i, "go-nvml") {
				t.Errorf("%s imports %s: it must build with CGO_ENABLED=0 (hostres reads NVML)", dir, i)
			}
		}
	}
}
