// Package buildinfo reads the commit a binary was built from (Go's VCS stamping), for --version
// and the bench's results.
package buildinfo

import "runtime/debug"

// VCS is the build's vcs.revision, vcs.time and vcs.modified settings; empty when the binary was
// built without VCS stamping (-buildvcs=false, or outside a repository).
type VCS struct {
	Revision string
	Time     string
	Modified bool
}

// Of reads bi's VCS settings.
func Of(bi *debug.BuildInfo) VCS {
	var v VCS
	for _, st := range bi.Settings {
		switch st.Key {
		case "vcs.revision":
			v.Revision = st.Value
		case "vcs.time":
			v.Time = st.Value
		case "vcs.modified":
			v.Modified = st.Value == "true"
		}
	}
	return v
}
