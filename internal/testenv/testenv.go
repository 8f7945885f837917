// Package testenv is what every package's tests share about the test machine: GAM_REQUIRE_ENGINE=1
// (as `make test` sets) turns a missing engine, zoo, fixture or data set from a skip into a
// failure, so that a suite never passes by skipping. It imports only the standard library, so
// that any package's tests can use it (bindings' and data's too); internal/testengine opens the
// engine on top of it.
package testenv

import (
	"fmt"
	"os"
	"testing"
)

// Required reports whether GAM_REQUIRE_ENGINE=1: what a test needs must be there.
func Required() bool { return os.Getenv("GAM_REQUIRE_ENGINE") == "1" }

// Missing skips t, saying what is missing, or fails it when Required.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if Required() {
		t.Fatalf("%s (GAM_REQUIRE_ENGINE=1)", msg)
	}
	t.Skip(msg)
}

// NeedFile returns path, calling Missing (what names it, and how to get it) when it does not exist.
func NeedFile(t testing.TB, path, what string) string {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		Missing(t, "%s: %v", what, err)
	}
	return path
}
