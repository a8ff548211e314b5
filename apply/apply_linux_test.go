package apply

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/phpguard/phpguard/emit"
)

// TestApplyFiles: the first apply writes every generated file with the
// owner and mode of SPEC 7, content equal to what compile writes (so
// without the --root directory in it), makes the account trees and each
// docroot owned by its account, and sets the deny ACL.
func TestApplyFiles(t *testing.T) {
	requireRoot(t)
	s := newSandbox(t)
	s.write(t, "/usr/bin/rm", "#!/bin/sh\n")
	p := s.policy(t, threeAccounts().yaml())

	plan, err := Plan(p, Options{Root: s.root})
	if err != nil {
		t.Fatal(err)
	}
	res := mustApply(t, p, Options{Root: s.root})
	if diff := cmp.Diff(changeLines(plan), changeLines(res)); diff != "" {
		t.Errorf("apply did not do what plan said (-plan +apply):\n%s", diff)
	}

	d, err := emit.Compile(p)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range d.Files {
		if f.Host == "" {
			continue
		}
		n++
		got, err := os.ReadFile(s.path(f.Host))
		if err != nil {
			t.Errorf("generated file: %v", err)
			continue
		}
		if string(got) != string(f.Data) {
			t.Errorf("%s differs from compile's %s", f.Host, f.Name)
		}
		if strings.Contains(string(got), s.root) {
			t.Errorf("%s holds the --root directory %s", f.Host, s.root)
		}
		if o := owner(t, s.path(f.Host)); o != "0:0 0644" {
			t.Errorf("%s: owner and mode %s, want 0:0 0644", f.Host, o)
		}
	}
	if n != 6 {
		t.Errorf("%d generated host files, want 6", n)
	}

	want := map[string]string{
		"/home/virtual/site1":                                  "0:0 0711",
		"/home/virtual/site1/upper":                            "0:0 0755",
		"/home/virtual/site1/work":                             "0:0 0700",
		"/home/virtual/site1/upper/tmp":                        "0:0 1777",
		"/home/virtual/site1/upper/var/www/html":               "10001:10001 0755",
		"/home/virtual/site1/upper/var/www/static.example.com": "10001:10001 0755",
		"/home/virtual/site2/upper/var/www/html":               "10002:10002 0755",
		"/etc/apache2/phpguard/site1":                          "0:0 0755",
		"/var/lib/phpguard/state.json":                         "0:0 0644",
	}
	for p, w := range want {
		if got := owner(t, s.path(p)); got != w {
			t.Errorf("%s: %s, want %s", p, got, w)
		}
	}

	out, err := exec.Command(requireTool(t, "getfacl"), "-n", "-p", "--omit-header", s.path("/usr/bin/rm")).CombinedOutput()
	if err != nil {
		t.Fatalf("getfacl: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "user:33:---") {
		t.Errorf("getfacl does not show the deny entry:\n%s", out)
	}
}

// TestSecondApplyWritesNothing: a second apply reports no change and
// leaves every ctime and mtime under the root as it was, the record and
// the lock file included.
func TestSecondApplyWritesNothing(t *testing.T) {
	requireRoot(t)
	s := newSandbox(t)
	s.write(t, "/usr/bin/rm", "#!/bin/sh\n")
	p := s.policy(t, threeAccounts().yaml())
	mustApply(t, p, Options{Root: s.root})
	before := snapshot(t, s.root, true)

	time.Sleep(10 * time.Millisecond) // so that a write would show in the times
	res := mustApply(t, p, Options{Root: s.root})
	if res.Changed() {
		t.Errorf("second apply changed: %q", changeLines(res))
	}
	if diff := cmp.Diff(before, snapshot(t, s.root, true)); diff != "" {
		t.Errorf("second apply wrote (-before +after):\n%s", diff)
	}
	plan, err := Plan(p, Options{Root: s.root})
	if err != nil || plan.Changed() || plan.Err() != nil {
		t.Errorf("plan after apply: %v, %v, %q", err, plan.Err(), changeLines(plan))
	}
}

// TestPlanWritesNothing: plan and apply --check change nothing, even on
// an empty root, and say what apply will do.
func TestPlanWritesNothing(t *testing.T) {
	requireRoot(t)
	s := newSandbox(t)
	p := s.policy(t, threeAccounts().yaml())
	before := snapshot(t, s.root, true)
	res, err := Plan(p, Options{Root: s.root})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Changed() {
		t.Error("plan on an empty root finds nothing to do")
	}
	if diff := cmp.Diff(before, snapshot(t, s.root, true)); diff != "" {
		t.Errorf("plan wrote (-before +after):\n%s", diff)
	}
}

// TestHostChecksChangeNothing: a missing layer, an unknown HTTP user, an
// account with the HTTP user's uid or with its group (gid 33, www-data's
// group on Debian: the docroot would be 10001:33) fail before the first
// change, on an empty root and on a converged one. A problem with a value
// of the policy names its position as a policy diagnostic does.
func TestHostChecksChangeNothing(t *testing.T) {
	requireRoot(t)
	if g, err := user.LookupGroupId("33"); err != nil || g.Name != "www-data" {
		skipOrFail(t, "needs the www-data group with gid 33 (Debian): %v", err)
	}
	tests := []struct {
		name string
		spec func() spec
		want string // POS stands for where the line "    at" of the policy has the value 33
		at   string
	}{
		{"missing layer", func() spec {
			sp := threeAccounts()
			sp.layers = []string{"base", "terminal"}
			return sp
		}, "layer base: ", ""},
		{"unknown HTTP user", func() spec {
			sp := threeAccounts()
			sp.httpUser = "no-such-user-phpguard"
			return sp
		}, "resolve HTTP user no-such-user-phpguard", ""},
		{"account with the HTTP user's uid", func() spec {
			// A name: the validator cannot know its uid, apply can.
			sp := threeAccounts()
			sp.httpUser = "www-data"
			sp.accounts[1].uid, sp.accounts[1].gid = 33, 10002
			return sp
		}, "check host: POS: accounts[1].uid: account site2: uid 33 is the HTTP user's (www-data)", "uid: 33"},
		{"account with the HTTP user's group", func() spec {
			sp := threeAccounts()
			sp.httpUser = "www-data"
			sp.accounts[2].gid = 33
			return sp
		}, "check host: POS: accounts[2].gid: account site3: gid 33 is a group of the HTTP user www-data (www-data)", "gid: 33"},
		{"HTTP user by uid, account with its group", func() spec {
			sp := threeAccounts()
			sp.accounts[0].gid = 33
			return sp
		}, "check host: POS: accounts[0].gid: account site1: gid 33 is a group of the HTTP user 33 (www-data)", "gid: 33"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, converged := range []bool{false, true} {
				s := newSandbox(t)
				if converged {
					mustApply(t, s.policy(t, threeAccounts().yaml()), Options{Root: s.root})
				}
				text := tt.spec().yaml()
				p := s.policy(t, text)
				want := tt.want
				if tt.at != "" {
					line := slices.Index(strings.Split(text, "\n"), "    "+tt.at) + 1
					pos := fmt.Sprintf("%s:%d:%d", filepath.Join(s.dir, "policy.yaml"), line, len("    "+tt.at)-len("33")+1)
					want = strings.Replace(want, "POS", pos, 1)
				}
				before := snapshot(t, s.root, true)
				res, err := Apply(p, Options{Root: s.root})
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("apply: %v, want an error with %q", err, want)
				}
				if res != nil {
					t.Errorf("apply returned changes %q with its error", changeLines(res))
				}
				if diff := cmp.Diff(before, snapshot(t, s.root, true)); diff != "" {
					t.Errorf("a failed host check changed the root (-before +after):\n%s", diff)
				}
			}
		})
	}
}

// TestRemovesOnlyRecordedFiles: a vhost or an account dropped from the
// policy loses its files, and their empty directory; a file phpguard did
// not write stays, and so does the dropped account's tree.
func TestRemovesOnlyRecordedFiles(t *testing.T) {
	requireRoot(t)
	s := newSandbox(t)
	sp := threeAccounts()
	mustApply(t, s.policy(t, sp.yaml()), Options{Root: s.root})
	s.write(t, "/etc/apache2/phpguard/mine.conf", "# the operator's\n")
	s.write(t, "/etc/apache2/phpguard/site3/extra.conf", "# the operator's too\n")
	s.write(t, "/home/virtual/site2/upper/var/www/html/index.php", "<?php echo 1;\n")

	// site1 loses a vhost, site2 goes, site3's directory holds a file
	// phpguard did not write.
	sp.accounts[0].vhosts = sp.accounts[0].vhosts[:1]
	sp.accounts = []acct{sp.accounts[0]}
	p := s.policy(t, sp.yaml())
	res := mustApply(t, p, Options{Root: s.root})
	want := []string{
		"~ file /etc/apache2/conf-enabled/phpguard.conf",
		"- file /etc/apache2/phpguard/site1/static.example.com.conf",
		"- file /etc/apache2/phpguard/site2/example.net.conf",
		"- file /etc/apache2/phpguard/site3/example.org.conf",
		"- dir /etc/apache2/phpguard/site2",
	}
	if diff := cmp.Diff(want, changeLines(res)); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	for _, p := range []string{
		"/etc/apache2/phpguard/mine.conf",
		"/etc/apache2/phpguard/site3/extra.conf",
		"/etc/apache2/phpguard/site1/example.com.conf",
		"/home/virtual/site2/upper/var/www/html/index.php",
		"/home/virtual/site3/upper/var/www/html",
	} {
		if _, err := os.Lstat(s.path(p)); err != nil {
			t.Errorf("%s is gone: %v", p, err)
		}
	}
	for _, p := range []string{"/etc/apache2/phpguard/site2", "/etc/apache2/phpguard/site1/static.example.com.conf"} {
		if _, err := os.Lstat(s.path(p)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s is still there: %v", p, err)
		}
	}
	rec, err := loadRecord(s.hostRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	wantFiles := []string{
		"/etc/apache2/conf-enabled/phpguard.conf",
		"/etc/apache2/phpguard/site1/example.com.conf",
		"/etc/php/conf.d/90-phpguard.ini",
	}
	if diff := cmp.Diff(wantFiles, rec.Files); diff != "" {
		t.Errorf("record (-want +got):\n%s", diff)
	}
	if res := mustApply(t, p, Options{Root: s.root}); res.Changed() {
		t.Errorf("apply after the removal changed %q", changeLines(res))
	}
}

// TestRefusesNonRegularTarget: a symbolic link (or a directory) where a
// generated file goes is left alone and reported; the other files are
// written; the link's target is untouched.
func TestRefusesNonRegularTarget(t *testing.T) {
	requireRoot(t)
	s := newSandbox(t)
	victim := filepath.Join(s.dir, "victim")
	if err := os.WriteFile(victim, []byte("keep\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := s.path("/etc/apache2/phpguard/site2/example.net.conf")
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, link); err != nil {
		t.Fatal(err)
	}
	p := s.policy(t, threeAccounts().yaml())
	res, err := Apply(p, Options{Root: s.root})
	if err != nil {
		t.Fatal(err)
	}
	var nr *NotRegularError
	if !errors.As(res.Err(), &nr) || !strings.Contains(res.Err().Error(), "account site2: refuse to replace") {
		t.Errorf("apply: %v, want a refusal naming site2", res.Err())
	}
	if got, _ := os.ReadFile(victim); string(got) != "keep\n" {
		t.Errorf("the link's target now holds %q", got)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("the link was replaced: %v", err)
	}
	for _, f := range []string{"/etc/apache2/phpguard/site1/example.com.conf", "/etc/apache2/phpguard/site3/example.org.conf"} {
		if _, err := os.Stat(s.path(f)); err != nil {
			t.Errorf("other account's file: %v", err)
		}
	}
}

// TestAccountFailureIsolated: a symbolic link planted in one account's
// tree fails that account only; the others converge and the link is not
// followed.
func TestAccountFailureIsolated(t *testing.T) {
	requireRoot(t)
	s := newSandbox(t)
	sp := threeAccounts()
	p := s.policy(t, sp.yaml())
	mustApply(t, p, Options{Root: s.root})

	// site2 replaces /var/www with a link to a directory of the host, and
	// site1 and site3 get a new vhost each.
	outside := filepath.Join(s.dir, "outside")
	if err := os.Mkdir(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	www := s.path("/home/virtual/site2/upper/var/www")
	if err := os.RemoveAll(www); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, www); err != nil {
		t.Fatal(err)
	}
	sp.accounts[0].vhosts = append(sp.accounts[0].vhosts, "blog.example.com")
	sp.accounts[2].vhosts = append(sp.accounts[2].vhosts, "blog.example.org")
	p = s.policy(t, sp.yaml())

	res, err := Apply(p, Options{Root: s.root})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) != 1 || !strings.HasPrefix(res.Errors[0].Error(), "account site2: ") {
		t.Errorf("errors %v, want one for site2", res.Errors)
	}
	for _, d := range []string{"/home/virtual/site1/upper/var/www/blog.example.com", "/home/virtual/site3/upper/var/www/blog.example.org"} {
		if got := owner(t, s.path(d)); !strings.HasSuffix(got, " 0755") || strings.HasPrefix(got, "0:") {
			t.Errorf("%s: %s, want the account's, 0755", d, got)
		}
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("apply wrote through site2's link: %v", entries)
	}
	if _, err := os.Stat(s.path("/etc/apache2/phpguard/site3/blog.example.org.conf")); err != nil {
		t.Errorf("site3's new vhost: %v", err)
	}
}

// TestLock: a second apply waits for the lock, then gives up clearly;
// once the lock is free it runs.
func TestLock(t *testing.T) {
	requireRoot(t)
	s := newSandbox(t)
	p := s.policy(t, threeAccounts().yaml())
	l, err := takeLock(s.hostRoot(t), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = Apply(p, Options{Root: s.root, LockTimeout: 300 * time.Millisecond})
	waited := time.Since(start)
	want := "another phpguard apply holds the lock " + s.root + "/var/lib/phpguard/lock; gave up after 300ms"
	if err == nil || err.Error() != want {
		t.Errorf("apply while locked: %v, want %q", err, want)
	}
	if waited < 300*time.Millisecond {
		t.Errorf("gave up after %v, before the timeout", waited)
	}
	if _, err := os.Stat(s.path("/etc")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("apply without the lock wrote: %v", err)
	}

	// Released while the second one waits: it goes on.
	go func() {
		time.Sleep(200 * time.Millisecond)
		l.release()
	}()
	if _, err := Apply(p, Options{Root: s.root, LockTimeout: 5 * time.Second}); err != nil {
		t.Errorf("apply after the lock was released: %v", err)
	}

	// The default timeout reads as the flag's default does.
	lockErr := &LockError{Path: "/var/lib/phpguard/lock", Timeout: DefaultLockTimeout}
	if got, want := lockErr.Error(), "another phpguard apply holds the lock /var/lib/phpguard/lock; gave up after 60s"; got != want {
		t.Errorf("LockError = %q, want %q", got, want)
	}
}

// TestConfigTestFailureRestores: when the config test fails, every
// Apache and PHP file is as it was before the run (content, mode and
// owner; new files gone, removed ones back), Apache is not reloaded, and
// the next run tries again.
func TestConfigTestFailureRestores(t *testing.T) {
	requireRoot(t)
	s := newSandbox(t)
	flag := filepath.Join(s.dir, "configtest-fails")
	reloaded := "/reloaded"
	sp := threeAccounts()
	sp.configtest = `[sh, -c, 'test ! -e ` + flag + `']`
	sp.reload = `[sh, -c, 'echo reload >> "$PHPGUARD_ROOT` + reloaded + `"']`
	mustApply(t, s.policy(t, sp.yaml()), Options{Root: s.root, RunCommands: true})
	if got, _ := os.ReadFile(s.path(reloaded)); string(got) != "reload\n" {
		t.Fatalf("first apply: reload log %q, want one reload", got)
	}
	// A mode the operator set, which a restore must keep.
	if err := os.Chmod(s.path("/etc/php/conf.d/90-phpguard.ini"), 0o640); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, s.path("/etc"), false)

	// A new account, a dropped one, a changed vhost list: every kind of
	// file change, then a failing test.
	sp.accounts = append(sp.accounts[:1], acct{name: "site4", uid: 10004, vhosts: []string{"example.info"}}, sp.accounts[2])
	sp.accounts[0].vhosts = sp.accounts[0].vhosts[:1]
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	p := s.policy(t, sp.yaml())
	res, err := Apply(p, Options{Root: s.root, RunCommands: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Err() == nil || !strings.Contains(res.Err().Error(), "apache config test") {
		t.Fatalf("apply with a failing config test: %v", res.Err())
	}
	for _, c := range res.Changes {
		if c.Kind == emit.KindFile {
			t.Errorf("a file change is reported as made: %s", c.Line())
		}
	}
	if diff := cmp.Diff(before, snapshot(t, s.path("/etc"), false)); diff != "" {
		t.Errorf("files not restored (-before +after):\n%s", diff)
	}
	if got, _ := os.ReadFile(s.path(reloaded)); string(got) != "reload\n" {
		t.Errorf("reload log %q: reloaded after a failed config test", got)
	}

	// Fixed: the next run writes and reloads.
	os.Remove(flag)
	res = mustApply(t, p, Options{Root: s.root, RunCommands: true})
	if !res.Changed() {
		t.Error("apply after the fix changed nothing")
	}
	if got, _ := os.ReadFile(s.path(reloaded)); string(got) != "reload\nreload\n" {
		t.Errorf("reload log %q, want two reloads", got)
	}
}

// TestCommandsUnderRoot: under --root the commands run only with
// RunCommands; a run that changes no file runs none.
func TestCommandsUnderRoot(t *testing.T) {
	requireRoot(t)
	s := newSandbox(t)
	sp := threeAccounts()
	sp.configtest = `[sh, -c, 'echo test >> "$PHPGUARD_ROOT/log"']`
	sp.reload = `[sh, -c, 'echo reload >> "$PHPGUARD_ROOT/log"']`
	p := s.policy(t, sp.yaml())
	res := mustApply(t, p, Options{Root: s.root})
	if _, err := os.Stat(s.path("/log")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("commands ran under --root without RunCommands: %v", err)
	}
	if len(res.Warnings) == 0 || !strings.Contains(strings.Join(res.Warnings, "\n"), "--run-commands") {
		t.Errorf("no warning about the skipped commands: %q", res.Warnings)
	}
	sp.accounts = sp.accounts[:2]
	p = s.policy(t, sp.yaml())
	mustApply(t, p, Options{Root: s.root, RunCommands: true})
	mustApply(t, p, Options{Root: s.root, RunCommands: true})
	if got, _ := os.ReadFile(s.path("/log")); string(got) != "test\nreload\n" {
		t.Errorf("command log %q, want one test and one reload", got)
	}

	// NoReload (the boot unit): the test runs, the reload does not.
	sp.accounts = sp.accounts[:1]
	mustApply(t, s.policy(t, sp.yaml()), Options{Root: s.root, RunCommands: true, NoReload: true})
	if got, _ := os.ReadFile(s.path("/log")); string(got) != "test\nreload\ntest\n" {
		t.Errorf("command log %q, want a second test and no second reload", got)
	}
}

// TestStaleTempFilesRemoved: temporary files an interrupted run left
// beside generated files and the record are removed.
func TestStaleTempFilesRemoved(t *testing.T) {
	requireRoot(t)
	s := newSandbox(t)
	p := s.policy(t, threeAccounts().yaml())
	mustApply(t, p, Options{Root: s.root})
	stale := []string{
		"/etc/apache2/phpguard/site1/.phpguard-123",
		"/etc/apache2/conf-enabled/.phpguard-456",
		"/var/lib/phpguard/.phpguard-789",
	}
	for _, f := range stale {
		s.write(t, f, "half")
	}
	s.write(t, "/etc/apache2/phpguard/site1/.other", "not ours")
	mustApply(t, p, Options{Root: s.root})
	for _, f := range stale {
		if _, err := os.Lstat(s.path(f)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s is still there: %v", f, err)
		}
	}
	if _, err := os.Lstat(s.path("/etc/apache2/phpguard/site1/.other")); err != nil {
		t.Errorf("a file that is not a phpguard temporary file was removed: %v", err)
	}
}

// TestOnlyACL: --only acl sets the ACLs and touches nothing else.
func TestOnlyACL(t *testing.T) {
	requireRoot(t)
	s := newSandbox(t)
	s.write(t, "/usr/bin/rm", "#!/bin/sh\n")
	p := s.policy(t, threeAccounts().yaml())
	res, err := Apply(p, Options{Root: s.root, Only: OnlyACL})
	if err != nil || res.Err() != nil {
		t.Fatalf("apply --only acl: %v, %v", err, res.Err())
	}
	if diff := cmp.Diff([]string{"+ acl /usr/bin/rm (user:33:---)"}, changeLines(res)); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	for _, p := range []string{"/etc", "/home"} {
		if _, err := os.Stat(s.path(p)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("--only acl made %s: %v", p, err)
		}
	}
}

// TestRecordWidenedFirst: the record is widened before the first file is
// written, so a crash right after leaves the new file recorded, and a
// policy that drops it before the next run still removes it.
func TestRecordWidenedFirst(t *testing.T) {
	requireRoot(t)
	s := newSandbox(t)
	sp := threeAccounts()
	p := s.policy(t, sp.yaml())
	d, err := emit.Compile(p)
	if err != nil {
		t.Fatal(err)
	}
	e := &engine{p: p, d: d, root: s.root, r: s.hostRoot(t), failed: map[string]bool{}}
	fp, err := e.planFiles()
	if err != nil {
		t.Fatal(err)
	}
	intent := fp.rec.union(record{Files: fp.wanted, Dirs: dirPaths(fp.mkdirs)})
	if err := intent.save(e.r); err != nil {
		t.Fatal(err)
	}
	// The crash: one vhost written (renamed into place whole), nothing
	// else.
	crashed := "/etc/apache2/phpguard/site3/example.org.conf"
	for _, f := range d.Files {
		if f.Host == crashed {
			s.write(t, f.Host, string(f.Data))
		}
	}
	if _, err := os.Lstat(s.path(crashed)); err != nil {
		t.Fatalf("the crashed run's file: %v", err)
	}

	sp.accounts = sp.accounts[:2]
	mustApply(t, s.policy(t, sp.yaml()), Options{Root: s.root})
	if _, err := os.Lstat(s.path(crashed)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the file of the crashed run is still there: %v", err)
	}
}
