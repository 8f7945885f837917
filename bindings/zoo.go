package bindings

import (
	"os"
	"path/filepath"
)

// ZooModels are the built-in models `make` exports to TorchScript, by file name.
var ZooModels = map[string]Role{
	"cvae.pt":      RoleGenerator,
	"cvae_conv.pt": RoleGenerator,
	"cgan.pt":      RoleGenerator,
	"cnn.pt":       RoleClassifier,
	"screen.pt":    RoleClassifier,
}

// FindZoo returns the folder of the built-in model zoo: $GAM_ZOO, else zoo/ beside the binary,
// else build/zoo in the working directory or a parent. Empty when none has the zoo's files.
func FindZoo() string {
	var cands []string
	if z := os.Getenv("GAM_ZOO"); z != "" {
		cands = append(cands, z)
	}
	if exe, err := os.Executable(); err == nil {
		if r, err := filepath.EvalSymlinks(exe); err == nil {
			exe = r
		}
		cands = append(cands, filepath.Join(filepath.Dir(exe), "zoo"))
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			cands = append(cands, filepath.Join(d, "build", "zoo"))
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	for _, c := range cands {
		if _, err := os.Stat(filepath.Join(c, "cvae.pt")); err == nil {
			return filepath.Clean(c)
		}
	}
	return ""
}
