package acl

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

const loader = "/lib64/ld-linux-x86-64.so.2"

// runAs runs argv as uid:gid with no supplementary groups and no
// capabilities (setuid from root drops them, capabilities(7)), and
// returns its output.
func runAs(uid, gid uint32, argv ...string) (string, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: uid, Gid: gid, Groups: []uint32{}},
	}
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C"}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// effectSetup copies the system's rm into a directory every user can
// traverse, and returns the copy's path and the uids to run it as.
func effectSetup(t *testing.T) (rm string, www, nobody uint32) {
	t.Helper()
	requireRoot(t)
	www = requireUser(t, "www-data")
	nobody = requireUser(t, "nobody")
	if _, err := os.Stat(loader); err != nil {
		skipOrFail(t, "no dynamic loader at "+loader)
	}
	data, err := os.ReadFile("/usr/bin/rm")
	if err != nil {
		skipOrFail(t, "no /usr/bin/rm to copy: "+err.Error())
	}
	dir := publicTempDir(t)
	requireACLs(t, dir)
	rm = filepath.Join(dir, "usr/bin/rm")
	writeFile(t, rm, data, 0o755)
	return rm, www, nobody
}

// mustRun fails unless argv runs as uid and prints rm's version.
func mustRun(t *testing.T, who string, uid, gid uint32, argv ...string) {
	t.Helper()
	out, err := runAs(uid, gid, argv...)
	if err != nil || !strings.Contains(out, "rm (GNU coreutils)") {
		t.Errorf("%s: %s: %v\n%s", who, strings.Join(argv, " "), err, out)
	}
}

// mustBeDenied fails unless argv, run as uid, fails with "Permission
// denied" (from execve itself, or printed by the loader or cat).
func mustBeDenied(t *testing.T, who string, uid, gid uint32, argv ...string) {
	t.Helper()
	out, err := runAs(uid, gid, argv...)
	var ee *exec.ExitError
	switch {
	case err == nil:
		t.Errorf("%s: %s ran:\n%s", who, strings.Join(argv, " "), out)
	case errors.Is(err, syscall.EACCES):
		// execve refused it.
	case errors.As(err, &ee) && strings.Contains(out, "Permission denied"):
		// It started and could not read the file.
	default:
		t.Errorf("%s: %s: %v, want permission denied\n%s", who, strings.Join(argv, " "), err, out)
	}
}

// TestDenyEffect proves the deny with the kernel, not the bytes: the HTTP
// user can no longer run rm, neither directly, nor through the dynamic
// loader, nor by reading it to make a copy; root and another user still
// run it.
func TestDenyEffect(t *testing.T) {
	rm, www, nobody := effectSetup(t)
	dir := strings.TrimSuffix(rm, "/usr/bin/rm")

	// Without the deny, www-data runs it both ways: the test can fail.
	mustRun(t, "www-data before the deny", www, www, rm, "--version")
	mustRun(t, "www-data before the deny, through the loader", www, www, loader, rm, "--version")

	res := Deny([]DenyTarget{{Tree: dir, Path: "/usr/bin/rm"}}, www, false)
	if res[0].Err != nil || res[0].Status != Changed {
		t.Fatalf("Deny = %+v", res[0])
	}

	mustBeDenied(t, "www-data", www, www, rm, "--version")
	mustBeDenied(t, "www-data through the loader", www, www, loader, rm, "--version")
	mustBeDenied(t, "www-data copying it", www, www, "/bin/cat", rm)
	mustRun(t, "root", 0, 0, rm, "--version")
	mustRun(t, "nobody", nobody, nobody, rm, "--version")
	mustRun(t, "nobody through the loader", nobody, nobody, loader, rm, "--version")
}

// TestExecuteOnlyIsNotEnough shows why the entry is --- and not r--:
// taking away only the execute bit leaves the loader's way open.
func TestExecuteOnlyIsNotEnough(t *testing.T) {
	rm, www, _ := effectSetup(t)
	f := openRead(t, rm)
	a, err := Read(f)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(f, a.SetUser(www, PermRead)); err != nil {
		t.Fatal(err)
	}
	mustBeDenied(t, "www-data with r--", www, www, rm, "--version")
	mustRun(t, "www-data with r--, through the loader", www, www, loader, rm, "--version")
}

// TestDenyAfterUpgrade replaces a denied binary the way dpkg does (the
// new file written beside it, then renamed over it): the new inode has
// no entry, and the next Deny restores it.
func TestDenyAfterUpgrade(t *testing.T) {
	rm, www, _ := effectSetup(t)
	dir := strings.TrimSuffix(rm, "/usr/bin/rm")
	targets := []DenyTarget{{Tree: dir, Path: "/usr/bin/rm"}}
	if r := Deny(targets, www, false)[0]; r.Status != Changed {
		t.Fatalf("first Deny = %+v", r)
	}
	mustBeDenied(t, "www-data", www, www, rm, "--version")

	// The upgrade: dpkg unpacks to PATH.dpkg-new, then renames it over
	// PATH, so no process sees a half-written binary.
	data, err := os.ReadFile(rm)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, rm+".dpkg-new", data, 0o755)
	if err := os.Rename(rm+".dpkg-new", rm); err != nil {
		t.Fatal(err)
	}
	if raw := rawXattr(t, rm); raw != nil {
		t.Fatalf("the upgraded binary kept an ACL: %x", raw)
	}
	mustRun(t, "www-data after the upgrade, before Deny", www, www, rm, "--version")

	if r := Deny(targets, www, false)[0]; r.Status != Changed || r.Err != nil {
		t.Fatalf("Deny after the upgrade = %+v, want changed", r)
	}
	mustBeDenied(t, "www-data after Deny", www, www, rm, "--version")
	mustBeDenied(t, "www-data after Deny, through the loader", www, www, loader, rm, "--version")
	if r := Deny(targets, www, false)[0]; r.Status != Unchanged {
		t.Errorf("Deny once more = %+v, want unchanged", r)
	}
}
