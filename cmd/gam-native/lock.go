package main

import (
	"os"

	"github.com/gam-native/gam-native/internal/dirlock"
)

// lockDir holds an output folder (created when missing) for this process: a second process on
// the same folder is refused with the holder's pid (internal/dirlock). The release removes the
// folder again when this process created it and left it empty (a command that failed early).
func lockDir(dir string) (func(), error) {
	_, err := os.Stat(dir)
	created := os.IsNotExist(err)
	l, err := dirlock.AcquireDir(dir)
	if err != nil {
		return nil, err
	}
	return func() {
		l.Release()
		if created {
			os.Remove(dir) // only an empty folder is removed
		}
	}, nil
}
