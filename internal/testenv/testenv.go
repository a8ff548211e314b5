// Package testenv holds what phpguard's tests share about the machine
// they run on: whether it can run a test that needs root, a tool or a
// private mount namespace, and what to do when it cannot.
//
// A test that lacks something it needs skips with the reason, unless
// PHPGUARD_REQUIRE_ALL=1 (set by .ci/run, which installs everything):
// then it fails, so CI never passes by skipping. testenv is for tests
// only; nothing else imports it.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// SkipOrFail skips the test, or fails it when PHPGUARD_REQUIRE_ALL=1.
func SkipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("PHPGUARD_REQUIRE_ALL") == "1" {
		t.Fatalf("required (PHPGUARD_REQUIRE_ALL=1): "+format, args...)
	}
	t.Skipf(format, args...)
}

// RequireRoot skips unless the test runs as root.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		SkipOrFail(t, "needs root")
	}
}

// RequireTool skips unless the named program is installed, and returns
// its path.
func RequireTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		SkipOrFail(t, "needs %s: %v", name, err)
	}
	return p
}
