package acl

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// denyTree is a scratch host root and a layer, with the traps a hostile
// or merely ordinary layer holds.
type denyTree struct {
	scratch, host, layer string
	decoy                string // a file outside the layer that links in the layer name
}

func makeDenyTree(t *testing.T) denyTree {
	t.Helper()
	s := t.TempDir()
	requireACLs(t, s)
	d := denyTree{scratch: s, host: filepath.Join(s, "host"), layer: filepath.Join(s, "layer"),
		decoy: filepath.Join(s, "decoy", "esc")}
	bin := []byte("#!/bin/sh\necho binary\n")

	// The host: rm present, mv absent, a directory and a symlink loop
	// where binaries are expected, and a file owned by the HTTP user.
	writeFile(t, filepath.Join(d.host, "usr/bin/rm"), bin, 0o755)
	if err := os.MkdirAll(filepath.Join(d.host, "usr/bin/dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	symlink(t, "loop", filepath.Join(d.host, "usr/bin/loop"))
	writeFile(t, filepath.Join(d.host, "usr/bin/owned"), bin, 0o755)
	if err := os.Chown(filepath.Join(d.host, "usr/bin/owned"), 33, 33); err != nil {
		t.Fatal(err)
	}

	// The layer: /bin -> usr/bin as on a merged-/usr system, mv
	// reached through it, and a link that climbs out with "..".
	symlink(t, "usr/bin", filepath.Join(d.layer, "bin"))
	writeFile(t, filepath.Join(d.layer, "usr/bin/mv"), bin, 0o755)
	symlink(t, strings.Repeat("../", 12)+strings.TrimPrefix(d.decoy, "/"), filepath.Join(d.layer, "usr/bin/esc"))
	symlink(t, d.decoy, filepath.Join(d.layer, "usr/bin/abs"))
	writeFile(t, filepath.Join(d.layer, d.decoy), bin, 0o755) // where both resolve inside the layer

	// The decoy those two links name, outside the layer.
	writeFile(t, d.decoy, bin, 0o755)
	return d
}

func TestDeny(t *testing.T) {
	requireRoot(t)
	requireTool(t, "getfacl")
	d := makeDenyTree(t)

	targets := []DenyTarget{
		{d.host, "/usr/bin/rm"},
		{d.host, "/usr/bin/mv"},
		{d.host, "/usr/bin/dir"},
		{d.host, "/usr/bin/loop"},
		{d.host, "/usr/bin/owned"},
		{d.layer, "/bin/mv"},
		{d.layer, "/usr/bin/mv"}, // the same file, denied a line above
		{d.layer, "/usr/bin/esc"},
		{d.layer, "/usr/bin/abs"},
		{d.layer, "/usr/bin/rm"},
		{d.layer, "/../host/usr/bin/rm"}, // the host's rm, were ".." to leave the layer
		{filepath.Join(d.scratch, "no-such-layer"), "/usr/bin/rm"},
		{d.host, ""},
	}
	type outcome struct {
		Status string
		Err    string // a part of the error
	}
	want := []outcome{
		{"changed", ""},
		{"absent", ""},
		{"failed", "not a regular file"},
		{"failed", "too many levels of symbolic links"},
		{"failed", "owned by uid 33"},
		{"changed", ""},
		{"unchanged", ""},
		{"changed", ""},
		{"unchanged", ""}, // esc and abs lead to the same file in the layer
		{"absent", ""},
		{"absent", ""},
		{"failed", "open tree"},
		{"failed", "empty path"},
	}
	check := func(t *testing.T, results []Result, want []outcome) {
		t.Helper()
		got := make([]outcome, len(results))
		for i, r := range results {
			if r.Target != targets[i] {
				t.Errorf("result %d is for %v, want %v", i, r.Target, targets[i])
			}
			got[i].Status = r.Status.String()
			if r.Err != nil {
				got[i].Err = r.Err.Error()
				if !strings.HasPrefix(got[i].Err, "deny "+r.Target.Path+" in "+r.Target.Tree+": ") {
					t.Errorf("error %q does not name the path and tree", got[i].Err)
				}
			}
			if r.Err == nil && r.Status != Absent && (r.Before == nil || r.After == nil) {
				t.Errorf("result %d: Before %v, After %v; want both", i, r.Before, r.After)
			}
		}
		for i := range got {
			// An error matches when it contains the wanted part.
			if i < len(want) && want[i].Err != "" && strings.Contains(got[i].Err, want[i].Err) {
				got[i].Err = want[i].Err
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Deny outcomes (-want +got):\n%s", diff)
		}
	}

	denied := []string{
		filepath.Join(d.host, "usr/bin/rm"),
		filepath.Join(d.layer, "usr/bin/mv"),
		filepath.Join(d.layer, d.decoy),
	}
	untouched := []string{d.decoy, filepath.Join(d.host, "usr/bin/owned")}

	// A dry run reports the changes and writes nothing.
	ctimes := map[string]int64{}
	for _, f := range append(denied, untouched...) {
		ctimes[f] = ctime(t, f)
	}
	dry := Deny(targets, 33, true)
	wantDry := slicesClone(want)
	wantDry[6] = outcome{"changed", ""} // nothing was written for /bin/mv
	wantDry[8] = outcome{"changed", ""}
	check(t, dry, wantDry)
	for f, c := range ctimes {
		if got := ctime(t, f); got != c || rawXattr(t, f) != nil {
			t.Errorf("dry run touched %s (ctime %d, was %d; attribute %x)", f, got, c, rawXattr(t, f))
		}
	}

	// The first run.
	check(t, Deny(targets, 33, false), want)
	for _, f := range denied {
		out := getfacl(t, f, "-c", "-n")
		if !strings.Contains(out, "\nuser:33:---\n") {
			t.Errorf("getfacl %s:\n%s\nwant user:33:---", f, out)
		}
		// The entry is the only change: 0755 keeps its mode.
		if want := "user::rwx\nuser:33:---\ngroup::r-x\nmask::r-x\nother::r-x\n\n"; out != want {
			t.Errorf("getfacl %s:\n%s\nwant:\n%s", f, out, want)
		}
	}
	for _, f := range untouched {
		if raw := rawXattr(t, f); raw != nil {
			t.Errorf("%s outside the tree got an ACL: %x", f, raw)
		}
	}

	// The second run changes nothing and writes nothing.
	for _, f := range denied {
		ctimes[f] = ctime(t, f)
	}
	again := slicesClone(want)
	for i := range again {
		if again[i].Status == "changed" {
			again[i].Status = "unchanged"
		}
	}
	check(t, Deny(targets, 33, false), again)
	for f, c := range ctimes {
		if got := ctime(t, f); got != c {
			t.Errorf("second run changed the ctime of %s: %d, was %d", f, got, c)
		}
	}
}

func slicesClone[T any](s []T) []T { return append([]T(nil), s...) }

// TestDenyKeepsEntries checks that Deny changes a file with an ACL the
// way setfacl -m u:www-data:--- does: every entry kept, the mask
// recomputed.
func TestDenyKeepsEntries(t *testing.T) {
	requireRoot(t)
	requireTool(t, "setfacl")
	dir := t.TempDir()
	requireACLs(t, dir)
	for i, setup := range [][]string{
		{"-m", "u:nobody:rwx,g:nogroup:r--"},
		{"-m", "u:nobody:rwx,g:nogroup:r--,m::r--"},
		{"-m", "u:www-data:rwx"},
		{"-m", "g:www-data:rwx,u:1000:--x"},
		{"-m", "u:www-data:--x,m::rwx"},
	} {
		t.Run(strings.Join(setup, " "), func(t *testing.T) {
			ours, theirs := filepath.Join(dir, fmt.Sprint(i, "-ours")), filepath.Join(dir, fmt.Sprint(i, "-setfacl"))
			for _, f := range []string{ours, theirs} {
				writeFile(t, f, nil, 0o750)
				setfacl(t, f, setup...)
			}
			setfacl(t, theirs, "-m", "u:www-data:---")
			r := Deny([]DenyTarget{{Tree: dir, Path: "/" + filepath.Base(ours)}}, 33, false)[0]
			if r.Err != nil {
				t.Fatal(r.Err)
			}
			if diff := cmp.Diff(getfacl(t, theirs, "-c", "-n"), getfacl(t, ours, "-c", "-n")); diff != "" {
				t.Errorf("getfacl after Deny (-setfacl +Deny):\n%s", diff)
			}
			if diff := cmp.Diff(rawXattr(t, theirs), rawXattr(t, ours)); diff != "" {
				t.Errorf("attribute after Deny (-setfacl +Deny):\n%s", diff)
			}
			var a, b unix.Stat_t
			if err := unix.Stat(ours, &a); err != nil {
				t.Fatal(err)
			}
			if err := unix.Stat(theirs, &b); err != nil {
				t.Fatal(err)
			}
			if a.Mode != b.Mode {
				t.Errorf("mode after Deny %o, after setfacl %o", a.Mode, b.Mode)
			}
		})
	}
}

// TestDenyAbsoluteLinkStaysInLayer runs Deny in a private mount
// namespace whose /usr/bin is a scratch tmpfs holding a decoy busybox,
// on a layer whose /usr/bin/cp is the absolute link /usr/bin/busybox:
// the entry must land on the layer's busybox, never on the decoy (nor,
// outside the test, on the host's own /usr/bin/busybox).
func TestDenyAbsoluteLinkStaysInLayer(t *testing.T) {
	requireRoot(t)
	layer := t.TempDir()
	requireACLs(t, layer)
	writeFile(t, filepath.Join(layer, "usr/bin/busybox"), []byte("layer busybox\n"), 0o755)
	symlink(t, "/usr/bin/busybox", filepath.Join(layer, "usr/bin/cp"))
	symlink(t, "usr/bin", filepath.Join(layer, "bin"))

	out, err := runChild(t, "decoy", layer)
	if err != nil {
		if strings.Contains(out, "mount tmpfs") {
			skipOrFail(t, "cannot mount in a private namespace: "+out)
		}
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(out, "decoy untouched") {
		t.Fatalf("child output:\n%s", out)
	}
	a, err := Decode(rawXattr(t, filepath.Join(layer, "usr/bin/busybox")))
	if err != nil {
		t.Fatalf("the layer's busybox: %v", err)
	}
	if p, ok := a.Get(User, 33); !ok || p != PermNone {
		t.Errorf("the layer's busybox has %v, want user:33:---", a)
	}
}

// childDecoy is the child of TestDenyAbsoluteLinkStaysInLayer, in its
// own mount namespace.
func childDecoy(layer string) error {
	// Keep the mounts below from reaching the host (mount_namespaces(7)).
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make / private: %w", err)
	}
	if err := unix.Mount("tmpfs", "/usr/bin", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0755"); err != nil {
		return fmt.Errorf("mount tmpfs on /usr/bin: %w", err)
	}
	if err := os.WriteFile("/usr/bin/busybox", []byte("decoy\n"), 0o755); err != nil {
		return err
	}
	res := Deny([]DenyTarget{{layer, "/usr/bin/cp"}, {layer, "/bin/cp"}}, 33, false)
	if res[0].Status != Changed || res[1].Status != Unchanged {
		return fmt.Errorf("results %+v, want changed then unchanged", res)
	}
	buf := make([]byte, 256)
	if _, err := unix.Getxattr("/usr/bin/busybox", AccessXattr, buf); !errors.Is(err, unix.ENODATA) {
		return fmt.Errorf("the decoy /usr/bin/busybox has an ACL (getxattr: %v)", err)
	}
	fmt.Println("decoy untouched")
	return nil
}

// children are the functions TestMain runs in a child process.
var children = map[string]func(arg string) error{
	"decoy":    childDecoy,
	"syscalls": childSyscalls,
}

func TestMain(m *testing.M) {
	if name := os.Getenv("PHPGUARD_ACL_CHILD"); name != "" {
		if err := children[name](os.Getenv("PHPGUARD_ACL_ARG")); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runChild runs the child function name in a re-executed test binary in
// a new mount namespace, and returns its combined output.
func runChild(t *testing.T, name, arg string) (string, error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "PHPGUARD_ACL_CHILD="+name, "PHPGUARD_ACL_ARG="+arg)
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestDenyMalformedACL: the kernel stores named entries out of order or
// repeated when root writes them raw (posix_acl_valid checks neither),
// and the first matching entry wins its access check. Deny does not
// guess which one was meant: it reports the file and leaves it alone.
func TestDenyMalformedACL(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	requireACLs(t, dir)
	for name, value := range map[string][]byte{
		"repeated": raw(2, rUO, rU(33, 0), rU(33, 4), rGO, rM, rO),
		"unsorted": raw(2, rUO, rU(40, 0), rU(33, 4), rGO, rM, rO),
	} {
		t.Run(name, func(t *testing.T) {
			f := filepath.Join(dir, name)
			writeFile(t, f, nil, 0o755)
			if err := unix.Setxattr(f, AccessXattr, value, 0); err != nil {
				skipOrFail(t, "the kernel refuses the raw ACL: "+err.Error())
			}
			r := Deny([]DenyTarget{{Tree: dir, Path: "/" + name}}, 33, false)[0]
			if r.Err == nil || !strings.Contains(r.Err.Error(), "decode ACL") {
				t.Errorf("Deny = %+v, want a decode error", r)
			}
			if got := rawXattr(t, f); string(got) != string(value) {
				t.Errorf("Deny changed the attribute to %x", got)
			}
		})
	}
}

// TestDenyAfterChmod: a chmod of a denied file changes the mask (the
// group bits), never the named entry, so the HTTP user stays denied, and
// the next Deny leaves the file and its mode alone instead of
// recomputing the mask back.
func TestDenyAfterChmod(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	requireACLs(t, dir)
	f := filepath.Join(dir, "rm")
	writeFile(t, f, nil, 0o750)
	targets := []DenyTarget{{Tree: dir, Path: "/rm"}}
	if r := Deny(targets, 33, false)[0]; r.Status != Changed {
		t.Fatalf("Deny = %+v", r)
	}
	for _, mode := range []uint32{0o777, 0o700, 0o4755} {
		if err := unix.Chmod(f, mode); err != nil {
			t.Fatal(err)
		}
		a, err := Read(openRead(t, f))
		if err != nil {
			t.Fatal(err)
		}
		if p, ok := a.Get(User, 33); !ok || p != PermNone {
			t.Errorf("after chmod %o: %v, want user:33:--- kept", mode, a)
		}
		if got := a.Mode(); got != mode&0o777 {
			t.Errorf("after chmod %o: the ACL gives mode %o", mode, got)
		}
		if got := a.Effective(0, 0, 33, []uint32{0, 33}); got != PermNone {
			t.Errorf("after chmod %o: uid 33 has %s", mode, got)
		}
		before := ctime(t, f)
		if r := Deny(targets, 33, false)[0]; r.Status != Unchanged || r.Err != nil {
			t.Errorf("Deny after chmod %o = %+v, want unchanged", mode, r)
		}
		var st unix.Stat_t
		if err := unix.Stat(f, &st); err != nil {
			t.Fatal(err)
		}
		if st.Mode&0o7777 != mode || st.Ctim.Nano() != before {
			t.Errorf("Deny after chmod %o left mode %o, ctime %d (was %d)", mode, st.Mode&0o7777, st.Ctim.Nano(), before)
		}
	}
}
