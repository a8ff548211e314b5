package rootfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/phpguard/phpguard/policy"
)

var skeleton = []policy.SkeletonEntry{
	{Path: "/tmp", Mode: 0o1777, Owner: policy.OwnerRoot},
	{Path: "/var/www/html", Mode: 0o755, Owner: policy.OwnerAccount},
}

// owner returns "uid:gid mode" of p, not following a link.
func owner(t *testing.T, p string) string {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%d:%d %04o", st.Uid, st.Gid, st.Mode&0o7777)
}

func TestEnsureAccount(t *testing.T) {
	requireRoot(t)
	f := newFixture(t, "layers", "accounts")
	spec := f.spec("site1", 10001, skeleton, "/var/www/html", "/var/www/example.com/public")
	d := spec.Dirs

	t.Run("dry run changes nothing", func(t *testing.T) {
		changes, err := EnsureAccount("/", spec, true)
		if err != nil {
			t.Fatal(err)
		}
		if len(changes) == 0 {
			t.Error("a dry run on a fresh host reports no changes")
		}
		if _, err := os.Lstat(d.Dir); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("the dry run made %s: %v", d.Dir, err)
		}
	})

	t.Run("first run makes the tree", func(t *testing.T) {
		dry, err := EnsureAccount("/", spec, true)
		if err != nil {
			t.Fatal(err)
		}
		changes, err := EnsureAccount("/", spec, false)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(dry, changes); diff != "" {
			t.Errorf("the dry run differs from the run (-dry +run):\n%s", diff)
		}
		var created []string
		for _, c := range changes {
			if c.Action != "create" || c.Kind != "dir" || c.Account != "site1" {
				t.Errorf("unexpected change %+v", c)
			}
			created = append(created, strings.TrimPrefix(c.Path, f.accounts))
		}
		wantCreated := []string{"/site1", "/site1/upper", "/site1/work", "/site1/root",
			"/site1/upper/tmp", "/site1/upper/var", "/site1/upper/var/www", "/site1/upper/var/www/html",
			"/site1/upper/var/www/example.com", "/site1/upper/var/www/example.com/public"}
		if diff := cmp.Diff(wantCreated, created); diff != "" {
			t.Errorf("created (-want +got):\n%s", diff)
		}
		want := map[string]string{
			d.Dir:                                   "0:0 0711",
			d.Upper:                                 "0:0 0755",
			d.Work:                                  "0:0 0700",
			d.Root:                                  "0:0 0755",
			d.Upper + "/tmp":                        "0:0 1777",
			d.Upper + "/var":                        "0:0 0755",
			d.Upper + "/var/www":                    "0:0 0755",
			d.Upper + "/var/www/html":               "10001:10001 0755",
			d.Upper + "/var/www/example.com":        "0:0 0755",
			d.Upper + "/var/www/example.com/public": "10001:10001 0755",
		}
		got := map[string]string{}
		for p := range want {
			got[p] = owner(t, p)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("owners and modes (-want +got):\n%s", diff)
		}
	})

	t.Run("second run changes nothing", func(t *testing.T) {
		changes, err := EnsureAccount("/", spec, false)
		if err != nil || len(changes) != 0 {
			t.Errorf("second run: %v, %+v; want no changes", err, changes)
		}
	})

	t.Run("drift is put back", func(t *testing.T) {
		mustDo(t, os.Chmod(d.Upper, 0o777))
		mustDo(t, os.Chown(d.Upper+"/var/www/example.com/public", 0, 0))
		mustDo(t, os.Chmod(d.Upper+"/var/www/example.com/public", 0o750)) // the account's choice
		mustDo(t, os.Chmod(d.Upper+"/tmp", 0o755))
		changes, err := EnsureAccount("/", spec, false)
		if err != nil {
			t.Fatal(err)
		}
		want := []Change{
			{Kind: "dir", Path: d.Upper, Action: "update", Account: "site1", Detail: "mode 0777 -> 0755"},
			{Kind: "dir", Path: d.Upper + "/tmp", Action: "update", Account: "site1", Detail: "mode 0755 -> 1777"},
			{Kind: "dir", Path: d.Upper + "/var/www/example.com/public", Action: "update", Account: "site1", Detail: "owner 0:0 -> 10001:10001"},
		}
		if diff := cmp.Diff(want, changes); diff != "" {
			t.Errorf("changes (-want +got):\n%s", diff)
		}
		if got := owner(t, d.Upper+"/var/www/example.com/public"); got != "10001:10001 0750" {
			t.Errorf("docroot %s, want the account's with its own mode 0750", got)
		}
	})

	t.Run("under --root", func(t *testing.T) {
		root := t.TempDir()
		changes, err := EnsureAccount(root, spec, false)
		if err != nil {
			t.Fatal(err)
		}
		if got := owner(t, filepath.Join(root, d.Upper, "var/www/html")); got != "10001:10001 0755" {
			t.Errorf("docroot under --root: %s", got)
		}
		for _, c := range changes {
			if strings.HasPrefix(c.Path, root) {
				t.Errorf("change path %s carries the --root directory", c.Path)
			}
		}
	})
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestEnsureAccountSymlinkAttack: an account replaces directories it owns
// with links to a victim directory elsewhere; phpguard neither chowns nor
// chmods the victim, fails that account, and converges the other.
func TestEnsureAccountSymlinkAttack(t *testing.T) {
	requireRoot(t)
	tests := []struct {
		name    string
		replace string // inside upper
	}{
		{"docroot", "var/www/html/example.com"},
		{"skeleton entry", "var/www/html"},
		{"parent of a docroot", "var/www/html/shop"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, "layers", "accounts")
			victim := filepath.Join(f.dir, "victim")
			mustDo(t, os.Mkdir(victim, 0o700))
			evil := f.spec("evil", 10001, skeleton, "/var/www/html/example.com", "/var/www/html/shop/public")
			good := f.spec("good", 10002, skeleton, "/var/www/html/example.com")
			for _, s := range []AccountSpec{evil, good} {
				if _, err := EnsureAccount("/", s, false); err != nil {
					t.Fatal(err)
				}
			}

			// The attack, and drift in both accounts for apply to fix.
			planted := filepath.Join(evil.Dirs.Upper, tt.replace)
			mustDo(t, os.RemoveAll(planted))
			mustDo(t, os.Symlink(victim, planted))
			mustDo(t, os.Chmod(evil.Dirs.Upper, 0o777))
			mustDo(t, os.Chmod(good.Dirs.Upper, 0o777))
			before := owner(t, victim)

			_, err := EnsureAccount("/", evil, false)
			var unsafe *UnsafePathError
			if !errors.As(err, &unsafe) {
				t.Fatalf("EnsureAccount(evil) = %v, want an *UnsafePathError", err)
			}
			if unsafe.Account != "evil" || unsafe.Path != planted || unsafe.Reason != "is a symbolic link" {
				t.Errorf("error %+v, want the planted link %s named", unsafe, planted)
			}
			if got := owner(t, victim); got != before {
				t.Errorf("victim changed: %s, was %s", got, before)
			}
			if got := owner(t, evil.Dirs.Upper); got != "0:0 0777" {
				t.Errorf("evil's tree was changed before the link was found: upper %s", got)
			}

			changes, err := EnsureAccount("/", good, false)
			if err != nil {
				t.Fatalf("the other account: %v", err)
			}
			if len(changes) != 1 || owner(t, good.Dirs.Upper) != "0:0 0755" {
				t.Errorf("the other account was not converged: %+v", changes)
			}
		})
	}
}

// TestEnsureAccountBadTree covers what is not a directory where one is due.
func TestEnsureAccountBadTree(t *testing.T) {
	requireRoot(t)
	tests := []struct {
		name   string
		plant  func(d AccountDirs) error
		path   func(d AccountDirs) string
		reason string
	}{
		{"root is a file", func(d AccountDirs) error { return os.WriteFile(d.Root, nil, 0o644) },
			func(d AccountDirs) string { return d.Root }, "is not a directory"},
		{"upper is a link", func(d AccountDirs) error { return os.Symlink("/", d.Upper) },
			func(d AccountDirs) string { return d.Upper }, "is a symbolic link"},
		{"docroot is a file", func(d AccountDirs) error {
			if err := os.MkdirAll(d.Upper+"/var/www/html", 0o755); err != nil {
				return err
			}
			return os.WriteFile(d.Upper+"/var/www/html/example.com", nil, 0o644)
		}, func(d AccountDirs) string { return d.Upper + "/var/www/html/example.com" }, "is not a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, "layers", "accounts")
			spec := f.spec("site1", 10001, skeleton, "/var/www/html/example.com")
			mustDo(t, os.MkdirAll(spec.Dirs.Dir, 0o711))
			mustDo(t, tt.plant(spec.Dirs))
			_, err := EnsureAccount("/", spec, false)
			var unsafe *UnsafePathError
			if !errors.As(err, &unsafe) || unsafe.Path != tt.path(spec.Dirs) || unsafe.Reason != tt.reason {
				t.Errorf("EnsureAccount = %v, want %s %s", err, tt.path(spec.Dirs), tt.reason)
			}
		})
	}
}

// TestEnsureAccountMounted makes new skeleton entries and docroots
// through a mounted root, not in upper behind the mount.
func TestEnsureAccountMounted(t *testing.T) {
	if !inMountNS(t) {
		return
	}
	f := newFixture(t, "layers", "accounts")
	f.layer(t, "base", map[string]string{"srv/www/": "", "var/run/": ""})
	mustDo(t, os.Symlink("/run", filepath.Join(f.layers, "base/run-link")))
	o := f.overlay("site1", "base")
	spec := f.spec("site1", 10001, skeleton, "/var/www/html")
	if _, err := EnsureAccount("/", spec, false); err != nil {
		t.Fatal(err)
	}
	mountT(t, o, MountOptions{})

	// The apply after a policy change: a docroot under a directory that
	// only a layer has, and the top of upper drifted.
	mustDo(t, os.Chmod(o.Target, 0o777))
	spec.Docroots = append(spec.Docroots, "/srv/www/example.com")
	changes, err := EnsureAccount("/", spec, false)
	if err != nil {
		t.Fatal(err)
	}
	want := []Change{
		{Kind: "dir", Path: spec.Dirs.Upper, Action: "update", Account: "site1", Detail: "mode 0777 -> 0755"},
		{Kind: "dir", Path: spec.Dirs.Upper + "/srv/www/example.com", Action: "create", Account: "site1"},
	}
	if diff := cmp.Diff(want, changes); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	// Seen through the mount, and copied up by overlayfs into upper.
	if got := owner(t, o.Target+"/srv/www/example.com"); got != "10001:10001 0755" {
		t.Errorf("docroot through the root: %s", got)
	}
	if got := owner(t, o.Upper+"/srv/www/example.com"); got != "10001:10001 0755" {
		t.Errorf("docroot in upper: %s", got)
	}
	if got := owner(t, o.Target); got != "0:0 0755" {
		t.Errorf("root: %s", got)
	}

	t.Run("a layer's link on the way is refused", func(t *testing.T) {
		spec := spec
		spec.Docroots = []string{"/run-link/x"}
		_, err := EnsureAccount("/", spec, false)
		var unsafe *UnsafePathError
		if !errors.As(err, &unsafe) || unsafe.Reason != "is a symbolic link" {
			t.Errorf("EnsureAccount = %v, want the link refused", err)
		}
		if _, err := os.Lstat("/run/x"); err == nil {
			t.Error("made /run/x on the host")
		}
	})
}
