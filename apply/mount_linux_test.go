package apply

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/phpguard/phpguard/emit"
)

// busyboxLayers makes small real layers from Debian's busybox-static
// under the sandbox's /srv/layers: base holds bin/busybox with a few
// links (usr/bin/rm, mv and cp among them, so the deny step resolves
// links inside the layer), terminal holds a shell profile, ruby a file.
func busyboxLayers(t *testing.T, s *sandbox) {
	t.Helper()
	bb := "/bin/busybox"
	if _, err := os.Stat(bb); err != nil {
		skipOrFail(t, "needs busybox-static: %v", err)
	}
	data, err := os.ReadFile(bb)
	if err != nil {
		t.Fatal(err)
	}
	base := s.path("/srv/layers/base")
	for _, d := range []string{"bin", "usr/bin", "etc", "tmp", "var/www"} {
		if err := os.MkdirAll(filepath.Join(base, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(base, "bin/busybox"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"sh", "ls", "cat"} {
		if err := os.Symlink("busybox", filepath.Join(base, "bin", l)); err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range []string{"rm", "mv", "cp"} {
		// An absolute link: resolved inside the layer, never on the host.
		if err := os.Symlink("/bin/busybox", filepath.Join(base, "usr/bin", l)); err != nil {
			t.Fatal(err)
		}
	}
	s.write(t, "/srv/layers/base/etc/os-release", "NAME=phpguard-test\n")
	s.write(t, "/srv/layers/terminal/etc/profile", "PS1='$ '\n")
	s.write(t, "/srv/layers/ruby/usr/bin/ruby", "#!/bin/sh\necho ruby\n")
	// The host's own binaries, under the root.
	for _, b := range []string{"rm", "mv", "cp"} {
		s.write(t, "/usr/bin/"+b, "#!/bin/sh\n")
	}
}

func layeredSpec() spec {
	return spec{
		layers:   []string{"base", "terminal", "ruby"},
		httpUser: "www-data",
		deny:     "[/usr/bin/rm, /usr/bin/mv, /usr/bin/cp]",
		accounts: []acct{
			{name: "site1", uid: 10001, vhosts: []string{"example.com"}},
			{name: "site10", uid: 10010, services: []string{"terminal"}, vhosts: []string{"example.net", "static.example.net"}},
			{name: "agency", uid: 10020, services: []string{"ruby"}, vhosts: []string{"agency.example.org"}},
		},
	}
}

// TestEndToEnd: a full apply with real layers in a private mount
// namespace mounts every root with the right stack and flags, writes the
// Apache and PHP files, sets the ACLs as getfacl shows them, and a second
// apply changes nothing.
func TestEndToEnd(t *testing.T) {
	if !inMountNS(t) {
		return
	}
	s := newSandbox(t)
	busyboxLayers(t, s)
	p := s.policy(t, layeredSpec().yaml())

	res := mustApply(t, p, Options{Root: s.root})
	if !res.Changed() {
		t.Fatal("first apply changed nothing")
	}

	// Mounts, read from the kernel.
	mounts := overlayMounts(t, s.root)
	want := map[string][]string{
		"/home/virtual/site1/root":  {"base"},
		"/home/virtual/site10/root": {"terminal", "base"},
		"/home/virtual/agency/root": {"ruby", "base"}, // ruby requires base only here
	}
	if len(mounts) != len(want) {
		t.Errorf("overlay mounts %v, want %d", mounts, len(want))
	}
	for target, layers := range want {
		m, ok := mounts[target]
		if !ok {
			t.Errorf("%s is not mounted", target)
			continue
		}
		for _, f := range []string{"nosuid", "nodev", "noexec"} {
			if !strings.Contains(m, f) {
				t.Errorf("%s mounted without %s: %s", target, f, m)
			}
		}
		var lower []string
		for _, l := range layers {
			lower = append(lower, s.path("/srv/layers/"+l))
		}
		if !strings.Contains(m, "lowerdir+="+strings.Join(lower, ",lowerdir+=")) && !strings.Contains(m, "lowerdir="+strings.Join(lower, ":")) {
			t.Errorf("%s: options %s, want the layers %v", target, m, lower)
		}
	}

	// Through the mounted root: the layers, and the docroots.
	if _, err := os.Stat(s.path("/home/virtual/agency/root/usr/bin/ruby")); err != nil {
		t.Errorf("agency's root lacks its ruby layer: %v", err)
	}
	if _, err := os.Stat(s.path("/home/virtual/site1/root/usr/bin/ruby")); err == nil {
		t.Error("site1's root has the ruby layer")
	}
	for d, w := range map[string]string{
		"/home/virtual/site10/root/var/www/html":               "10010:10010 0755",
		"/home/virtual/site10/root/var/www/static.example.net": "10010:10010 0755",
		"/home/virtual/site10/root/tmp":                        "0:0 1777",
	} {
		if got := owner(t, s.path(d)); got != w {
			t.Errorf("%s: %s, want %s", d, got, w)
		}
	}

	// Files.
	for _, f := range []string{
		"/etc/apache2/phpguard/site10/static.example.net.conf",
		"/etc/apache2/conf-enabled/phpguard.conf",
		"/etc/php/conf.d/90-phpguard.ini",
	} {
		if got := owner(t, s.path(f)); got != "0:0 0644" {
			t.Errorf("%s: %s, want 0:0 0644", f, got)
		}
	}

	// ACLs, as getfacl shows them: the host's and each layer's (through
	// the absolute link, on the layer's busybox).
	getfacl := requireTool(t, "getfacl")
	for _, f := range []string{"/usr/bin/rm", "/usr/bin/cp", "/srv/layers/base/bin/busybox"} {
		out, err := exec.Command(getfacl, "-p", "--omit-header", s.path(f)).CombinedOutput()
		if err != nil {
			t.Fatalf("getfacl: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), "user:www-data:---") {
			t.Errorf("getfacl %s:\n%s", f, out)
		}
	}
	if data, _ := os.ReadFile("/bin/busybox"); len(data) == 0 {
		t.Error("cannot read the host's busybox")
	}

	// Again: nothing, not even an ACL rewritten (the ctimes would show
	// it) in the layers or on the host's binaries.
	watched := []string{"/etc", "/srv", "/usr", "/var"}
	before := make(map[string]map[string]entry)
	for _, d := range watched {
		before[d] = snapshot(t, s.path(d), true)
	}
	res = mustApply(t, p, Options{Root: s.root})
	if res.Changed() {
		t.Errorf("second apply changed %q", changeLines(res))
	}
	for _, d := range watched {
		if diff := cmp.Diff(before[d], snapshot(t, s.path(d), true)); diff != "" {
			t.Errorf("second apply wrote in %s (-before +after):\n%s", d, diff)
		}
	}
	if diff := cmp.Diff(mounts, overlayMounts(t, s.root)); diff != "" {
		t.Errorf("second apply changed the mounts (-before +after):\n%s", diff)
	}
}

// TestRemountHeld: a root whose stack changed is remounted only when no
// process holds it; otherwise apply names the holder, changes everything
// else and fails; once the holder is gone, the next apply remounts.
// An account dropped from the policy is unmounted, and its data kept.
func TestRemountHeld(t *testing.T) {
	if !inMountNS(t) {
		return
	}
	s := newSandbox(t)
	busyboxLayers(t, s)
	sp := layeredSpec()
	mustApply(t, s.policy(t, sp.yaml()), Options{Root: s.root})

	// A process working in site1's root.
	holder := exec.Command("/bin/busybox", "sleep", "60")
	holder.Dir = s.path("/home/virtual/site1/root/var/www/html")
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer holder.Process.Kill()

	// site1 gets the terminal layer and a new vhost.
	sp.accounts[0].services = []string{"terminal"}
	sp.accounts[0].vhosts = append(sp.accounts[0].vhosts, "blog.example.com")
	p := s.policy(t, sp.yaml())
	res, err := Apply(p, Options{Root: s.root})
	if err != nil {
		t.Fatal(err)
	}
	wantErr := fmt.Sprintf("account site1: remount %s: held by pid %d (busybox) as cwd", s.path("/home/virtual/site1/root"), holder.Process.Pid)
	if res.Err() == nil || res.Err().Error() != wantErr {
		t.Errorf("apply with a holder: %v, want %q", res.Err(), wantErr)
	}
	if m := overlayMounts(t, s.root)["/home/virtual/site1/root"]; strings.Contains(m, "terminal") {
		t.Errorf("remounted under a holder: %s", m)
	}
	for _, p := range []string{"/etc/apache2/phpguard/site1/blog.example.com.conf", "/home/virtual/site1/root/var/www/blog.example.com"} {
		if _, err := os.Stat(s.path(p)); err != nil {
			t.Errorf("not converged besides the mount: %v", err)
		}
	}

	holder.Process.Kill()
	holder.Wait()
	res = mustApply(t, p, Options{Root: s.root})
	if diff := cmp.Diff([]string{"~ mount /home/virtual/site1/root (lowerdir terminal:base; lowerdir is " +
		s.path("/srv/layers/base") + ", want " + s.path("/srv/layers/terminal") + ":" + s.path("/srv/layers/base") + ")"}, changeLines(res)); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	if m := overlayMounts(t, s.root)["/home/virtual/site1/root"]; !strings.Contains(m, "terminal") {
		t.Errorf("not remounted: %s", m)
	}

	// site10 is dropped: unmounted, its data kept.
	s.write(t, "/home/virtual/site10/root/var/www/html/index.php", "<?php echo 10;\n")
	sp.accounts = []acct{sp.accounts[0], sp.accounts[2]}
	res = mustApply(t, s.policy(t, sp.yaml()), Options{Root: s.root})
	want := []string{
		"- mount /home/virtual/site10/root (account dropped; data kept)",
		"~ file /etc/apache2/conf-enabled/phpguard.conf",
		"- file /etc/apache2/phpguard/site10/example.net.conf",
		"- file /etc/apache2/phpguard/site10/static.example.net.conf",
		"- dir /etc/apache2/phpguard/site10",
	}
	if diff := cmp.Diff(want, changeLines(res)); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	if _, ok := overlayMounts(t, s.root)["/home/virtual/site10/root"]; ok {
		t.Error("the dropped account is still mounted")
	}
	if got, err := os.ReadFile(s.path("/home/virtual/site10/upper/var/www/html/index.php")); err != nil || string(got) != "<?php echo 10;\n" {
		t.Errorf("the dropped account's data: %q, %v", got, err)
	}
}

// TestStackTooLong: an account whose stack does not fit the kernel's
// limits fails alone, before any change to it; the others converge.
func TestStackTooLong(t *testing.T) {
	if !inMountNS(t) {
		return
	}
	s := newSandbox(t)
	busyboxLayers(t, s)
	sp := layeredSpec()
	// 80 layers with 60-character names: over a page even relative to
	// the layers directory, which is all mount(2) can take.
	var names []string
	for i := range 80 {
		n := fmt.Sprintf("l%02d-%s", i, strings.Repeat("x", 56))
		names = append(names, n)
		if err := os.MkdirAll(s.path("/srv/layers/"+n), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	sp.layers = append(sp.layers, names...)
	sp.accounts = append(sp.accounts, acct{name: "huge", uid: 10040, services: names, vhosts: []string{"huge.example.com"}})
	p := s.policy(t, sp.yaml())

	res, err := Apply(p, Options{Root: s.root, OldMountAPI: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Error(), "account huge: ") || !strings.Contains(res.Errors[0].Error(), "limit") {
		t.Errorf("errors %v, want one naming huge and the limit", res.Errors)
	}
	if _, err := os.Lstat(s.path("/home/virtual/huge")); err == nil {
		t.Error("the failed account's tree was made")
	}
	mounts := overlayMounts(t, s.root)
	for _, a := range []string{"site1", "site10", "agency"} {
		if _, ok := mounts["/home/virtual/"+a+"/root"]; !ok {
			t.Errorf("%s is not mounted", a)
		}
	}
}

// TestPlanNamesMountedRoot: a docroot added to an account whose root is
// mounted is made through the mounted root, and plan and apply name it
// by that path, not by the upper path behind the mount.
func TestPlanNamesMountedRoot(t *testing.T) {
	if !inMountNS(t) {
		return
	}
	s := newSandbox(t)
	busyboxLayers(t, s)
	sp := layeredSpec()
	mustApply(t, s.policy(t, sp.yaml()), Options{Root: s.root})

	sp.accounts[1].vhosts = append(sp.accounts[1].vhosts, "blog.example.net")
	p := s.policy(t, sp.yaml())
	plan, err := Plan(p, Options{Root: s.root})
	if err != nil || plan.Err() != nil {
		t.Fatalf("plan: %v, %v", err, plan.Err())
	}
	var dirs []string
	for _, c := range plan.Changes {
		if c.Kind == emit.KindDir {
			dirs = append(dirs, c.Path)
		}
	}
	if diff := cmp.Diff([]string{"/home/virtual/site10/root/var/www/blog.example.net"}, dirs); diff != "" {
		t.Errorf("planned directories (-want +got):\n%s", diff)
	}
	res := mustApply(t, p, Options{Root: s.root})
	if diff := cmp.Diff(changeLines(plan), changeLines(res)); diff != "" {
		t.Errorf("apply did not do what plan said (-plan +apply):\n%s", diff)
	}
	if got := owner(t, s.path("/home/virtual/site10/root/var/www/blog.example.net")); got != "10010:10010 0755" {
		t.Errorf("the new docroot through the mounted root: %s, want 10010:10010 0755", got)
	}
}
