package apply

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/phpguard/phpguard/emit"
)

// TestRecordNotTrusted: a record that lists what phpguard did not write
// (tampered with, or written by a buggy older phpguard) makes apply
// delete nothing but files that carry phpguard's header outside the
// account trees and the layers. Every other path stays as it is, leaves
// the record, and is a warning, not a failure.
func TestRecordNotTrusted(t *testing.T) {
	requireRoot(t)
	s := newSandbox(t)
	p := s.policy(t, threeAccounts().yaml())
	mustApply(t, p, Options{Root: s.root})
	header := "# " + emit.Header + "\n"

	// What each recorded path is on the host; the warning it gets.
	tests := []struct {
		name    string
		path    string // as recorded
		content string // a file at its cleaned path, unless link is set
		link    string // a symbolic link there instead, to this target
		warning string
	}{
		{"a file of the host", "/etc/important/file", "keep me\n", "",
			"recorded file /etc/important/file does not start with phpguard's header"},
		{"a path with ..", "/etc/apache2/phpguard/../../important/generated", header, "",
			`recorded file "/etc/apache2/phpguard/../../important/generated" is not an absolute, clean path`},
		{"a relative path", "etc/relative.conf", header, "",
			`recorded file "etc/relative.conf" is not an absolute, clean path`},
		{"an account's file with the header", "/home/virtual/site1/upper/var/www/html/index.php", header, "",
			"recorded file /home/virtual/site1/upper/var/www/html/index.php lies in the accounts directory /home/virtual"},
		{"a layer's file with the header", "/srv/layers/base/etc/x.conf", header, "",
			"recorded file /srv/layers/base/etc/x.conf lies in the layers directory /srv/layers"},
		{"an account's file through a link", "/etc/apache2/sites/index.php", "", "",
			"recorded file /etc/apache2/sites/index.php lies in the accounts directory /home/virtual through a symbolic link"},
		{"a symbolic link", "/etc/apache2/phpguard/link.conf", "", "/etc/apache2/phpguard/site1/example.com.conf",
			"recorded file /etc/apache2/phpguard/link.conf is a symbolic link, not a regular file"},
	}
	// The link into site1's docroot, and the account's file behind it.
	s.write(t, "/home/virtual/site1/upper/var/www/html/index.php", header)
	if err := os.Symlink("/home/virtual/site1/upper/var/www/html", s.path("/etc/apache2/sites")); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		switch {
		case tt.link != "":
			if err := os.Symlink(tt.link, s.path(tt.path)); err != nil {
				t.Fatal(err)
			}
		case tt.content != "":
			s.write(t, filepath.Clean(tt.path), tt.content)
		}
	}
	// A file phpguard did write, dropped from the policy meanwhile, and
	// an account's empty docroot recorded as a directory phpguard made.
	s.write(t, "/etc/apache2/phpguard/old.conf", header+"# old\n")
	before := snapshot(t, s.root, false)

	r := s.hostRoot(t)
	rec, err := loadRecord(r)
	if err != nil {
		t.Fatal(err)
	}
	wantFiles := rec.Files
	for _, tt := range tests {
		rec.Files = append(rec.Files, tt.path)
	}
	rec.Files = append(rec.Files, "/etc/apache2/phpguard/old.conf")
	rec.Dirs = append(rec.Dirs, "/home/virtual/site1/upper/var/www/static.example.com")
	if err := rec.save(r); err != nil {
		t.Fatal(err)
	}

	res := mustApply(t, p, Options{Root: s.root})
	if diff := cmp.Diff([]string{"- file /etc/apache2/phpguard/old.conf"}, changeLines(res)); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	var want []string
	for _, tt := range tests {
		want = append(want, tt.warning+": left in place and dropped from the record")
	}
	want = append(want, "recorded directory /home/virtual/site1/upper/var/www/static.example.com lies in the accounts directory /home/virtual: left in place and dropped from the record")
	sort.Strings(want)
	got := recordWarnings(res)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}

	// Everything is as it was but old.conf, and the record lists what
	// phpguard generates, no more.
	delete(before, "etc/apache2/phpguard/old.conf")
	after := snapshot(t, s.root, false)
	delete(after, "var/lib/phpguard/state.json")
	delete(before, "var/lib/phpguard/state.json")
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("apply changed more than old.conf (-before +after):\n%s", diff)
	}
	rec, err = loadRecord(r)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantFiles, rec.Files); diff != "" {
		t.Errorf("record (-want +got):\n%s", diff)
	}
	if res := mustApply(t, p, Options{Root: s.root}); res.Changed() || len(recordWarnings(res)) > 0 {
		t.Errorf("the next apply: changes %q, warnings %q", changeLines(res), res.Warnings)
	}
}

// recordWarnings returns the warnings about the record, sorted.
func recordWarnings(res *Result) []string {
	var out []string
	for _, w := range res.Warnings {
		if strings.HasPrefix(w, "recorded ") {
			out = append(out, w)
		}
	}
	sort.Strings(out)
	return out
}

// TestWritesStayInRoot: under --root, a symbolic link in R where apply
// writes (a vhost directory, the include's or the ini's directory, the
// record and lock directory) resolves inside R, as for a process
// chrooted into R: nothing is written outside R, whether the link is
// absolute or climbs out with "..". A link whose target is inside R is
// followed there.
func TestWritesStayInRoot(t *testing.T) {
	requireRoot(t)
	tests := []struct {
		name     string
		link     string // host path of the link
		relative bool   // a relative target that climbs out of R
	}{
		{"vhost directory", "/etc/apache2/phpguard/site1", false},
		{"include directory", "/etc/apache2/conf-enabled", true},
		{"ini directory", "/etc/php/conf.d", false},
		{"record and lock directory", "/var/lib/phpguard", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSandbox(t)
			outside := filepath.Join(s.dir, "outside")
			if err := os.Mkdir(outside, 0o755); err != nil {
				t.Fatal(err)
			}
			link := s.path(tt.link)
			if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
				t.Fatal(err)
			}
			target := outside
			if tt.relative {
				var err error
				if target, err = filepath.Rel(filepath.Dir(link), outside); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Symlink(target, link); err != nil {
				t.Fatal(err)
			}
			p := s.policy(t, threeAccounts().yaml())
			res, err := Apply(p, Options{Root: s.root})
			if err == nil && res.Err() == nil {
				t.Errorf("apply through a link that leads nowhere in R succeeded")
			}
			if entries, _ := os.ReadDir(outside); len(entries) != 0 {
				t.Errorf("apply wrote outside R: %v", entries)
			}
		})
	}

	t.Run("link inside R", func(t *testing.T) {
		s := newSandbox(t)
		if err := os.MkdirAll(s.path("/srv/vhosts/site1"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(s.path("/etc/apache2/phpguard"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("/srv/vhosts/site1", s.path("/etc/apache2/phpguard/site1")); err != nil {
			t.Fatal(err)
		}
		mustApply(t, s.policy(t, threeAccounts().yaml()), Options{Root: s.root})
		if _, err := os.Stat(s.path("/srv/vhosts/site1/example.com.conf")); err != nil {
			t.Errorf("the vhost is not where the link leads inside R: %v", err)
		}
		if fi, err := os.Lstat(s.path("/etc/apache2/phpguard/site1")); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("the link was replaced: %v", err)
		}
	})
}

// TestPlanRecordWarnings: plan reports the same record warnings and
// removes nothing.
func TestPlanRecordWarnings(t *testing.T) {
	requireRoot(t)
	s := newSandbox(t)
	p := s.policy(t, threeAccounts().yaml())
	mustApply(t, p, Options{Root: s.root})
	s.write(t, "/etc/important/file", "keep me\n")
	r := s.hostRoot(t)
	rec, err := loadRecord(r)
	if err != nil {
		t.Fatal(err)
	}
	rec.Files = append(rec.Files, "/etc/important/file")
	if err := rec.save(r); err != nil {
		t.Fatal(err)
	}
	res, err := Plan(p, Options{Root: s.root})
	if err != nil || res.Err() != nil {
		t.Fatalf("plan: %v, %v", err, res.Err())
	}
	if res.Changed() {
		t.Errorf("plan: changes %q", changeLines(res))
	}
	if w := recordWarnings(res); len(w) != 1 || !strings.HasPrefix(w[0], "recorded file /etc/important/file does not start") {
		t.Errorf("plan: warnings %q", res.Warnings)
	}
	if _, err := os.Stat(s.path("/etc/important/file")); errors.Is(err, fs.ErrNotExist) {
		t.Error("plan removed a file")
	}
}
