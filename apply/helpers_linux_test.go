package apply

import (
	"fmt"
	"github.com/phpguard/phpguard/internal/testenv"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/phpguard/phpguard/policy"
)

// inMountNS runs the calling top-level test again in a new, private
// mount namespace (see testenv.InMountNS).
func inMountNS(t *testing.T) bool { return testenv.InMountNS(t, nsEnv) }

// nsEnv marks a test binary re-executed in its own mount namespace.
const nsEnv = "PHPGUARD_APPLY_MOUNT_NS"

func TestMain(m *testing.M) {
	testenv.PrivateMounts(nsEnv)
	os.Exit(m.Run())
}

var (
	skipOrFail  = testenv.SkipOrFail
	requireRoot = testenv.RequireRoot
	requireTool = testenv.RequireTool
)

// unmountAllUnder detaches every mount under dir, deepest first, so that
// t.TempDir's cleanup does not walk into a mounted root.
func unmountAllUnder(t testing.TB, dir string) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Error(err)
		return
	}
	var targets []string
	for _, m := range mountPoints(string(data)) {
		if strings.HasPrefix(m, dir+"/") {
			targets = append(targets, m)
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(targets)))
	for _, m := range targets {
		if err := unix.Unmount(m, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", m, err)
		}
	}
}

// mountPoints returns the mount points of a mountinfo text.
func mountPoints(mountinfo string) []string {
	var out []string
	for _, line := range strings.Split(mountinfo, "\n") {
		f := strings.Fields(line)
		if len(f) > 4 {
			out = append(out, f[4])
		}
	}
	return out
}

// overlayMounts returns "mountpoint options" of each overlay mount
// under dir, from /proc/self/mountinfo.
func overlayMounts(t *testing.T, dir string) map[string]string {
	t.Helper()
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]string)
	for _, line := range strings.Split(string(data), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		if !ok {
			continue
		}
		f, g := strings.Fields(pre), strings.Fields(post)
		if len(f) < 6 || len(g) < 3 || g[0] != "overlay" || !strings.HasPrefix(f[4], dir+"/") {
			continue
		}
		out[strings.TrimPrefix(f[4], dir)] = f[5] + " " + g[2]
	}
	return out
}

// sandbox is a --root directory with a policy file beside it.
type sandbox struct {
	root string
	dir  string // holds the policy files
}

func newSandbox(t testing.TB) *sandbox {
	t.Helper()
	dir := t.TempDir()
	s := &sandbox{root: filepath.Join(dir, "root"), dir: dir}
	if err := os.Mkdir(s.root, 0o755); err != nil {
		t.Fatal(err)
	}
	// Registered after TempDir, so it runs before its removal.
	t.Cleanup(func() { unmountAllUnder(t, dir) })
	return s
}

// path returns the real path of the host path p.
func (s *sandbox) path(p string) string { return filepath.Join(s.root, p) }

// hostRoot opens the sandbox root as apply does; the test closes it.
func (s *sandbox) hostRoot(t testing.TB) *hostRoot {
	t.Helper()
	r, err := openHostRoot(s.root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.close)
	return r
}

// write makes a file under the sandbox root, with its parents.
func (s *sandbox) write(t testing.TB, p, content string) {
	t.Helper()
	real := s.path(p)
	if err := os.MkdirAll(filepath.Dir(real), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(real, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
}

// policy writes text as a policy file and loads it.
func (s *sandbox) policy(t testing.TB, text string) *policy.Policy {
	t.Helper()
	name := filepath.Join(s.dir, "policy.yaml")
	if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	p, _, err := policy.Load(name)
	if err != nil {
		t.Fatalf("load policy:\n%v\n%s", err, text)
	}
	return p
}

// spec describes a test policy.
type spec struct {
	layers     []string // names; the first is always:, the others require it
	httpUser   string   // default "33"
	deny       string   // YAML list, default [/usr/bin/rm]
	configtest string   // YAML list, default []
	reload     string   // YAML list, default []
	accounts   []acct
}

type acct struct {
	name     string
	uid      int
	gid      int // default uid
	services []string
	vhosts   []string // server names; the first has docroot /var/www/html, the others /var/www/NAME
}

// yaml renders the policy.
func (sp spec) yaml() string {
	or := func(s, def string) string {
		if s == "" {
			return def
		}
		return s
	}
	var b strings.Builder
	fmt.Fprintf(&b, `version: 1
server:
  http_user: %q
  paths:
    layers: /srv/layers
    accounts: /home/virtual
    apache: /etc/apache2/phpguard
    apache_include: /etc/apache2/conf-enabled/phpguard.conf
    php_ini: /etc/php/conf.d/90-phpguard.ini
  deny:
    binaries: %s
  apache:
    configtest: %s
    reload: %s
  skeleton:
    - {path: /tmp, mode: "1777", owner: root}
    - {path: /var/www/html, mode: "0755", owner: account}
`, or(sp.httpUser, "33"), or(sp.deny, "[/usr/bin/rm]"), or(sp.configtest, "[]"), or(sp.reload, "[]"))
	if len(sp.layers) > 0 {
		b.WriteString("  layers:\n")
		for i, l := range sp.layers {
			if i == 0 {
				fmt.Fprintf(&b, "    - {name: %s, always: true}\n", l)
			} else {
				fmt.Fprintf(&b, "    - {name: %s, requires: [%s]}\n", l, sp.layers[0])
			}
		}
	}
	b.WriteString("accounts:\n")
	if len(sp.accounts) == 0 {
		b.WriteString("  []\n")
	}
	for _, a := range sp.accounts {
		gid := a.gid
		if gid == 0 {
			gid = a.uid
		}
		fmt.Fprintf(&b, "  - name: %s\n    uid: %d\n    gid: %d\n", a.name, a.uid, gid)
		if len(a.services) > 0 {
			fmt.Fprintf(&b, "    services: [%s]\n", strings.Join(a.services, ", "))
		}
		b.WriteString("    vhosts:\n")
		for i, v := range a.vhosts {
			docroot := "/var/www/html"
			if i > 0 {
				docroot = "/var/www/" + v
			}
			fmt.Fprintf(&b, "      - {server_name: %s, docroot: %s}\n", v, docroot)
		}
	}
	return b.String()
}

// threeAccounts is a policy of three accounts without layers: no mounts.
func threeAccounts() spec {
	return spec{accounts: []acct{
		{name: "site1", uid: 10001, vhosts: []string{"example.com", "static.example.com"}},
		{name: "site2", uid: 10002, vhosts: []string{"example.net"}},
		{name: "site3", uid: 10003, vhosts: []string{"example.org"}},
	}}
}

// entry is one file of a snapshot.
type entry struct {
	Type     string
	Mode     uint32
	UID, GID uint32
	Data     string // content of a file, target of a link
	ACL      string // the access ACL attribute, as bytes
	Times    string // ctime and mtime, when asked
}

// snapshot returns every entry under dir by its path relative to dir,
// without following links.
func snapshot(t testing.TB, dir string, times bool) map[string]entry {
	t.Helper()
	out := make(map[string]entry)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		e := entry{Mode: st.Mode & 0o7777, UID: st.Uid, GID: st.Gid}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			e.Type = "dir"
		case unix.S_IFREG:
			e.Type = "file"
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			e.Data = string(data)
		case unix.S_IFLNK:
			e.Type = "link"
			e.Data, _ = os.Readlink(p)
		default:
			e.Type = fmt.Sprintf("%o", st.Mode&unix.S_IFMT)
		}
		if e.Type != "link" {
			buf := make([]byte, 1024)
			if n, err := unix.Lgetxattr(p, "system.posix_acl_access", buf); err == nil {
				e.ACL = fmt.Sprintf("%x", buf[:n])
			}
		}
		if times {
			e.Times = fmt.Sprintf("c%d.%09d m%d.%09d", st.Ctim.Sec, st.Ctim.Nsec, st.Mtim.Sec, st.Mtim.Nsec)
		}
		rel, _ := filepath.Rel(dir, p)
		out[rel] = e
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// owner returns "uid:gid mode" of p, not following a link.
func owner(t testing.TB, p string) string {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%d:%d %04o", st.Uid, st.Gid, st.Mode&0o7777)
}

// mustApply applies and fails the test on any error.
func mustApply(t testing.TB, p *policy.Policy, o Options) *Result {
	t.Helper()
	res, err := Apply(p, o)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	if res.Err() != nil {
		t.Fatalf("apply: %v", res.Err())
	}
	return res
}

// changeLines returns the one-line form of each change.
func changeLines(res *Result) []string {
	var out []string
	for _, c := range res.Changes {
		out = append(out, c.Line())
	}
	return out
}
