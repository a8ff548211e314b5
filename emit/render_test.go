package emit_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/phpguard/phpguard/emit"
	"github.com/phpguard/phpguard/policy"
)

func mustParse(t *testing.T, src string) *policy.Policy {
	t.Helper()
	p, _, err := policy.Parse("test.yaml", []byte(src))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return p
}

const twoSites = `version: 1
server:
  php:
    open_basedir: [/srv/shared]
accounts:
  - name: site1
    uid: 1001
    gid: 1001
    vhosts:
      - server_name: one.example
        php:
          open_basedir: [/srv/extra]
  - name: site10
    uid: 1010
    gid: 1010
    vhosts:
      - server_name: ten.example
`

// TestOpenBasedirSlash: every open_basedir entry ends in "/", so site1's
// root is not a prefix of site10's.
func TestOpenBasedirSlash(t *testing.T) {
	p := mustParse(t, twoSites)
	v := string(emit.Vhost(p, &p.Accounts[0], &p.Accounts[0].Vhosts[0]))
	if want := `php_admin_value open_basedir "/home/virtual/site1/root/:/srv/extra/"`; !strings.Contains(v, want) {
		t.Errorf("vhost lacks %s:\n%s", want, v)
	}
	if strings.Contains(v, "site10") {
		t.Errorf("site1's vhost names site10:\n%s", v)
	}
	ini := string(emit.PHPIni(p))
	if want := `open_basedir = "/srv/shared/"`; !strings.Contains(ini, want) {
		t.Errorf("ini lacks %s:\n%s", want, ini)
	}
}

// TestVhostTempDirs: uploads, sessions and sys_temp_dir go to the
// account's own /tmp.
func TestVhostTempDirs(t *testing.T) {
	p := mustParse(t, twoSites)
	v := string(emit.Vhost(p, &p.Accounts[1], &p.Accounts[1].Vhosts[0]))
	for _, k := range []string{"upload_tmp_dir", "session.save_path", "sys_temp_dir"} {
		if want := "php_admin_value " + k + ` "/home/virtual/site10/root/tmp"`; !strings.Contains(v, want) {
			t.Errorf("vhost lacks %s", want)
		}
	}
}

// TestPerVhostDisableFunctions: the union is written, with the comment
// that says PHP 8.2's mod_php ignores it; a vhost without a list of its
// own gets no line.
func TestPerVhostDisableFunctions(t *testing.T) {
	p := mustParse(t, `version: 1
server:
  php:
    disable_functions: [exec, system]
accounts:
  - name: a
    uid: 1001
    gid: 1001
    vhosts:
      - server_name: a.example
        php:
          disable_functions: [mail, EXEC]
      - server_name: b.example
`)
	a := &p.Accounts[0]
	v := string(emit.Vhost(p, a, &a.Vhosts[0]))
	if want := `php_admin_value disable_functions "exec,system,mail"`; !strings.Contains(v, want) {
		t.Errorf("vhost lacks %s:\n%s", want, v)
	}
	if !strings.Contains(v, "GH-19018") {
		t.Errorf("per-vhost list without the GH-19018 comment:\n%s", v)
	}
	if v := string(emit.Vhost(p, a, &a.Vhosts[1])); strings.Contains(v, "disable_functions") {
		t.Errorf("vhost without a list of its own has a disable_functions line:\n%s", v)
	}
}

func TestDiffFiles(t *testing.T) {
	old := []emit.File{{Name: "a", Data: []byte("1\n")}, {Name: "b", Data: []byte("2\n")}, {Name: "c", Data: []byte("3\n")}}
	new := []emit.File{{Name: "b", Data: []byte("2\n")}, {Name: "c", Data: []byte("4\n")}, {Name: "d", Data: []byte("5\n")}}
	got := emit.DiffFiles(old, new)
	want := []emit.FileChange{
		{Name: "a", Action: emit.Remove, Old: []byte("1\n")},
		{Name: "c", Action: emit.Update, Old: []byte("3\n"), New: []byte("4\n")},
		{Name: "d", Action: emit.Create, New: []byte("5\n")},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if s := emit.Summary(got); s != "1 file added, 1 changed, 1 removed" {
		t.Errorf("Summary = %q", s)
	}
	if u := emit.Unified(got[2]); !strings.HasPrefix(u, "--- /dev/null\n+++ b/d\n") {
		t.Errorf("Unified for a new file:\n%s", u)
	}
}
