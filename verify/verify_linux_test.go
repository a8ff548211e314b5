package verify

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

func readExample(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../examples/hosting.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// statuses returns the status of every result of the report, by
// "server name: promise" and "acl: what".
func statuses(r *Report) map[string]string {
	out := map[string]string{}
	for _, v := range r.Vhosts {
		for _, res := range v.Results {
			out[v.ServerName+": "+res.Promise] = res.Status.String()
		}
	}
	for _, res := range r.ACL {
		out["acl: "+res.Promise] = res.Status.String()
	}
	return out
}

// checkClean fails when verify left anything behind: a probe, a link, a
// session file, its temporary directory or an Apache process.
func checkClean(t *testing.T, s *sandbox) {
	t.Helper()
	if left := s.leftovers(t); len(left) > 0 {
		t.Errorf("verify left behind: %q", left)
	}
	if procs := apacheProcesses(t, s.base); len(procs) > 0 {
		t.Errorf("Apache still runs: %q", procs)
	}
	tmps, _ := filepath.Glob(filepath.Join(s.base, "phpguard-verify-*"))
	if len(tmps) > 0 {
		t.Errorf("temporary directories left: %q", tmps)
	}
}

// TestBundledExample applies examples/hosting.yaml to a sandbox root and
// proves every promise with a real Apache and mod_php.
func TestBundledExample(t *testing.T) {
	requireSandbox(t)
	s := newSandbox(t, readExample(t))
	r, err := s.run(t, Options{})
	if err != nil {
		t.Fatalf("verify: %v", err)
	}

	want := map[string]string{}
	prefixPair := map[string]bool{"site1": true, "site10": true}
	for _, a := range s.policy.Accounts {
		for _, v := range a.Vhosts {
			for _, p := range Promises {
				st := "enforced"
				if p == PrefixAccount && !prefixPair[a.Name] {
					st = "skipped"
				}
				want[v.ServerName+": "+string(p)] = st
			}
		}
	}
	for _, b := range s.policy.Server.Deny.Binaries {
		want["acl: "+b+" on the host"] = "enforced"
		for _, l := range s.policy.Server.Layers {
			st := "skipped" // absent: only the base layer has binaries
			if l.Always {
				st = "enforced"
			}
			want["acl: "+b+" in layer "+l.Name] = st
		}
	}
	if diff := cmp.Diff(want, statuses(r)); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if !r.OK() {
		t.Error("OK() = false, want true")
	}
	if !strings.HasPrefix(r.PHPVersion, "8.") {
		t.Errorf("PHP version %q", r.PHPVersion)
	}
	res, _ := r.Find("example.com", PrefixAccount)
	if !strings.Contains(res.Detail, "site10") || !strings.Contains(res.Detail, "open_basedir") {
		t.Errorf("prefix check on example.com: detail %q, want site10 refused by open_basedir", res.Detail)
	}
	checkClean(t, s)
}

// TestPerVhostDisableFunctionsTrap shows php-src GH-19018 on the host's
// PHP: mail, disabled only by alpha's php_admin_value, stays callable
// while the server-wide list from the SAPI ini is enforced.
func TestPerVhostDisableFunctionsTrap(t *testing.T) {
	requireSandbox(t)
	s := newSandbox(t, trapPolicy)
	r, err := s.run(t, Options{})
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	alpha, _ := r.Find("alpha.example", DisableFunctions)
	if alpha.Status != NotEnforced || !strings.Contains(alpha.Detail, "still callable: mail") ||
		!strings.Contains(alpha.Detail, "GH-19018") {
		t.Errorf("alpha.example: %v %q, want NOT ENFORCED: still callable: mail ... GH-19018", alpha.Status, alpha.Detail)
	}
	if strings.Contains(alpha.Detail, "exec") {
		t.Errorf("alpha.example: the server list is reported callable: %q", alpha.Detail)
	}
	beta, _ := r.Find("beta.example", DisableFunctions)
	if beta.Status != Enforced {
		t.Errorf("beta.example: %v %q, want enforced", beta.Status, beta.Detail)
	}
	if r.OK() {
		t.Error("OK() = true, want false")
	}
	checkClean(t, s)
}

// TestDriftUnderRoot edits the files under R the way drift would: vhost
// files with a wrong or no open_basedir, an ini file after phpguard's
// that enables functions again, and an include that follows every
// symbolic link.
func TestDriftUnderRoot(t *testing.T) {
	requireSandbox(t)
	s := newSandbox(t, readExample(t))

	setBasedir := func(file, value string) {
		edit(t, filepath.Join(s.root, "etc/apache2/phpguard", file), func(c string) string {
			var keep []string
			for _, l := range strings.Split(c, "\n") {
				if strings.Contains(l, "open_basedir") {
					if value == "" {
						continue
					}
					l = "\tphp_admin_value open_basedir \"" + value + "\""
				}
				keep = append(keep, l)
			}
			return strings.Join(keep, "\n")
		})
	}
	// Every account.
	setBasedir("site1/example.com.conf", "/home/virtual/")
	// Everything.
	setBasedir("javashop/shop.example.com.conf", "/")
	// None: the server-wide open_basedir of the SAPI ini applies, and the
	// vhost cannot run its own files.
	setBasedir("agency/agency.example.org.conf", "")

	writeFile(t, filepath.Join(s.root, "etc/php/8.2/apache2/conf.d/95-drift.ini"),
		"disable_functions = \"exec,passthru,system\"\n", 0o644)
	include := filepath.Join(s.root, "etc/apache2/conf-enabled/phpguard.conf")
	edit(t, include, func(c string) string {
		return strings.Replace(c, "Options SymLinksIfOwnerMatch", "Options FollowSymLinks", 1)
	})

	// A package upgrade replaced the host's rm and dropped its ACL.
	if err := unix.Removexattr(filepath.Join(s.root, "usr/bin/rm"), "system.posix_acl_access"); err != nil {
		t.Fatal(err)
	}

	r, err := s.run(t, Options{})
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	var acl []Result
	for _, res := range r.ACL {
		if strings.HasPrefix(res.Promise, "/usr/bin/rm ") {
			acl = append(acl, res)
		}
	}
	wantACL := []Result{
		{Promise: "/usr/bin/rm on the host", Status: NotEnforced, Detail: "www-data can read and execute it"},
		{Promise: "/usr/bin/rm in layer base", Status: Enforced},
		{Promise: "/usr/bin/rm in layer terminal", Status: Skipped, Detail: "absent"},
		{Promise: "/usr/bin/rm in layer ruby", Status: Skipped, Detail: "absent"},
		{Promise: "/usr/bin/rm in layer java", Status: Skipped, Detail: "absent"},
	}
	if diff := cmp.Diff(wantACL, acl); diff != "" {
		t.Errorf("ACL results (-want +got):\n%s", diff)
	}
	tests := []struct {
		vhost   string
		promise Promise
		status  Status
		detail  string
	}{
		{"example.com", OwnFiles, Enforced, ""},
		{"example.com", OtherAccount, NotEnforced, "PHP read agency's file"},
		{"example.com", PrefixAccount, NotEnforced, "PHP read site10's file"},
		{"example.com", HostFile, Enforced, "refused by open_basedir"},
		{"example.net", PrefixAccount, Enforced, "site1's file: refused by open_basedir"},
		{"shop.example.com", OtherAccount, NotEnforced, "PHP read site1's file"},
		{"shop.example.com", HostFile, NotEnforced, "PHP read /etc/passwd"},
		{"agency.example.org", OwnFiles, NotEnforced, "PHP did not run the probe (HTTP 500): refused by open_basedir"},
		{"agency.example.org", OtherAccount, NotEnforced, "PHP did not run the probe"},
		{"clients.example.org", OtherAccount, Enforced, "refused by open_basedir"},
		{"example.com", DisableFunctions, NotEnforced, "still callable: shell_exec, proc_open, popen, putenv"},
		{"shop.example.com", DisableFunctions, NotEnforced, "still callable: shell_exec"},
		{"example.com", Symlink, NotEnforced, "Apache served agency's file"},
		{"shop.example.com", Symlink, NotEnforced, "Apache served"},
		{"example.com", Uploads, Enforced, ""},
		{"example.com", Sessions, Enforced, ""},
	}
	for _, tt := range tests {
		t.Run(tt.vhost+"/"+string(tt.promise), func(t *testing.T) {
			got, ok := r.Find(tt.vhost, tt.promise)
			if !ok {
				t.Fatal("no result")
			}
			if got.Status != tt.status || !strings.Contains(got.Detail, tt.detail) {
				t.Errorf("got %v %q, want %v with %q", got.Status, got.Detail, tt.status, tt.detail)
			}
		})
	}
	if r.OK() {
		t.Error("OK() = true, want false")
	}
	checkClean(t, s)
}

// errAny stands for an error without a sentinel.
var errAny = errors.New("any error")

func edit(t *testing.T, name string, fn func(string) string) {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	after := fn(string(b))
	if after == string(b) {
		t.Fatalf("edit of %s changed nothing", name)
	}
	writeFile(t, name, after, 0o644)
}

// TestFailureModes: each is a clear error, and nothing is left behind.
func TestFailureModes(t *testing.T) {
	requireSandbox(t)
	s := newSandbox(t, readExample(t))

	// A module directory with every module but mod_php.
	noPHP := filepath.Join(s.base, "modules")
	if err := os.Mkdir(noPHP, 0o755); err != nil {
		t.Fatal(err)
	}
	mods, _ := filepath.Glob(DefaultModulesDir + "/mod_*.so")
	for _, m := range mods {
		if err := os.Symlink(m, filepath.Join(noPHP, filepath.Base(m))); err != nil {
			t.Fatal(err)
		}
	}

	// A port another program listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	busy := l.Addr().(*net.TCPAddr).Port

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	tests := []struct {
		name    string
		opts    Options
		prepare func(t *testing.T)
		want    error
		msg     string
	}{
		{name: "no apache", opts: Options{Apache: filepath.Join(s.base, "none/apache2")}, want: ErrNoApache, msg: "install Debian's apache2 package"},
		{name: "no mod_php", opts: Options{ModulesDir: noPHP}, want: ErrNoModPHP, msg: "libapache2-mod-php"},
		{name: "port in use", opts: Options{Port: busy}, want: ErrPortInUse, msg: "another program listens there"},
		{
			name: "top of a root writable",
			prepare: func(t *testing.T) {
				top := filepath.Join(s.root, "home/virtual/agency/root")
				if err := os.Chmod(top, 0o777); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { os.Chmod(top, 0o755) })
			},
			want: errAny, msg: "agency/root: the top of the root is owned by uid 0 with mode 0777: only root may write there",
		},
		{
			// Interrupted once Apache runs: Run returns through every
			// cleanup step.
			name: "interrupted",
			opts: Options{Logf: func(string, ...any) { cancel() }},
			want: context.Canceled, msg: "context canceled",
		},
		{
			name: "root not mounted",
			prepare: func(t *testing.T) {
				target := filepath.Join(s.root, "home/virtual/site10/root")
				if err := unix.Unmount(target, 0); err != nil {
					t.Fatal(err)
				}
			},
			want: ErrNotMounted, msg: "site10/root (account site10): nothing is mounted there",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.prepare != nil {
				tt.prepare(t)
			}
			r, err := s.runContext(t, ctx, tt.opts)
			if err == nil || r != nil {
				t.Fatalf("Run = %v, %v; want error %v", r, err, tt.want)
			}
			t.Logf("error: %v", err)
			if (tt.want != errAny && !errors.Is(err, tt.want)) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q, want %v with %q", err, tt.want, tt.msg)
			}
			checkClean(t, s)
		})
	}
}
