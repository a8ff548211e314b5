package rootfs

import (
	"github.com/phpguard/phpguard/internal/testenv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/phpguard/phpguard/policy"
)

// inMountNS runs the calling top-level test again in a new, private
// mount namespace (see testenv.InMountNS).
func inMountNS(t *testing.T) bool { return testenv.InMountNS(t, nsEnv) }

// nsEnv marks a test binary re-executed in its own mount namespace.
const nsEnv = "PHPGUARD_ROOTFS_MOUNT_NS"

func TestMain(m *testing.M) {
	testenv.PrivateMounts(nsEnv)
	os.Exit(m.Run())
}

var (
	skipOrFail  = testenv.SkipOrFail
	requireRoot = testenv.RequireRoot
)

func requireNewAPI(t testing.TB) {
	t.Helper()
	if !probeKernelAPI().lowerdirPlus {
		skipOrFail(t, "kernel lacks overlayfs lowerdir+ (Linux 6.8)")
	}
}

// fixture is a host tree under a temporary directory: layers, accounts.
type fixture struct {
	dir      string
	layers   string
	accounts string
}

func newFixture(t *testing.T, layers, accounts string) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{dir: dir, layers: filepath.Join(dir, layers), accounts: filepath.Join(dir, accounts)}
	for _, d := range []string{f.layers, f.accounts} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// layer makes layer name holding files (path -> content; a path ending
// in "/" is a directory).
func (f *fixture) layer(t *testing.T, name string, files map[string]string) string {
	t.Helper()
	dir := filepath.Join(f.layers, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, files)
	return dir
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, content := range files {
		full := filepath.Join(dir, p)
		if strings.HasSuffix(p, "/") {
			if err := os.MkdirAll(full, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// overlay describes account's overlay over layers, given top-most first.
func (f *fixture) overlay(account string, layers ...string) Overlay {
	d := DirsOf(f.accounts, account)
	o := Overlay{Account: account, Target: d.Root, Upper: d.Upper, Work: d.Work}
	for _, l := range layers {
		o.Layers = append(o.Layers, l)
		o.Lower = append(o.Lower, filepath.Join(f.layers, l))
	}
	return o
}

// spec is the AccountSpec of account in f with uid and gid n.
func (f *fixture) spec(account string, n int, skeleton []policy.SkeletonEntry, docroots ...string) AccountSpec {
	return AccountSpec{Name: account, UID: n, GID: n, Dirs: DirsOf(f.accounts, account), Skeleton: skeleton, Docroots: docroots}
}

// tree makes the account's tree with EnsureAccount.
func (f *fixture) tree(t *testing.T, account string) {
	t.Helper()
	if _, err := EnsureAccount("/", f.spec(account, 10001, nil), false); err != nil {
		t.Fatal(err)
	}
}

// mount mounts o and unmounts it when the test ends, before its temporary
// directory is removed.
func mountT(t *testing.T, o Overlay, opts MountOptions) {
	t.Helper()
	if err := MountOverlay(o, opts); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unmountAll(o.Target) })
}

// unmountAll detaches every mount stacked on target.
func unmountAll(target string) {
	for range 8 {
		if err := unix.Unmount(target, unix.MNT_DETACH); err != nil {
			return
		}
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// apis are the ways MountOverlay can mount, all tested on this kernel.
var apis = []struct {
	name string
	opts MountOptions
}{
	{"new-fds", MountOptions{API: APINew}},
	{"new-strings", MountOptions{API: APINew, noLayerFDs: true}},
	{"old", MountOptions{API: APIOld}},
}

// requireAPI skips an API the kernel lacks.
func requireAPI(t *testing.T, opts MountOptions) {
	t.Helper()
	k := probeKernelAPI()
	switch {
	case opts.API == APINew && !k.lowerdirPlus:
		skipOrFail(t, "kernel lacks overlayfs lowerdir+ (Linux 6.8)")
	case opts.API == APINew && !opts.noLayerFDs && !k.layerFDs:
		skipOrFail(t, "kernel lacks overlayfs layers as file descriptors (Linux 6.13)")
	}
}
