package verify

import (
	"context"
	"errors"
	"fmt"
	"github.com/phpguard/phpguard/internal/testenv"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"

	"github.com/phpguard/phpguard/apply"
	"github.com/phpguard/phpguard/policy"
)

// nsEnv marks the test binary re-executed in its own mount namespace.
const nsEnv = "PHPGUARD_VERIFY_MOUNT_NS"

// TestMain runs the whole package again in a new mount namespace when it
// can (root): the sandboxes' overlays are mounted there, never on the
// host's tree, and vanish with the namespace.
func TestMain(m *testing.M) {
	if os.Getenv(nsEnv) == "1" {
		testenv.PrivateMounts(nsEnv)
		os.Exit(m.Run())
	}
	if os.Geteuid() != 0 {
		os.Exit(m.Run())
	}
	cmd := exec.Command("/proc/self/exe", os.Args[1:]...)
	cmd.Env = append(os.Environ(), nsEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: unix.CLONE_NEWNS}
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		os.Exit(exit.ExitCode())
	case err != nil:
		fmt.Fprintln(os.Stderr, "run the tests in a new mount namespace:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// requireSandbox skips unless the test runs as root in its own mount
// namespace with Apache, mod_php and busybox installed.
func requireSandbox(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 || os.Getenv(nsEnv) != "1" {
		skipOrFail(t, "needs root and a private mount namespace")
	}
	for _, f := range []string{DefaultApache, DefaultModulesDir + "/mod_mpm_prefork.so"} {
		if _, err := os.Stat(f); err != nil {
			skipOrFail(t, "needs Debian's apache2: %v", err)
		}
	}
	if m, _ := filepath.Glob(DefaultModulesDir + "/libphp*.so"); len(m) == 0 {
		skipOrFail(t, "needs Debian's libapache2-mod-php")
	}
	if _, err := user0("www-data"); err != nil {
		skipOrFail(t, "needs the www-data user: %v", err)
	}
}

func user0(name string) (*httpUser, error) { return lookupUser(name) }

// sandbox is a throwaway root R with small layers, made by apply.
type sandbox struct {
	base   string // holds root, and verify's temporary directories (TMPDIR)
	root   string
	policy *policy.Policy
}

// newSandbox makes a root R under a fresh directory of /tmp that the HTTP
// user can traverse (t.TempDir's parents may be 0700), with the policy's
// layers, the host's PHP configuration for mod_php, and the denied
// binaries on the "host" and in the base layer; then applies the policy
// to it. Unmounted and removed when the test ends.
func newSandbox(t *testing.T, policyYAML string) *sandbox {
	t.Helper()
	base, err := os.MkdirTemp("/tmp", "phpguard-verify-test-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeSandbox(t, base) })
	root := filepath.Join(base, "root")

	file := filepath.Join(base, "policy.yaml")
	writeFile(t, file, policyYAML, 0o644)
	p, warnings, err := policy.Load(file)
	if err != nil {
		t.Fatalf("load policy: %v", err)
	}
	_ = warnings

	// Layers: the base system holds the denied binaries and a passwd;
	// the others hold a marker only.
	for _, l := range p.Server.Layers {
		dir := filepath.Join(root, p.Server.Paths.Layers, l.Name)
		writeFile(t, filepath.Join(dir, "etc/phpguard-layer"), l.Name+"\n", 0o644)
		if l.Always {
			writeFile(t, filepath.Join(dir, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n", 0o644)
			for _, b := range p.Server.Deny.Binaries {
				writeFile(t, filepath.Join(dir, b), "#!/bin/sh\necho layer\n", 0o755)
			}
		}
	}
	for _, b := range p.Server.Deny.Binaries {
		writeFile(t, filepath.Join(root, b), "#!/bin/sh\necho host\n", 0o755)
	}
	writeFile(t, filepath.Join(root, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n", 0o644)

	// mod_php reads its SAPI configuration under R: a copy of the host's.
	copyHostPHP(t, root)

	res, err := apply.Apply(p, apply.Options{Root: root, Logf: t.Logf})
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	if err := res.Err(); err != nil {
		t.Fatalf("apply: %v", err)
	}
	t.Setenv("TMPDIR", base)
	return &sandbox{base: base, root: root, policy: p}
}

// copyHostPHP copies the host's php.ini and conf.d of mod_php under root,
// links resolved, as a host with the package installed has them.
func copyHostPHP(t *testing.T, root string) {
	t.Helper()
	mods, _ := filepath.Glob(DefaultModulesDir + "/libphp*.so")
	sort.Strings(mods)
	dir := "/etc/php/" + phpVersionOf(mods[len(mods)-1]) + "/apache2"
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		writeFile(t, filepath.Join(root, p), string(data), 0o644)
		return nil
	})
	if err != nil {
		t.Fatalf("copy the host's PHP configuration: %v", err)
	}
}

// removeSandbox unmounts everything under base, deepest first, then
// removes it.
func removeSandbox(t *testing.T, base string) {
	mounts, err := mountinfo.GetMounts(mountinfo.PrefixFilter(base))
	if err != nil {
		t.Errorf("read mount table: %v", err)
		return
	}
	sort.Slice(mounts, func(i, j int) bool { return len(mounts[i].Mountpoint) > len(mounts[j].Mountpoint) })
	for _, m := range mounts {
		if err := unix.Unmount(m.Mountpoint, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", m.Mountpoint, err)
			return
		}
	}
	if err := os.RemoveAll(base); err != nil {
		t.Errorf("remove sandbox: %v", err)
	}
}

// run runs verify on the sandbox.
func (s *sandbox) run(t *testing.T, opts Options) (*Report, error) {
	t.Helper()
	return s.runContext(t, context.Background(), opts)
}

func (s *sandbox) runContext(t *testing.T, ctx context.Context, opts Options) (*Report, error) {
	t.Helper()
	opts.Root = s.root
	if logf := opts.Logf; logf != nil {
		opts.Logf = func(f string, args ...any) { t.Logf(f, args...); logf(f, args...) }
	} else {
		opts.Logf = t.Logf
	}
	r, err := Run(ctx, s.policy, opts)
	if r != nil {
		var b strings.Builder
		r.Render(&b)
		t.Logf("report:\n%s", b.String())
	}
	return r, err
}

// leftovers lists what verify may have left in the sandbox: probe
// directories at the top of each root, links in the docroots, and
// session files in each /tmp. The upper directories are read, so an
// unmounted root is covered too.
func (s *sandbox) leftovers(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, a := range s.policy.Accounts {
		dir := filepath.Join(s.root, s.policy.Server.Paths.Accounts, a.Name)
		err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			name := e.Name()
			if strings.HasPrefix(name, ".phpguard-verify-") || strings.HasPrefix(name, "phpguard-verify-") ||
				strings.HasPrefix(name, "sess_") {
				out = append(out, p)
			}
			return nil
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
	}
	return out
}

// apacheProcesses lists the running apache2 processes started with a
// configuration under dir.
func apacheProcesses(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	dirs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, f := range dirs {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		if len(args) > 2 && strings.HasSuffix(args[0], "apache2") && slices.ContainsFunc(args, func(a string) bool {
			return strings.HasPrefix(a, dir)
		}) {
			out = append(out, f)
		}
	}
	return out
}
