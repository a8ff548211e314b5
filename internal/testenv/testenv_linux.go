package testenv

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

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

// InMountNS runs the calling top-level test again, alone, in a new mount
// namespace whose TestMain calls PrivateMounts(env), and reports its
// result. It returns true in that re-executed test, which then runs its
// body, and false in the caller, which returns.
func InMountNS(t *testing.T, env string) bool {
	t.Helper()
	if os.Getenv(env) == "1" {
		return true
	}
	RequireRoot(t)
	args := []string{"-test.run=^" + regexp.QuoteMeta(t.Name()) + "$", "-test.count=1", "-test.v"}
	if testing.Short() {
		args = append(args, "-test.short")
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), env+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: unix.CLONE_NEWNS}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("in a new mount namespace: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("--- PASS: "+t.Name())) {
		if bytes.Contains(out, []byte("--- SKIP: "+t.Name())) {
			t.Skipf("skipped in the mount namespace:\n%s", out)
		}
		t.Fatalf("the test did not run in the mount namespace:\n%s", out)
	}
	if testing.Verbose() {
		t.Logf("in a new mount namespace:\n%s", out)
	}
	return false
}
