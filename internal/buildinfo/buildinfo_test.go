package buildinfo

import (
	"runtime/debug"
	"testing"
)

func TestOf(t *testing.T) {
	bi := &debug.BuildInfo{Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc"}, {Key: "vcs.time", Value: "2026-12-03T00:00:00Z"},
		{Key: "vcs.modified", Value: "true"}, {Key: "GOOS", Value: "linux"}}}
	if v := Of(bi); v != (VCS{Revision: "abc", Time: "2026-12-03T00:00:00Z", Modified: true}) {
		t.Errorf("got %+v", v)
	}
	if v := Of(&debug.BuildInfo{}); v != (VCS{}) {
		t.Errorf("no settings: %+v", v)
	}
}
