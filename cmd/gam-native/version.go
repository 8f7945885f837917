package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is what --version prints: the module's version, the commit the binary was built
// from (vcs.revision, "+modified" when the tree had uncommitted changes) and the Go version.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown (no build info) " + runtime.Version()
	}
	return versionOf(bi)
}

func versionOf(bi *debug.BuildInfo) string {
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, when string
	modified := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		case "vcs.time":
			when = s.Value
		}
	}
	commit := "commit unknown (built without VCS stamping: -buildvcs=false, or outside the repository)"
	if rev != "" {
		commit = "commit " + rev
		if modified {
			commit += "+modified (uncommitted changes)"
		}
		if when != "" {
			commit += " of " + when
		}
	}
	return fmt.Sprintf("%s, %s, %s", v, commit, bi.GoVersion)
}
