// Package testenv starts the real things end-to-end tests need: crated on
// port 0 with a temp dir, stock cargo with a temp CARGO_HOME, and external
// servers (PostgreSQL, an S3-compatible server, Dex) when the environment
// provides them. A missing server skips the test locally and fails it in CI.
package testenv

import (
	"os"
	"testing"
)

// InCI reports whether tests run under .ci/run, where every external server
// must be present.
func InCI() bool { return os.Getenv("CI") == "true" }

// Need skips the test when what is missing, or fails it in CI.
func Need(t testing.TB, what string) {
	t.Helper()
	if InCI() {
		t.Fatalf("%s is not available, but CI=true requires it (.ci/run should have started it)", what)
	}
	t.Skipf("skipping: %s is not available (set it up as .ci/run does to run this test)", what)
}
