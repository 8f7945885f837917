package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/gam-native/gam-native/internal/buildinfo"
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
	vcs := buildinfo.Of(bi)
	rev, when, modified := vcs.Revision, vcs.Time, vcs.Modified
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
