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
	"fmt"
	"os"
	"os/exec"
	"testing"

	"golang.org/x/sys/unix"
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

// PrivateMounts is for a TestMain whose package re-executes its test
// binary in a new mount namespace, marked by env=1 in its environment.
// There it makes every mount of the namespace private, so that nothing a
// test mounts reaches the host's tree (mount_namespaces(7)); a failure
// ends the process. Elsewhere it does nothing.
func PrivateMounts(env string) {
	if os.Getenv(env) != "1" {
		return
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		fmt.Fprintln(os.Stderr, "make / rprivate:", err)
		os.Exit(1)
	}
}
