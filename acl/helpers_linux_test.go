package acl

import (
	"errors"
	"github.com/phpguard/phpguard/internal/testenv"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

var (
	skipOrFail  = testenv.SkipOrFail
	requireRoot = testenv.RequireRoot
	requireTool = testenv.RequireTool
)

// requireUser skips unless the system knows the user, and returns its uid.
func requireUser(t testing.TB, name string) uint32 {
	t.Helper()
	u, err := user.Lookup(name)
	if err != nil {
		skipOrFail(t, "no user "+name+": "+err.Error())
		return 0
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		t.Fatalf("uid of %s: %v", name, err)
	}
	return uint32(uid)
}

// requireACLs skips unless the file system under dir takes ACLs.
func requireACLs(t testing.TB, dir string) {
	t.Helper()
	probe := filepath.Join(dir, ".acl-probe")
	if err := os.WriteFile(probe, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(probe)
	a := FromMode(0o644).SetUser(65534, PermRead)
	if err := unix.Setxattr(probe, AccessXattr, a.Encode(), 0); err != nil {
		skipOrFail(t, "the file system of "+dir+" takes no ACLs: "+err.Error())
	}
}

// sysNames looks names up on the running system, as getfacl does.
func sysNames(t Tag, id uint32) (string, bool) {
	sid := strconv.FormatUint(uint64(id), 10)
	if t == User {
		u, err := user.LookupId(sid)
		if err != nil {
			return "", false
		}
		return u.Username, true
	}
	g, err := user.LookupGroupId(sid)
	if err != nil {
		return "", false
	}
	return g.Name, true
}

// sysIDs looks ids up on the running system, as setfacl does.
func sysIDs(t Tag, name string) (uint32, error) {
	var s string
	if t == User {
		u, err := user.Lookup(name)
		if err != nil {
			return 0, err
		}
		s = u.Uid
	} else {
		g, err := user.LookupGroup(name)
		if err != nil {
			return 0, err
		}
		s = g.Gid
	}
	id, err := strconv.ParseUint(s, 10, 32)
	return uint32(id), err
}

// getfacl runs getfacl with args and the file, and returns its output.
func getfacl(t testing.TB, file string, args ...string) string {
	t.Helper()
	args = append(append([]string{"-p"}, args...), "--", file)
	out, err := exec.Command("getfacl", args...).Output()
	if err != nil {
		t.Fatalf("getfacl %s: %v: %s", strings.Join(args, " "), err, stderrOf(err))
	}
	return string(out)
}

// setfacl runs setfacl with args and the file.
func setfacl(t testing.TB, file string, args ...string) {
	t.Helper()
	args = append(args, "--", file)
	if out, err := exec.Command("setfacl", args...).CombinedOutput(); err != nil {
		t.Fatalf("setfacl %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

func stderrOf(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(ee.Stderr)
	}
	return ""
}

// writeFile creates a file with exactly the given mode, setuid and
// sticky bits included (no umask).
func writeFile(t testing.TB, name string, data []byte, mode uint32) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := unix.Chmod(name, mode); err != nil {
		t.Fatal(err)
	}
}

// symlink makes a symbolic link, and the directory it lives in.
func symlink(t testing.TB, target, name string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, name); err != nil {
		t.Fatal(err)
	}
}

// rawXattr returns the file's access ACL attribute, or nil when it has
// none. It reads through the path: test files are the test's own.
func rawXattr(t testing.TB, name string) []byte {
	t.Helper()
	buf := make([]byte, 4096)
	n, err := unix.Lgetxattr(name, AccessXattr, buf)
	if errors.Is(err, unix.ENODATA) {
		return nil
	}
	if err != nil {
		t.Fatalf("getxattr %s: %v", name, err)
	}
	return buf[:n]
}

// ctime returns the file's change time in nanoseconds.
func ctime(t testing.TB, name string) int64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(name, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ctim.Nano()
}

// openRead opens a test file for reading.
func openRead(t testing.TB, name string) *os.File {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// publicTempDir returns a new directory that every user can traverse,
// unlike t.TempDir, whose parents may be 0700.
func publicTempDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "phpguard-acl-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
