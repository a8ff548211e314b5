package rootfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// TestMountOverlay mounts a two-layer stack with each API and checks what
// the account and the host see.
func TestMountOverlay(t *testing.T) {
	if !inMountNS(t) {
		return
	}
	for _, api := range apis {
		t.Run(api.name, func(t *testing.T) {
			requireAPI(t, api.opts)
			f := newFixture(t, "layers", "accounts")
			f.layer(t, "base", map[string]string{"who": "base", "only-base": "b", "doomed": "x", "etc/": ""})
			f.layer(t, "terminal", map[string]string{"who": "terminal"})
			o := f.overlay("site1", "terminal", "base")
			f.tree(t, "site1")
			mountT(t, o, api.opts)

			t.Run("top-most layer wins", func(t *testing.T) {
				if got := readFile(t, o.Target+"/who"); got != "terminal" {
					t.Errorf("who = %q, want terminal", got)
				}
				if got := readFile(t, o.Target+"/only-base"); got != "b" {
					t.Errorf("only-base = %q, want b", got)
				}
			})

			t.Run("a write lands in upper", func(t *testing.T) {
				if err := os.WriteFile(o.Target+"/etc/new", []byte("client"), 0o644); err != nil {
					t.Fatal(err)
				}
				if got := readFile(t, o.Upper+"/etc/new"); got != "client" {
					t.Errorf("upper/etc/new = %q, want client", got)
				}
				if _, err := os.Stat(filepath.Join(f.layers, "base/etc/new")); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("the write reached the layer: %v", err)
				}
			})

			t.Run("a deleted lower file leaves a whiteout", func(t *testing.T) {
				if err := os.Remove(o.Target + "/doomed"); err != nil {
					t.Fatal(err)
				}
				var st unix.Stat_t
				if err := unix.Lstat(o.Upper+"/doomed", &st); err != nil {
					t.Fatalf("no whiteout in upper: %v", err)
				}
				// A whiteout is a character device 0/0
				// (Documentation/filesystems/overlayfs.rst, "whiteouts").
				if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
					t.Errorf("upper/doomed: mode %#o rdev %d, want a 0/0 character device", st.Mode, st.Rdev)
				}
				if got := readFile(t, filepath.Join(f.layers, "base/doomed")); got != "x" {
					t.Errorf("the layer's file changed: %q", got)
				}
			})

			t.Run("a binary in the root does not run from the host", func(t *testing.T) {
				bin, err := os.ReadFile("/bin/true")
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(o.Target+"/dropped", bin, 0o755); err != nil {
					t.Fatal(err)
				}
				// The same file runs from upper, which is not noexec:
				// the refusal below is the mount's doing.
				if err := exec.Command(o.Upper + "/dropped").Run(); err != nil {
					t.Fatalf("control: the binary does not run from upper: %v", err)
				}
				err = exec.Command(o.Target + "/dropped").Run()
				if !errors.Is(err, unix.EACCES) {
					t.Errorf("run from the root: %v, want EACCES (noexec)", err)
				}
			})

			t.Run("the mount table says correct", func(t *testing.T) {
				table, err := ReadMountTable()
				if err != nil {
					t.Fatal(err)
				}
				st := table.State(o)
				if st.State != MountCorrect {
					t.Errorf("state %v (%s), want correct; mount %+v", st.State, st.Why, st.Info)
				}
				for _, flag := range HostFlags {
					if !strings.Contains(st.Info.Options, flag) {
						t.Errorf("mount options %q lack %s", st.Info.Options, flag)
					}
				}
			})

			t.Run("no second mount on a mounted root", func(t *testing.T) {
				if err := MountOverlay(o, api.opts); !errors.Is(err, ErrMounted) {
					t.Errorf("second MountOverlay = %v, want ErrMounted", err)
				}
			})
		})
	}
}

// TestMountEscapes mounts layers whose names hold ',', ':' and '\', which
// mount(2) needs escaped and lowerdir+ takes as they are.
func TestMountEscapes(t *testing.T) {
	if !inMountNS(t) {
		return
	}
	for _, api := range apis {
		t.Run(api.name, func(t *testing.T) {
			requireAPI(t, api.opts)
			f := newFixture(t, `lay,ers:dir\x`, `acc,ounts:dir\y`)
			f.layer(t, `we,ird:la\yer`, map[string]string{"who": "weird"})
			f.layer(t, "base", map[string]string{"who": "base", "base-only": "b"})
			o := f.overlay("site1", `we,ird:la\yer`, "base")
			f.tree(t, "site1")
			mountT(t, o, api.opts)

			if got := readFile(t, o.Target+"/who"); got != "weird" {
				t.Errorf("who = %q, want weird", got)
			}
			if got := readFile(t, o.Target+"/base-only"); got != "b" {
				t.Errorf("base-only = %q, want b", got)
			}
			if err := os.WriteFile(o.Target+"/w", []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			if got := readFile(t, o.Upper+"/w"); got != "x" {
				t.Errorf("upper/w = %q", got)
			}
			table, err := ReadMountTable()
			if err != nil {
				t.Fatal(err)
			}
			if st := table.State(o); st.State != MountCorrect {
				t.Errorf("state %v (%s), want correct; super options %s", st.State, st.Why, st.Info.VFSOptions)
			}
		})
	}
}

// longStack makes 60 layers with long paths, each holding its own file
// and "who", and returns the overlay (top-most first: layer 59).
func longStack(t *testing.T) (*fixture, Overlay) {
	t.Helper()
	f := newFixture(t, "layers-"+strings.Repeat("l", 120), "accounts-"+strings.Repeat("a", 60))
	var names []string
	for i := 59; i >= 0; i-- {
		name := fmt.Sprintf("layer-%02d-%s", i, strings.Repeat("x", 30))
		f.layer(t, name, map[string]string{fmt.Sprintf("own-%02d", i): name, "who": name})
		names = append(names, name)
	}
	return f, f.overlay("site1", names...)
}

// TestLongStack mounts 60 layers whose options are more than a page
// with each API.
func TestLongStack(t *testing.T) {
	if !inMountNS(t) {
		return
	}
	for _, api := range apis {
		t.Run(api.name, func(t *testing.T) {
			requireAPI(t, api.opts)
			f, o := longStack(t)
			if n := len(o.Options()); n <= MaxMountData {
				t.Fatalf("options are %d bytes, the test wants more than %d", n, MaxMountData)
			}
			f.tree(t, "site1")
			mountT(t, o, api.opts)

			if got := readFile(t, o.Target+"/who"); got != o.Layers[0] {
				t.Errorf("who = %q, want the top-most %q", got, o.Layers[0])
			}
			for i := range 60 {
				name := fmt.Sprintf("own-%02d", i)
				if got := readFile(t, o.Target+"/"+name); !strings.HasPrefix(got, fmt.Sprintf("layer-%02d-", i)) {
					t.Errorf("%s = %q", name, got)
				}
			}
			table, err := ReadMountTable()
			if err != nil {
				t.Fatal(err)
			}
			st := table.State(o)
			if st.State != MountCorrect {
				t.Fatalf("state %v (%s), want correct", st.State, st.Why)
			}
			if api.opts.API == APIOld && !strings.Contains(st.Info.VFSOptions, "lowerdir="+o.Layers[0]+":") {
				t.Errorf("mount(2) did not use relative layer paths: %s", st.Info.VFSOptions)
			}
		})
	}
}

// TestLimits checks the errors for stacks that fit no form.
func TestLimits(t *testing.T) {
	requireRoot(t) // the kernel API probe needs CAP_SYS_ADMIN
	f := newFixture(t, "layers", "accounts")
	var names []string
	for i := range 120 {
		names = append(names, fmt.Sprintf("layer-%03d-%s", i, strings.Repeat("x", 50)))
	}
	tooMany := f.overlay("site1", names...)
	longPath := f.overlay("site2", strings.Repeat("p", 300))

	tests := []struct {
		name  string
		o     Overlay
		opts  MountOptions
		limit string
		max   int
	}{
		{"old API, relative paths still over a page", tooMany, MountOptions{API: APIOld}, "mount(2) options", MaxMountData},
		{"new API strings, one path over 255 bytes", longPath, MountOptions{API: APINew, noLayerFDs: true}, "fsconfig(2) string", MaxFsconfigString},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requireAPI(t, tt.opts)
			for _, check := range []struct {
				name string
				err  error
			}{
				{"MountOverlay", MountOverlay(tt.o, tt.opts)},
				{"CheckAccount", CheckAccount(tt.o, tt.opts)},
			} {
				var le *LimitError
				if !errors.As(check.err, &le) {
					t.Fatalf("%s = %v, want a *LimitError", check.name, check.err)
				}
				if le.Limit != tt.limit || le.Max != tt.max || le.Size <= le.Max || le.Account != tt.o.Account {
					t.Errorf("%s: %+v, want limit %q of %d", check.name, le, tt.limit, tt.max)
				}
			}
			if _, err := os.Stat(tt.o.Target); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the account's tree was touched: %v", err)
			}
		})
	}

}

// TestChooseAPI checks which API MountOverlay picks on each kind of kernel.
func TestChooseAPI(t *testing.T) {
	short := Overlay{Account: "a", Lower: []string{"/l/base"}, Upper: "/a/upper", Work: "/a/work"}
	long := short
	long.Lower = []string{"/l/" + strings.Repeat("p", 300)}
	v61 := kernelAPI{}
	v68 := kernelAPI{lowerdirPlus: true}
	v613 := kernelAPI{lowerdirPlus: true, layerFDs: true}
	tests := []struct {
		name    string
		o       Overlay
		opts    MountOptions
		k       kernelAPI
		wantAPI MountAPI
		wantFDs bool
		wantErr bool
	}{
		{"6.1 auto", short, MountOptions{}, v61, APIOld, false, false},
		{"6.1 new", short, MountOptions{API: APINew}, v61, 0, false, true},
		{"6.8 auto", short, MountOptions{}, v68, APINew, false, false},
		{"6.8 auto, path over 255 bytes", long, MountOptions{}, v68, APIOld, false, false},
		{"6.8 new, path over 255 bytes", long, MountOptions{API: APINew}, v68, 0, false, true},
		{"6.13 auto, path over 255 bytes", long, MountOptions{}, v613, APINew, true, false},
		{"6.13 strings forced", short, MountOptions{API: APINew, noLayerFDs: true}, v613, APINew, false, false},
		{"6.13 old forced", short, MountOptions{API: APIOld}, v613, APIOld, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api, fds, err := chooseAPI(tt.o, tt.opts, tt.k)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err == nil && (api != tt.wantAPI || fds != tt.wantFDs) {
				t.Errorf("got %v fds=%v, want %v fds=%v", api, fds, tt.wantAPI, tt.wantFDs)
			}
		})
	}
}

// TestFsconfigStringLimit pins MaxFsconfigString to the running kernel.
func TestFsconfigStringLimit(t *testing.T) {
	requireRoot(t)
	requireNewAPI(t)
	try := func(n int) error {
		fsfd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(fsfd)
		return unix.FsconfigSetString(fsfd, "lowerdir+", "/"+strings.Repeat("n", n-1))
	}
	// A path of the maximum length is taken and looked up (it does not
	// exist); one byte more is refused before any lookup.
	if err := try(MaxFsconfigString); !errors.Is(err, unix.ENOENT) {
		t.Errorf("%d bytes: %v, want ENOENT (taken, not found)", MaxFsconfigString, err)
	}
	if err := try(MaxFsconfigString + 1); !errors.Is(err, unix.EINVAL) {
		t.Errorf("%d bytes: %v, want EINVAL", MaxFsconfigString+1, err)
	}
}

// TestMountDataPageLimit pins MaxMountData to the running kernel and
// shows why MountOverlay never passes more: mount(2) drops what does not
// fit without an error.
func TestMountDataPageLimit(t *testing.T) {
	if !inMountNS(t) {
		return
	}
	f := newFixture(t, "layers", "accounts")
	f.layer(t, "base", nil)
	o := f.overlay("site1", "base")
	f.tree(t, "site1")
	head := "lowerdir=" + o.Lower[0] + ",upperdir=" + o.Upper + ",workdir=" + o.Work
	// Empty options between commas are skipped by the parser, so padding
	// moves "metacopy=off" to the very end of the string.
	padded := func(n int) string {
		return head + strings.Repeat(",", n-len(head)-len(",metacopy=off")) + ",metacopy=off"
	}

	t.Run("the last byte of a page is the NUL", func(t *testing.T) {
		if err := unix.Mount("overlay", o.Target, "overlay", 0, padded(MaxMountData)); err != nil {
			t.Fatalf("%d bytes: %v", MaxMountData, err)
		}
		unmountAll(o.Target)
		// One byte more: the kernel reads "metacopy=of".
		if err := unix.Mount("overlay", o.Target, "overlay", 0, padded(MaxMountData+1)); !errors.Is(err, unix.EINVAL) {
			unmountAll(o.Target)
			t.Errorf("%d bytes: %v, want EINVAL from the cut value", MaxMountData+1, err)
		}
	})

	t.Run("a cut between two layers mounts a shorter stack", func(t *testing.T) {
		var names []string
		for i := range 60 {
			names = append(names, fmt.Sprintf("layer-%02d-%s", i, strings.Repeat("x", 60)))
			f.layer(t, names[i], nil)
		}
		long := f.overlay("site1", names...)
		data := "upperdir=" + o.Upper + ",workdir=" + o.Work + ",lowerdir=" + strings.Join(long.Lower, ":")
		// Pad the front so that the page ends just after a layer.
		colon := strings.LastIndex(data[:MaxMountData-100], ":")
		data = "metacopy=off" + strings.Repeat(",", MaxMountData-colon-len("metacopy=off")) + data
		if data[MaxMountData] != ':' {
			t.Fatalf("bad padding: %q", data[MaxMountData-5:MaxMountData+5])
		}
		if err := unix.Mount("overlay", o.Target, "overlay", 0, data); err != nil {
			t.Fatalf("mount(2): %v", err)
		}
		defer unmountAll(o.Target)
		table, err := ReadMountTable()
		if err != nil {
			t.Fatal(err)
		}
		st := table.State(long)
		got := parseOverlayOptions(st.Info.VFSOptions).lower
		if len(got) >= len(long.Lower) {
			t.Errorf("mounted %d layers of %d: the kernel no longer cuts silently", len(got), len(long.Lower))
		}
		if st.State != MountDifferent {
			t.Errorf("state %v, want different", st.State)
		}
	})
}

// TestRemount changes an account's stack, keeps its client layer, and
// refuses while a process works inside the old root.
func TestRemount(t *testing.T) {
	if !inMountNS(t) {
		return
	}
	f := newFixture(t, "layers", "accounts")
	f.layer(t, "base", map[string]string{"who": "base", "home/": ""})
	f.layer(t, "ruby", map[string]string{"who": "ruby"})
	old := f.overlay("site1", "base")
	f.tree(t, "site1")
	mountT(t, old, MountOptions{})
	if err := os.WriteFile(old.Target+"/home/client.txt", []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	changed := f.overlay("site1", "ruby", "base")

	state := func() MountStatus {
		t.Helper()
		table, err := ReadMountTable()
		if err != nil {
			t.Fatal(err)
		}
		return table.State(changed)
	}
	if st := state(); st.State != MountDifferent {
		t.Fatalf("before: state %v, want different", st.State)
	}

	for _, holder := range []struct {
		name  string
		flags uintptr
	}{
		{"in this mount namespace", 0},
		{"in another mount namespace", unix.CLONE_NEWNS},
	} {
		t.Run("refused while a process works in the root "+holder.name, func(t *testing.T) {
			cmd := exec.Command("sleep", "60")
			cmd.Dir = old.Target + "/home"
			cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: holder.flags}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() {
				cmd.Process.Kill()
				cmd.Wait()
			}()
			err := Remount(changed, MountOptions{})
			var held *HeldError
			if !errors.As(err, &held) {
				t.Fatalf("Remount = %v, want a *HeldError", err)
			}
			want := []Holder{{PID: cmd.Process.Pid, Comm: "sleep", Which: "cwd"}}
			if diff := cmp.Diff(want, held.Holders); diff != "" {
				t.Errorf("holders (-want +got):\n%s", diff)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("pid %d (sleep) as cwd", cmd.Process.Pid)) {
				t.Errorf("error does not name the holder: %v", err)
			}
			if st := state(); st.State != MountDifferent {
				t.Errorf("the mount changed: state %v", st.State)
			}
		})
	}

	t.Run("remounted once nobody holds it", func(t *testing.T) {
		if err := Remount(changed, MountOptions{}); err != nil {
			t.Fatal(err)
		}
		if st := state(); st.State != MountCorrect {
			t.Errorf("after: state %v (%s), want correct", st.State, st.Why)
		}
		if got := readFile(t, changed.Target+"/who"); got != "ruby" {
			t.Errorf("who = %q, want ruby", got)
		}
		if got := readFile(t, changed.Target+"/home/client.txt"); got != "mine" {
			t.Errorf("client file = %q, want mine", got)
		}
	})
}

// TestUnmountKeepsUpper unmounts a dropped account and compares every
// byte of its client layer before and after.
func TestUnmountKeepsUpper(t *testing.T) {
	if !inMountNS(t) {
		return
	}
	f := newFixture(t, "layers", "accounts")
	f.layer(t, "base", map[string]string{"etc/passwd": "root", "doomed": "x"})
	o := f.overlay("site1", "base")
	f.tree(t, "site1")
	mountT(t, o, MountOptions{})
	writeFiles(t, o.Target, map[string]string{"home/a.txt": "alpha", "var/www/html/index.php": "<?php echo 1;", "empty/": ""})
	if err := os.WriteFile(o.Target+"/etc/passwd", []byte("root\nsite1"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(o.Target + "/doomed"); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, o.Upper)

	if err := Unmount(o.Target); err != nil {
		t.Fatal(err)
	}
	if after := snapshot(t, o.Upper); !cmp.Equal(before, after) {
		t.Errorf("upper changed (-before +after):\n%s", cmp.Diff(before, after))
	}
	if len(before) < 8 {
		t.Errorf("snapshot too small to mean anything: %v", before)
	}
	table, err := ReadMountTable()
	if err != nil {
		t.Fatal(err)
	}
	if st := table.State(o); st.State != MountMissing {
		t.Errorf("state %v after Unmount, want missing", st.State)
	}
	if err := Unmount(o.Target); err == nil {
		t.Error("a second Unmount succeeded")
	}
}

// snapshot lists every entry under dir with its type, mode, owner, device
// and content.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		s := fmt.Sprintf("mode=%o uid=%d gid=%d rdev=%d size=%d", st.Mode, st.Uid, st.Gid, st.Rdev, st.Size)
		if d.Type().IsRegular() {
			fh, err := os.Open(p)
			if err != nil {
				return err
			}
			b, err := io.ReadAll(fh)
			fh.Close()
			if err != nil {
				return err
			}
			s += " content=" + string(b)
		}
		out[strings.TrimPrefix(p, dir)] = s
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestManyAccounts mounts 1,000 accounts and checks them all against one
// read of the mount table.
func TestManyAccounts(t *testing.T) {
	if !inMountNS(t) {
		return
	}
	if testing.Short() {
		t.Skip("mounts 1,000 overlays")
	}
	// One tmpfs holds every account, so that one detach at the end takes
	// all 1,000 mounts down at once (umount2 of each costs a grace period).
	f := newFixture(t, "layers", "accounts")
	mustDo(t, unix.Mount("tmpfs", f.accounts, "tmpfs", 0, "mode=0755"))
	t.Cleanup(func() { unix.Unmount(f.accounts, unix.MNT_DETACH) })
	f.layer(t, "base", map[string]string{"who": "base"})
	f.layer(t, "terminal", map[string]string{"who": "terminal"})
	var all []Overlay
	t0 := time.Now()
	for i := range 1000 {
		o := f.overlay(fmt.Sprintf("site%04d", i), "terminal", "base")
		for _, d := range []string{o.Upper, o.Work, o.Target} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := MountOverlay(o, MountOptions{}); err != nil {
			t.Fatal(err)
		}
		all = append(all, o)
	}
	t.Logf("mounted 1,000 accounts in %v", time.Since(t0))

	start := time.Now()
	table, err := ReadMountTable()
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range all {
		if st := table.State(o); st.State != MountCorrect {
			t.Fatalf("%s: state %v (%s)", o.Account, st.State, st.Why)
		}
	}
	t.Logf("read the mount table once and checked 1,000 mounted accounts in %v", time.Since(start))
}
