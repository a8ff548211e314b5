package policy

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func mustParse(t *testing.T, src string) *Policy {
	t.Helper()
	p, _, err := Parse("p.yaml", []byte(src))
	if err != nil {
		t.Fatalf("Parse:\n%v", err)
	}
	return p
}

func TestDefaults(t *testing.T) {
	p := mustParse(t, "version: 1\n")
	want := &Policy{
		Version: 1,
		Server: Server{
			HTTPUser: "www-data",
			Paths: Paths{
				Layers:        "/srv/phpguard/layers",
				Accounts:      "/home/virtual",
				Apache:        "/etc/apache2/phpguard",
				ApacheInclude: "/etc/apache2/conf-enabled/phpguard.conf",
				PHPIni:        "/etc/php/8.2/apache2/conf.d/90-phpguard.ini",
			},
			PHP: PHP{
				DisableFunctions: []string{"exec", "passthru", "shell_exec", "system", "proc_open", "popen", "pcntl_exec", "putenv"},
				OpenBasedir:      []string{"/var/www/html/"},
			},
			Deny: Deny{Binaries: []string{"/usr/bin/rm", "/usr/bin/mv", "/usr/bin/cp"}},
			Apache: Apache{
				Listen:     "*:80",
				ConfigTest: []string{"apache2ctl", "-t"},
				Reload:     []string{"apache2ctl", "graceful"},
			},
			Skeleton: []SkeletonEntry{
				{Path: "/tmp", Mode: 0o1777, Owner: OwnerRoot},
				{Path: "/var/www/html", Mode: 0o755, Owner: OwnerAccount},
			},
		},
	}
	if diff := cmp.Diff(want, p, cmpopts.IgnoreUnexported(Policy{})); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
}

// TestNormalForms checks what the loader stores: lower-case names,
// function lists without repeats, modes, the added /tmp, and explicitly
// empty lists that stay empty.
func TestNormalForms(t *testing.T) {
	p := mustParse(t, `version: 1
server:
  http_user: 33
  php:
    disable_functions: [Exec, EXEC, system, exec, Putenv]
  deny:
    binaries: []
  apache:
    configtest: []
  skeleton:
    - {path: /var/www/html, mode: "02750", owner: account}
    - {path: /run/x, mode: "0", owner: root}
accounts:
  - name: site1
    uid: 10001
    gid: 10002
    services: []
    vhosts:
      - server_name: Example.COM
        aliases: [WWW.Example.com, "*.Shop.Example.com"]
        php:
          disable_functions: [MAIL, mail]
          open_basedir: []
`)
	s := p.Server
	if diff := cmp.Diff("33", s.HTTPUser); diff != "" {
		t.Errorf("http_user (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"exec", "system", "putenv"}, s.PHP.DisableFunctions); diff != "" {
		t.Errorf("server functions (-want +got):\n%s", diff)
	}
	if s.Deny.Binaries == nil || len(s.Deny.Binaries) != 0 {
		t.Errorf("binaries: [] became %#v, want an empty list", s.Deny.Binaries)
	}
	if s.Apache.ConfigTest == nil || len(s.Apache.ConfigTest) != 0 {
		t.Errorf("configtest: [] became %#v, want an empty list", s.Apache.ConfigTest)
	}
	wantSk := []SkeletonEntry{
		{Path: "/var/www/html", Mode: 0o2750, Owner: OwnerAccount},
		{Path: "/run/x", Mode: 0, Owner: OwnerRoot},
		{Path: "/tmp", Mode: 0o1777, Owner: OwnerRoot},
	}
	if diff := cmp.Diff(wantSk, s.Skeleton); diff != "" {
		t.Errorf("skeleton (-want +got):\n%s", diff)
	}
	wantAcct := []Account{{
		Name: "site1", UID: 10001, GID: 10002,
		Vhosts: []Vhost{{
			ServerName: "example.com",
			Aliases:    []string{"www.example.com", "*.shop.example.com"},
			Docroot:    "/var/www/html",
			PHP:        PHP{DisableFunctions: []string{"mail"}},
		}},
	}}
	if diff := cmp.Diff(wantAcct, p.Accounts); diff != "" {
		t.Errorf("accounts (-want +got):\n%s", diff)
	}
}

// TestNonASCIIFolding pins that only ASCII letters are folded: the
// Kelvin sign (U+212A) lower-cases to "k" in Unicode, which would turn
// an invalid name into a valid, different one.
func TestNonASCIIFolding(t *testing.T) {
	_, _, err := Parse("p.yaml", []byte("version: 1\nserver:\n  php:\n    disable_functions: [\"\u212Aill\"]\n"))
	want := `p.yaml:4:25: server.php.disable_functions[0]: function name "\u212aill" is not a PHP identifier (letters, digits and _, not starting with a digit)`
	if err == nil {
		t.Fatal("Parse accepted a function name with a Kelvin sign")
	}
	if diff := cmp.Diff(want, err.Error()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestPosition(t *testing.T) {
	p, _, err := Load("testdata/good/spec.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]Pos{
		"version":                                 {"testdata/good/spec.yaml", 1, 10},
		"server.paths.accounts":                   {"testdata/good/spec.yaml", 6, 15},
		"server.layers[2].requires[0]":            {"testdata/good/spec.yaml", 16, 18},
		"server.skeleton[1].mode":                 {"testdata/good/spec.yaml", 28, 35},
		"accounts[0]":                             {"testdata/good/spec.yaml", 30, 5},
		"accounts[0].uid":                         {"testdata/good/spec.yaml", 31, 10},
		"accounts[0].vhosts[0].server_name":       {"testdata/good/spec.yaml", 35, 22},
		"accounts[0].vhosts[0].aliases[1]":        {"testdata/good/spec.yaml", 36, 36},
		"accounts[0].vhosts[0].php.open_basedir":  {"testdata/good/spec.yaml", 40, 25},
		"accounts[0].vhosts[0].php.nothing_there": {},
	} {
		if diff := cmp.Diff(want, p.Position(path)); diff != "" {
			t.Errorf("Position(%q) (-want +got):\n%s", path, diff)
		}
	}
}

// TestDirPositions checks that accounts are numbered across files in
// the directory form, and that Position names the file each came from.
func TestDirPositions(t *testing.T) {
	p, warns, err := Load("testdata/dir/ok")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range p.Accounts {
		names = append(names, a.Name)
	}
	if diff := cmp.Diff([]string{"admin", "site1", "site2", "site3"}, names); diff != "" {
		t.Errorf("accounts in order (-want +got):\n%s", diff)
	}
	for path, want := range map[string]Pos{
		"version":          {"testdata/dir/ok/server.yaml", 1, 10},
		"accounts[0].name": {"testdata/dir/ok/server.yaml", 9, 11},
		"accounts[1].name": {"testdata/dir/ok/accounts/a.yaml", 1, 7},
		"accounts[3].uid":  {"testdata/dir/ok/accounts/b.yaml", 5, 8},
	} {
		if diff := cmp.Diff(want, p.Position(path)); diff != "" {
			t.Errorf("Position(%q) (-want +got):\n%s", path, diff)
		}
	}
	if len(warns) != 1 || warns[0].Pos.File != "testdata/dir/ok/accounts/a.yaml" {
		t.Errorf("warnings = %v, want one in accounts/a.yaml", warns)
	}
}

func TestLoadIOErrors(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := Load(filepath.Join(dir, "missing.yaml")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load(missing file) = %v, want ErrNotExist", err)
	}
	if _, _, err := Load(dir); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "server.yaml") {
		t.Errorf("Load(dir without server.yaml) = %v, want ErrNotExist naming server.yaml", err)
	}

	// A file over MaxFileSize is refused without being parsed. It is
	// sparse, so the test costs no disk.
	big := filepath.Join(dir, "big.yaml")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(MaxFileSize + 10); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, _, err = Load(big)
	var l List
	if err == nil || errors.As(err, &l) || !strings.Contains(err.Error(), "larger than 64 MiB") {
		t.Errorf("Load(big file) = %v, want an I/O error about the size", err)
	}
}

func TestParseTooLarge(t *testing.T) {
	data := make([]byte, MaxFileSize+1)
	_, _, err := Parse("big.yaml", data)
	if diff := cmp.Diff("big.yaml: file is larger than 64 MiB", errString(err)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestHostileYAML checks inputs that attack the parser: each must fail
// with one message, quickly.
func TestHostileYAML(t *testing.T) {
	// A billion laughs of 30 levels would expand to 10^30 strings.
	var bomb strings.Builder
	bomb.WriteString("version: 1\nl0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i < 30; i++ {
		bomb.WriteString("l" + itoa(i) + ": &l" + itoa(i) + " [")
		for j := 0; j < 10; j++ {
			if j > 0 {
				bomb.WriteString(", ")
			}
			bomb.WriteString("*l" + itoa(i-1))
		}
		bomb.WriteString("]\n")
	}
	for _, tc := range []struct {
		name, src, want string
	}{
		{"bomb", bomb.String(), "x.yaml:2:5: anchors and aliases are not supported: write the value out"},
		{"deep flow", strings.Repeat("[", 20000) + strings.Repeat("]", 20000), "x.yaml:1:1: invalid YAML: exceeded max depth of 10000"},
		{"deep block", strings.Repeat("- ", 12000) + "x\n", "x.yaml:1:1: invalid YAML: exceeded max depth of 10000"},
		{"NUL", "version: 1\x00\n", "x.yaml:1:11: character U+0000 is not allowed in a YAML file"},
		{"lone surrogate", "version: 1\n# \xed\xa0\x80\n", "x.yaml:2:3: file is not UTF-8: byte 0xed at offset 13"},
		{"CRLF lines", "version: 1\r\nname: \x01\r\n", "x.yaml:2:7: character U+0001 is not allowed in a YAML file"},
		{"scalar root", "hello\n", "x.yaml:1:1: must be a mapping with the keys version, server, accounts, got the string \"hello\""},
		{"null document", "---\n...\n", "x.yaml:1:1: file is empty: a policy needs at least version: 1"},
		{"long value", "version: 1\naccounts:\n  - {name: a, uid: \"" + strings.Repeat("ü", 100) + "\", gid: 1}\n",
			`x.yaml:3:20: accounts[0].uid: must be a whole number, got the string "` + strings.Repeat("ü", 64) + `…" (200 bytes)`},
		{"complex key", "? [a, b]\n: c\nversion: 1\n", "x.yaml:1:3: a key must be a plain name, got a list"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			p, _, err := Parse("x.yaml", []byte(tc.src))
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("Parse took %v", d)
			}
			if p != nil {
				t.Error("Parse returned a policy")
			}
			if diff := cmp.Diff(tc.want, errString(err)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestLongValues checks that a message shows at most 64 characters of
// any value, whatever its place: a policy that is a link to
// /etc/shadow, or a 200 KB name, must not be copied to the terminal.
func TestLongValues(t *testing.T) {
	long := strings.Repeat("a", 200000)
	cut := `"` + strings.Repeat("a", 64) + `…" (200000 bytes)`
	shadow := "root:*:20228:0:99999:7:::\ndaemon:*:20228:0:99999:7:::\nalice:$y$j9T$abcdefghijklmnopqrstuv$0123456789abcdefghijklmnopqrstuvwxyzABCDE:20228:0:99999:7:::\n"
	for _, tc := range []struct {
		name, src, want string
	}{
		{"shadow file", shadow, `x.yaml:1:1: missing required key "version"
x.yaml:1:1: unknown key "root:*:20228:0:99999:7::" (known keys: version, server, accounts)
x.yaml:2:1: unknown key "daemon:*:20228:0:99999:7::" (known keys: version, server, accounts)
x.yaml:3:1: unknown key "alice:$y$j9T$abcdefghijklmnopqrstuv$0123456789abcdefghijklmnopqr…" (95 bytes) (known keys: version, server, accounts)`},
		{"shadow-like key", "version: 1\nalice:$y$j9T$abcdefghijklmnopqrstuv$0123456789abcdefghijklmnopqrstuvwxyzABCDE: x\n",
			`x.yaml:2:1: unknown key "alice:$y$j9T$abcdefghijklmnopqrstuv$0123456789abcdefghijklmnopqr…" (77 bytes) (known keys: version, server, accounts)`},
		{"long key", "version: 1\nserver:\n  ? " + long + "\n  : 1\n",
			"x.yaml:3:5: server: unknown key " + cut + " (known keys: http_user, paths, layers, php, deny, apache, skeleton)"},
		{"server name", "version: 1\naccounts:\n  - {name: a, uid: 1, gid: 1, vhosts: [{server_name: " + long + "}]}\n",
			"x.yaml:3:54: accounts[0].vhosts[0].server_name: server name " + cut + " is not a valid host name: it is longer than 253 characters"},
		{"account name", "version: 1\naccounts:\n  - {name: " + long + ", uid: 1, gid: 1}\n",
			"x.yaml:3:12: accounts[0].name: account name " + cut + " is not valid: use 1 to 63 lower-case letters, digits and hyphens, not starting or ending with a hyphen"},
		{"number", "version: " + strings.Repeat("9", 1000) + "\n",
			`x.yaml:1:10: version: must be a whole number, got the string "` + strings.Repeat("9", 64) + `…" (1000 bytes)`},
		{"float", "version: " + strings.Repeat("9", 100) + ".5\n",
			"x.yaml:1:10: version: must be a whole number, got the number " + strings.Repeat("9", 64) + "… (102 bytes)"},
		{"tag", "version: !" + long + " 1\n",
			"x.yaml:1:10: YAML tags such as !" + strings.Repeat("a", 63) + "… (200001 bytes) are not supported: write a plain or quoted value"},
		{"path", "version: 1\nserver:\n  deny:\n    binaries: [" + long + "]\n",
			"x.yaml:4:16: server.deny.binaries[0]: binary " + cut + " is not absolute"},
		{"64 characters are shown whole", "version: 1\nserver:\n  http_user: " + strings.Repeat("A", 64) + "\n",
			`x.yaml:3:14: server.http_user: http_user "` + strings.Repeat("A", 64) + `" is neither a user name (lower-case letters, digits, _ and -, up to 32) nor a uid`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Parse("x.yaml", []byte(tc.src))
			if diff := cmp.Diff(tc.want, errString(err)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestNamesAsWritten checks that messages about server names, aliases
// and function names show them as written, not as folded to lower case.
func TestNamesAsWritten(t *testing.T) {
	for _, tc := range []struct {
		name, vhost, want string
	}{
		{"server name", `{server_name: "Example.COM\n</VirtualHost>"}`,
			`x.yaml:3:54: accounts[0].vhosts[0].server_name: server name "Example.COM\n</VirtualHost>" contains white space, which cannot be written safely into Apache or PHP ini syntax`},
		{"alias", `{server_name: a.example.com, aliases: [b.example.com, "B.example.com\r\nInclude /etc/shadow"]}`,
			`x.yaml:3:94: accounts[0].vhosts[0].aliases[1]: alias "B.example.com\r\nInclude /etc/shadow" contains white space, which cannot be written safely into Apache or PHP ini syntax`},
		{"IP address", `{server_name: a.example.com, aliases: [WWW.1]}`,
			`x.yaml:3:79: accounts[0].vhosts[0].aliases[0]: alias "WWW.1" ends in the all-digit label "1": no top-level domain is numeric (RFC 3696, section 2), so it names an IP address, and the vhost would take the requests made to the server by address`},
		{"function", `{server_name: a.example.com, php: {disable_functions: [Mail, "Exec()"]}}`,
			`x.yaml:3:101: accounts[0].vhosts[0].php.disable_functions[1]: function name "Exec()" is not a PHP identifier (letters, digits and _, not starting with a digit)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := "version: 1\naccounts:\n  - {name: a, uid: 1, gid: 1, vhosts: [" + tc.vhost + "]}\n"
			_, _, err := Parse("x.yaml", []byte(src))
			if diff := cmp.Diff(tc.want, errString(err)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
