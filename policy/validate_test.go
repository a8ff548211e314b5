package policy

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// validPolicy returns a valid policy built in code, without positions.
func validPolicy() *Policy {
	p := &Policy{Version: 1, Server: defaultServer()}
	p.Server.Layers = []Layer{
		{Name: "base", Always: true},
		{Name: "terminal", Requires: []string{"base"}},
		{Name: "ruby", Requires: []string{"terminal"}},
	}
	p.Accounts = []Account{
		{Name: "site1", UID: 10001, GID: 10001, Services: []string{"terminal"}, Vhosts: []Vhost{
			{ServerName: "example.com", Aliases: []string{"www.example.com", "*.shop.example.com"}, Docroot: "/var/www/html"},
		}},
		{Name: "site2", UID: 10002, GID: 10002, Vhosts: []Vhost{
			{ServerName: "example.org", Docroot: "/var/www/html"},
		}},
	}
	return p
}

func messages(l List) []string {
	var out []string
	for _, d := range l {
		out = append(out, d.Path+": "+d.Msg)
	}
	return out
}

// TestValidate checks each rule on a policy built in code: Validate
// needs no positions, and reports each problem once.
func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(p *Policy)
		want   []string
	}{
		{"valid", func(p *Policy) {}, nil},
		{"version", func(p *Policy) { p.Version = 0 },
			[]string{"version: version 0 is not supported: this phpguard reads version 1"}},
		{"http_user root", func(p *Policy) { p.Server.HTTPUser = "root" },
			[]string{"server.http_user: http_user must not be root: the deny ACLs do not hold root"}},
		{"http_user uid 0", func(p *Policy) { p.Server.HTTPUser = "0" },
			[]string{"server.http_user: http_user must not be root (uid 0): the deny ACLs do not hold root"}},
		{"http_user uid too large", func(p *Policy) { p.Server.HTTPUser = "4294967295" },
			[]string{"server.http_user: http_user uid 4294967295 is out of range (1 to 4294967294)"}},
		{"http_user name", func(p *Policy) { p.Server.HTTPUser = "www data" },
			[]string{`server.http_user: http_user "www data" is neither a user name (lower-case letters, digits, _ and -, up to 32) nor a uid`}},
		{"http_user uid and account uid", func(p *Policy) { p.Server.HTTPUser = "10002" },
			[]string{"accounts[1].uid: uid 10002 is the uid of http_user: an account may not run as the HTTP user"}},
		{"layers path with overlay separators", func(p *Policy) { p.Server.Paths.Layers = `/srv/a:b,c\d e` }, nil},
		{"layers path control", func(p *Policy) { p.Server.Paths.Layers = "/srv/a\tb" },
			[]string{`server.paths.layers: path "/srv/a\tb" contains a control character`}},
		{"relative path", func(p *Policy) { p.Server.Paths.Apache = "etc/apache2" },
			[]string{`server.paths.apache: path "etc/apache2" is not absolute`}},
		{"path with ..", func(p *Policy) { p.Server.Paths.Apache = "/etc/apache2/.." },
			[]string{`server.paths.apache: path "/etc/apache2/.." has a ".." part`}},
		{"path with //", func(p *Policy) { p.Server.Paths.Apache = "//etc/apache2" },
			[]string{`server.paths.apache: path "//etc/apache2" has a doubled slash`}},
		{"path with two trailing slashes", func(p *Policy) { p.Server.Paths.Apache = "/etc/apache2//" },
			[]string{`server.paths.apache: path "/etc/apache2//" has a doubled slash`}},
		{"one trailing slash", func(p *Policy) { p.Server.Paths.Apache = "/etc/apache2/phpguard/" }, nil},
		{"empty path", func(p *Policy) { p.Server.Paths.PHPIni = "" },
			[]string{`server.paths.php_ini: path "" is empty`}},
		{"file path with trailing slash", func(p *Policy) { p.Server.Paths.PHPIni = "/etc/php/x.ini/" },
			[]string{`server.paths.php_ini: path "/etc/php/x.ini/" names a file: remove the trailing /`}},
		{"path with glob", func(p *Policy) { p.Server.Paths.Accounts = "/home/v?rtual" },
			[]string{`server.paths.accounts: path "/home/v?rtual" contains a glob character (* ? [ ]), which Apache would expand`}},
		{"path with quote", func(p *Policy) { p.Server.Paths.Accounts = "/home/it's" },
			[]string{`server.paths.accounts: path "/home/it's" contains a quote, which cannot be written safely into Apache or PHP ini syntax`}},
		{"accounts directory /", func(p *Policy) { p.Server.Paths.Accounts = "/" },
			[]string{"server.paths.accounts: the accounts directory may not be /"}},
		{"apache inside accounts", func(p *Policy) { p.Server.Paths.Apache = "/home/virtual/site1/upper/etc" },
			[]string{`server.paths.apache: path "/home/virtual/site1/upper/etc" lies inside the accounts directory /home/virtual, which accounts can write to`}},
		{"layers contain accounts", func(p *Policy) { p.Server.Paths.Layers = "/home" },
			[]string{`server.paths.layers: path "/home" contains the accounts directory /home/virtual`}},
		{"layer name", func(p *Policy) { p.Server.Layers[2].Name = "Ruby" },
			[]string{
				`server.layers[2].name: layer name "Ruby" is not valid: use 1 to 63 lower-case letters, digits and hyphens, not starting or ending with a hyphen`,
			}},
		{"layer name repeated", func(p *Policy) { p.Server.Layers[2].Name = "base" },
			[]string{"server.layers[2].name: layer name \"base\" is already used by server.layers[0].name"}},
		{"requires unknown", func(p *Policy) { p.Server.Layers[1].Requires = []string{"base", "sys"} },
			[]string{`server.layers[1].requires[1]: requires "sys", which is not a layer declared in server.layers`}},
		{"requires cycle", func(p *Policy) { p.Server.Layers[1].Requires = []string{"ruby"} },
			[]string{"server.layers[2].requires[0]: layer requires form a cycle: terminal -> ruby -> terminal"}},
		{"requires itself", func(p *Policy) { p.Server.Layers[0].Requires = []string{"base"} },
			[]string{"server.layers[0].requires[0]: layer requires form a cycle: base -> base"}},
		{"two cycles", func(p *Policy) {
			p.Server.Layers = append(p.Server.Layers,
				Layer{Name: "a", Requires: []string{"b"}}, Layer{Name: "b", Requires: []string{"a", "c"}},
				Layer{Name: "c", Requires: []string{"b"}})
		}, []string{
			"server.layers[4].requires[0]: layer requires form a cycle: a -> b -> a",
			"server.layers[5].requires[0]: layer requires form a cycle: b -> c -> b",
		}},
		{"function name", func(p *Policy) { p.Server.PHP.DisableFunctions = []string{"exec", "9lives"} },
			[]string{`server.php.disable_functions[1]: function name "9lives" is not a PHP identifier (letters, digits and _, not starting with a digit)`}},
		{"vhost function name", func(p *Policy) { p.Accounts[0].Vhosts[0].PHP.DisableFunctions = []string{"mail()"} },
			[]string{`accounts[0].vhosts[0].php.disable_functions[0]: function name "mail()" is not a PHP identifier (letters, digits and _, not starting with a digit)`}},
		{"server open_basedir empty", func(p *Policy) { p.Server.PHP.OpenBasedir = []string{} },
			[]string{"server.php.open_basedir: must list at least one directory: an empty open_basedir means no restriction at all"}},
		{"open_basedir accounts directory", func(p *Policy) { p.Server.PHP.OpenBasedir = []string{"/home/virtual"} },
			[]string{`server.php.open_basedir[0]: open_basedir entry "/home/virtual" is the accounts directory: it would let every account's PHP read every other account's files`}},
		{"open_basedir inside accounts", func(p *Policy) { p.Accounts[1].Vhosts[0].PHP.OpenBasedir = []string{"/home/virtual/site1/root/"} },
			[]string{`accounts[1].vhosts[0].php.open_basedir[0]: open_basedir entry "/home/virtual/site1/root/" lies inside the accounts directory /home/virtual: it would let PHP read an account's files from other accounts' vhosts`}},
		{"open_basedir /", func(p *Policy) { p.Accounts[1].Vhosts[0].PHP.OpenBasedir = []string{"/"} },
			[]string{`accounts[1].vhosts[0].php.open_basedir[0]: open_basedir entry "/" contains the accounts directory /home/virtual: it would let every account's PHP read every other account's files`}},
		{"open_basedir by prefix only", func(p *Policy) {
			p.Accounts[1].Vhosts[0].PHP.OpenBasedir = []string{"/home/virtual10/", "/home/virt"}
		}, nil},
		{"open_basedir colon", func(p *Policy) { p.Server.PHP.OpenBasedir = []string{"/a:/b"} },
			[]string{`server.php.open_basedir[0]: open_basedir entry "/a:/b" contains ':', which separates open_basedir entries`}},
		{"open_basedir relative", func(p *Policy) { p.Server.PHP.OpenBasedir = []string{"."} },
			[]string{`server.php.open_basedir[0]: open_basedir entry "." is not absolute`}},
		{"binary", func(p *Policy) { p.Server.Deny.Binaries = []string{"/usr/bin/rm", "rm", "/usr/bin/", "/"} },
			[]string{
				`server.deny.binaries[1]: binary "rm" is not absolute`,
				`server.deny.binaries[2]: binary "/usr/bin/" names a directory: remove the trailing /`,
				`server.deny.binaries[3]: binary "/" is the root directory: denying it would lock the HTTP user out of everything`,
			}},
		{"listen", func(p *Policy) { p.Server.Apache.Listen = "*:http" },
			[]string{`server.apache.listen: listen "*:http" is not a VirtualHost address such as "*:80", "127.0.0.1:8080" or "[::1]:80": port "http" is not a number from 1 to 65535`}},
		{"listen quote", func(p *Policy) { p.Server.Apache.Listen = `"*:80"` },
			[]string{`server.apache.listen: listen "\"*:80\"" contains a quote, which cannot be written safely into Apache syntax`}},
		{"command", func(p *Policy) { p.Server.Apache.Reload = []string{""} },
			[]string{"server.apache.reload[0]: the program name is empty"}},
		{"command NUL", func(p *Policy) { p.Server.Apache.ConfigTest = []string{"apache2ctl", "-t\x00"} },
			[]string{`server.apache.configtest[1]: argument "-t\x00" contains a NUL byte, which no program can receive`}},
		{"skeleton /", func(p *Policy) { p.Server.Skeleton[1].Path = "/" },
			[]string{`server.skeleton[1].path: skeleton path "/" is the account's root itself: list directories inside it`}},
		{"skeleton repeated", func(p *Policy) { p.Server.Skeleton[1].Path = "/tmp/" },
			[]string{`server.skeleton[1].path: skeleton path "/tmp/" is already listed at server.skeleton[0].path`}},
		{"skeleton path", func(p *Policy) { p.Server.Skeleton[1].Path = "/var/www/$x" },
			[]string{`server.skeleton[1].path: skeleton path "/var/www/$x" contains a $, which cannot be written safely into Apache or PHP ini syntax`}},
		{"skeleton owner", func(p *Policy) { p.Server.Skeleton[1].Owner = "www-data" },
			[]string{`server.skeleton[1].owner: owner "www-data" is neither root nor account`}},
		{"skeleton mode", func(p *Policy) { p.Server.Skeleton[1].Mode = 0o10000 },
			[]string{"server.skeleton[1].mode: mode 010000 is not an octal mode of at most 7777"}},
		{"account name", func(p *Policy) { p.Accounts[1].Name = "../site1" },
			[]string{`accounts[1].name: account name "../site1" is not valid: use 1 to 63 lower-case letters, digits and hyphens, not starting or ending with a hyphen`}},
		{"account name repeated", func(p *Policy) { p.Accounts[1].Name = "site1" },
			[]string{`accounts[1].name: account name "site1" is already used by accounts[0].name`}},
		{"uid 0", func(p *Policy) { p.Accounts[1].UID = 0 },
			[]string{"accounts[1].uid: uid 0 is root's: an account needs a uid above 0"}},
		{"gid out of range", func(p *Policy) { p.Accounts[1].GID = 1 << 32 },
			[]string{"accounts[1].gid: gid 4294967296 is out of range (1 to 4294967294)"}},
		{"uid repeated", func(p *Policy) { p.Accounts[1].UID = 10001 },
			[]string{"accounts[1].uid: uid 10001 is already used by accounts[0].uid"}},
		{"gid repeated", func(p *Policy) { p.Accounts[1].GID = 10001 },
			[]string{"accounts[1].gid: gid 10001 is already used by accounts[0].gid"}},
		{"uid equal to another account's gid", func(p *Policy) { p.Accounts[1].UID, p.Accounts[1].GID = 10003, 10004 }, nil},
		{"service", func(p *Policy) { p.Accounts[1].Services = []string{"java"} },
			[]string{`accounts[1].services[0]: service "java" is not a layer declared in server.layers`}},
		{"server name", func(p *Policy) { p.Accounts[1].Vhosts[0].ServerName = "exa_mple.org" },
			[]string{`accounts[1].vhosts[0].server_name: server name "exa_mple.org" is not a valid host name: label "exa_mple" may hold only a-z, 0-9 and -`}},
		{"server name newline", func(p *Policy) { p.Accounts[1].Vhosts[0].ServerName = "example.org\nInclude /etc/shadow" },
			[]string{`accounts[1].vhosts[0].server_name: server name "example.org\nInclude /etc/shadow" contains white space, which cannot be written safely into Apache or PHP ini syntax`}},
		{"server name wildcard", func(p *Policy) { p.Accounts[1].Vhosts[0].ServerName = "*.example.org" },
			[]string{`accounts[1].vhosts[0].server_name: server name "*.example.org" is a wildcard: a wildcard may only be an alias`}},
		{"server name repeated", func(p *Policy) { p.Accounts[1].Vhosts[0].ServerName = "www.example.com" },
			[]string{`accounts[1].vhosts[0].server_name: server name "www.example.com" is already used by accounts[0].vhosts[0].aliases[0]`}},
		{"alias", func(p *Policy) { p.Accounts[1].Vhosts[0].Aliases = []string{"*example.org"} },
			[]string{`accounts[1].vhosts[0].aliases[0]: alias "*example.org" is not a valid host name, nor "*." and a host name: label "*example" may hold only a-z, 0-9 and -`}},
		{"alias semicolon", func(p *Policy) { p.Accounts[1].Vhosts[0].Aliases = []string{"a;b"} },
			[]string{`accounts[1].vhosts[0].aliases[0]: alias "a;b" contains a ;, which cannot be written safely into Apache or PHP ini syntax`}},
		{"alias repeated", func(p *Policy) { p.Accounts[1].Vhosts[0].Aliases = []string{"*.shop.example.com"} },
			[]string{`accounts[1].vhosts[0].aliases[0]: alias "*.shop.example.com" is already used by accounts[0].vhosts[0].aliases[1]`}},
		{"docroot", func(p *Policy) { p.Accounts[1].Vhosts[0].Docroot = "/var/www/../../etc" },
			[]string{`accounts[1].vhosts[0].docroot: docroot "/var/www/../../etc" has a ".." part`}},
		{"docroot /", func(p *Policy) { p.Accounts[1].Vhosts[0].Docroot = "/" },
			[]string{`accounts[1].vhosts[0].docroot: docroot "/" is the top of the account's root, which is root's (mode 0755) by design: serve a directory inside it, such as /var/www/html`}},
		{"docroot in /proc", func(p *Policy) { p.Accounts[1].Vhosts[0].Docroot = "/proc/self" },
			[]string{`accounts[1].vhosts[0].docroot: docroot "/proc/self" lies in /proc, which phpguard enter mounts over in the account's root: Apache would serve the directory underneath, not what the account's processes see there`}},
		{"docroot /dev", func(p *Policy) { p.Accounts[1].Vhosts[0].Docroot = "/dev/" },
			[]string{`accounts[1].vhosts[0].docroot: docroot "/dev/" lies in /dev, which phpguard enter mounts over in the account's root: Apache would serve the directory underneath, not what the account's processes see there`}},
		{"docroot /sys", func(p *Policy) { p.Accounts[1].Vhosts[0].Docroot = "/sys" },
			[]string{`accounts[1].vhosts[0].docroot: docroot "/sys" lies in /sys, which phpguard enter mounts over in the account's root: Apache would serve the directory underneath, not what the account's processes see there`}},
		{"docroot in /tmp", func(p *Policy) { p.Accounts[1].Vhosts[0].Docroot = "/tmp/www" },
			[]string{`accounts[1].vhosts[0].docroot: docroot "/tmp/www" lies in /tmp, the account's shared temporary directory (root's, mode 1777), where PHP keeps uploads and sessions: serving it would publish them`}},
		{"docroot a root-owned skeleton directory", func(p *Policy) {
			p.Server.Skeleton = append(p.Server.Skeleton, SkeletonEntry{Path: "/srv/www/", Mode: 0o755, Owner: OwnerRoot})
			p.Accounts[1].Vhosts[0].Docroot = "/srv/www"
		}, []string{`accounts[1].vhosts[0].docroot: docroot "/srv/www" is the skeleton directory server.skeleton[2].path, which root owns: the account could not put its site there; make it owner: account, or serve another directory`}},
		{"docroot near special directories", func(p *Policy) {
			p.Server.Skeleton = append(p.Server.Skeleton, SkeletonEntry{Path: "/srv/www", Mode: 0o755, Owner: OwnerRoot})
			for i, d := range []string{"/procfs", "/devel", "/system", "/tmpl", "/srv/www/site", "/var/www/html/"} {
				p.Accounts[1].Vhosts = append(p.Accounts[1].Vhosts, Vhost{ServerName: "x" + itoa(i) + ".example.org", Docroot: d})
			}
		}, nil},
		{"paths.accounts colon", func(p *Policy) { p.Server.Paths.Accounts = "/home/a:b" },
			[]string{`server.paths.accounts: path "/home/a:b" contains ':', which separates open_basedir entries: each vhost's open_basedir holds its account's root inside this directory`}},
		{"server name IPv4", func(p *Policy) { p.Accounts[1].Vhosts[0].ServerName = "127.0.0.1" },
			[]string{`accounts[1].vhosts[0].server_name: server name "127.0.0.1" ends in the all-digit label "1": no top-level domain is numeric (RFC 3696, section 2), so it names an IP address, and the vhost would take the requests made to the server by address`}},
		{"alias numeric last label", func(p *Policy) {
			p.Accounts[1].Vhosts[0].Aliases = []string{"10.1.2.3", "*.2.3", "www.123", "123.example.org", "a.b0"}
		},
			[]string{
				`accounts[1].vhosts[0].aliases[0]: alias "10.1.2.3" ends in the all-digit label "3": no top-level domain is numeric (RFC 3696, section 2), so it names an IP address, and the vhost would take the requests made to the server by address`,
				`accounts[1].vhosts[0].aliases[1]: alias "*.2.3" ends in the all-digit label "3": no top-level domain is numeric (RFC 3696, section 2), so it names an IP address, and the vhost would take the requests made to the server by address`,
				`accounts[1].vhosts[0].aliases[2]: alias "www.123" ends in the all-digit label "123": no top-level domain is numeric (RFC 3696, section 2), so it names an IP address, and the vhost would take the requests made to the server by address`,
			}},
		{"wildcard over a top-level domain", func(p *Policy) { p.Accounts[1].Vhosts[0].Aliases = []string{"*.org", "*.co.uk"} },
			[]string{`accounts[1].vhosts[0].aliases[0]: alias "*.org" covers the whole top-level domain "org": it would take the requests for every name in it pointed at this server; write at least two labels after "*."`}},
		{"wildcard covers a later account's name", func(p *Policy) { p.Accounts[1].Vhosts[0].ServerName = "x.shop.example.com" },
			[]string{`accounts[0].vhosts[0].aliases[1]: alias "*.shop.example.com" covers the server name "x.shop.example.com" of account "site2" at accounts[1].vhosts[0].server_name: Apache gives a request to the first vhost that matches, so this vhost could take that account's requests; a wildcard may cover only its own account's names`}},
		{"wildcard covers an earlier account's name, several labels down", func(p *Policy) {
			p.Accounts[0].Vhosts[0].Aliases = []string{"a.b.c.example.org"}
			p.Accounts[1].Vhosts[0].Aliases = []string{"*.example.org"}
		}, []string{`accounts[1].vhosts[0].aliases[0]: alias "*.example.org" covers the alias "a.b.c.example.org" of account "site1" at accounts[0].vhosts[0].aliases[0]: Apache gives a request to the first vhost that matches, so this vhost could take that account's requests; a wildcard may cover only its own account's names`}},
		{"wildcard covers a wildcard", func(p *Policy) { p.Accounts[1].Vhosts[0].Aliases = []string{"*.example.com"} },
			[]string{
				`accounts[1].vhosts[0].aliases[0]: alias "*.example.com" covers the alias "www.example.com" of account "site1" at accounts[0].vhosts[0].aliases[0]: Apache gives a request to the first vhost that matches, so this vhost could take that account's requests; a wildcard may cover only its own account's names`,
				`accounts[1].vhosts[0].aliases[0]: alias "*.example.com" covers the alias "*.shop.example.com" of account "site1" at accounts[0].vhosts[0].aliases[1]: Apache gives a request to the first vhost that matches, so this vhost could take that account's requests; a wildcard may cover only its own account's names`}},
		{"wildcard and the name it is based on", func(p *Policy) { p.Accounts[1].Vhosts[0].ServerName = "shop.example.com" }, nil},
		{"wildcard over names of its own account", func(p *Policy) {
			p.Accounts[0].Vhosts = append(p.Accounts[0].Vhosts, Vhost{ServerName: "a.shop.example.com", Aliases: []string{"*.b.shop.example.com"}, Docroot: "/var/www/html"})
		}, nil},
		{"wildcard over a name with the same ending only", func(p *Policy) { p.Accounts[1].Vhosts[0].ServerName = "myshop.example.com" }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := validPolicy()
			tc.change(p)
			got := Validate(p)
			if diff := cmp.Diff(tc.want, messages(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestLint(t *testing.T) {
	const vhostFn = "accounts[0].vhosts[0].php.disable_functions: mod_php on PHP 8.x does not enforce disable_functions per vhost (php-src GH-19018): only the server list, written to /etc/php/8.2/apache2/conf.d/90-phpguard.ini, is enforced; phpguard verify reports whether this host's PHP enforces it"
	for _, tc := range []struct {
		name   string
		change func(p *Policy)
		want   []string
	}{
		{"default", func(p *Policy) {}, nil},
		{"exec family in part", func(p *Policy) { p.Server.PHP.DisableFunctions = []string{"exec", "system", "putenv"} },
			[]string{"server.php.disable_functions: disables only part of the exec family: passthru, shell_exec, proc_open, popen, pcntl_exec still enabled, and each of them runs any program"}},
		{"exec family none", func(p *Policy) { p.Server.PHP.DisableFunctions = []string{"putenv"} },
			[]string{"server.php.disable_functions: disables none of the exec family (exec, passthru, shell_exec, system, proc_open, popen, pcntl_exec): PHP scripts can run any program"}},
		{"putenv with mail", func(p *Policy) {
			p.Server.PHP.DisableFunctions = []string{"exec", "passthru", "shell_exec", "system", "proc_open", "popen", "pcntl_exec", "mb_send_mail", "error_log", "imap_open"}
		}, []string{"server.php.disable_functions: putenv is enabled together with mail: a script can set LD_PRELOAD so that the program they start loads its own library, bypassing disable_functions; disable putenv"}},
		{"putenv without mailers", func(p *Policy) {
			p.Server.PHP.DisableFunctions = []string{"exec", "passthru", "shell_exec", "system", "proc_open", "popen", "pcntl_exec", "mail", "mb_send_mail", "error_log", "imap_open"}
		}, nil},
		{"open_basedir in /etc", func(p *Policy) { p.Server.PHP.OpenBasedir = []string{"/var/www/html/", "/etc/"} },
			[]string{`server.php.open_basedir[1]: open_basedir entry "/etc/" lies in the system directory /etc: PHP may read everything there`}},
		{"open_basedir over /var/log", func(p *Policy) { p.Accounts[0].Vhosts[0].PHP.OpenBasedir = []string{"/srv/x/", "/var/"} },
			[]string{`accounts[0].vhosts[0].php.open_basedir[1]: open_basedir entry "/var/" contains the system directory /var/lib: PHP may read everything there`}},
		{"open_basedir /etcetera", func(p *Policy) { p.Accounts[0].Vhosts[0].PHP.OpenBasedir = []string{"/etcetera/", "/usr2"} }, nil},
		{"per-vhost disable_functions", func(p *Policy) { p.Accounts[0].Vhosts[0].PHP.DisableFunctions = []string{"mail"} },
			[]string{vhostFn}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := validPolicy()
			tc.change(p)
			if errs := Validate(p); len(errs) > 0 {
				t.Fatalf("policy is not valid:\n%v", errs)
			}
			got := Lint(p)
			for _, d := range got {
				if d.Severity != SevWarning {
					t.Errorf("%v is not a warning", d)
				}
			}
			if diff := cmp.Diff(tc.want, messages(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestHostReason(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"example.com", ""},
		{"localhost", ""},
		{"xn--bcher-kva.de", ""},
		{"1.2.3.4", ""},
		{"a-b.c", ""},
		{"", "it is empty"},
		{".example.com", "it has an empty label (a leading, trailing or doubled dot)"},
		{"example.com.", "it has an empty label (a leading, trailing or doubled dot)"},
		{"Example.com", `label "Example" may hold only a-z, 0-9 and -`},
		{"a-.com", `label "a-" starts or ends with a hyphen`},
		{strings.Repeat("a", 64) + ".com", `label "` + strings.Repeat("a", 64) + `" is longer than 63 characters`},
		{strings.Repeat("a.", 127) + "ab", "it is longer than 253 characters"},
		{strings.Repeat("a.", 126) + "a", ""},
	} {
		if diff := cmp.Diff(tc.want, hostReason(tc.in)); diff != "" {
			t.Errorf("hostReason(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}

func TestListenReason(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"*:80", ""},
		{"*", ""},
		{"127.0.0.1:8080", ""},
		{"127.0.0.1", ""},
		{"[::1]:80", ""},
		{"[::1]", ""},
		{"[2001:db8::1]:443", ""},
		{"www.example.com:80", ""},
		{"localhost", ""},
		{"*:0", `port "0" is not a number from 1 to 65535`},
		{"*:65535", ""},
		{"*:65536", `port "65536" is not a number from 1 to 65535`},
		{"*:080", `port "080" is not a number from 1 to 65535`},
		{"*:+80", `port "+80" is not a number from 1 to 65535`},
		{"*:", "the port is missing after ':'"},
		{"::1", "an IPv6 address must be in brackets, as in [::1]:80"},
		{"[::1", "the IPv6 address has no closing ]"},
		{"[::1]80", "expected :PORT after the IPv6 address"},
		{"[127.0.0.1]:80", `"127.0.0.1" is not an IPv6 address without a zone`},
		{"[fe80::1%eth0]:80", `"fe80::1%eth0" is not an IPv6 address without a zone`},
		{"", `"" is not *, an IP address or a host name: it is empty`},
		{"a_b:80", `"a_b" is not *, an IP address or a host name: label "a_b" may hold only a-z, 0-9 and -`},
	} {
		if diff := cmp.Diff(tc.want, listenReason(tc.in)); diff != "" {
			t.Errorf("listenReason(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}

func TestPathReason(t *testing.T) {
	for _, tc := range []struct {
		in     string
		apache bool
		want   string
	}{
		{"/", true, ""},
		{"/var/www/html/", true, ""},
		{"/var/www/html", true, ""},
		{"/var/www/bücher", true, ""},
		{"/var/www/a:b", true, ""}, // ':' matters only in open_basedir
		{"/srv/a:b,c\\d", false, ""},
		{"/srv/a b", false, ""},
		{"", true, "is empty"},
		{"var", true, "is not absolute"},
		{"/a//b", true, "has a doubled slash"},
		{"/a/./b", true, `has a "." part`},
		{"/a/..", true, `has a ".." part`},
		{"/a/../", true, `has a ".." part`},
		{"/a/...", true, ""},
		{"/a b", true, "contains white space, which cannot be written safely into Apache or PHP ini syntax"},
		{"/a\u00a0b", true, "contains white space, which cannot be written safely into Apache or PHP ini syntax"},
		{"/a\u2028b", true, "contains white space, which cannot be written safely into Apache or PHP ini syntax"},
		{"/a\u0085b", true, "contains white space, which cannot be written safely into Apache or PHP ini syntax"},
		{"/a\x7fb", true, "contains a control character, which cannot be written safely into Apache or PHP ini syntax"},
		{"/a\x7fb", false, "contains a control character"},
		{"/a\xffb", true, "contains bytes that are not UTF-8, which cannot be written safely into Apache or PHP ini syntax"},
		{"/a\xffb", false, "contains bytes that are not UTF-8"},
		{"/a\"b", true, "contains a quote, which cannot be written safely into Apache or PHP ini syntax"},
		{"/a\\b", true, "contains a backslash, which cannot be written safely into Apache or PHP ini syntax"},
		{"/a$b", true, "contains a $, which cannot be written safely into Apache or PHP ini syntax"},
		{"/a;b", true, "contains a ;, which cannot be written safely into Apache or PHP ini syntax"},
		{"/a*", true, "contains a glob character (* ? [ ]), which Apache would expand"},
		{"/a]", true, "contains a glob character (* ? [ ]), which Apache would expand"},
	} {
		if diff := cmp.Diff(tc.want, pathReason(tc.in, tc.apache)); diff != "" {
			t.Errorf("pathReason(%q, %v) (-want +got):\n%s", tc.in, tc.apache, diff)
		}
	}
}

func TestWithin(t *testing.T) {
	for _, tc := range []struct {
		child, parent string
		want          bool
	}{
		{"/home/virtual", "/home/virtual", true},
		{"/home/virtual/", "/home/virtual", true},
		{"/home/virtual/site1", "/home/virtual/", true},
		{"/home/virtual10", "/home/virtual", false},
		{"/home/virt", "/home/virtual", false},
		{"/home", "/home/virtual", false},
		{"/anything", "/", true},
		{"/", "/", true},
	} {
		if got := within(tc.child, tc.parent); got != tc.want {
			t.Errorf("within(%q, %q) = %v, want %v", tc.child, tc.parent, got, tc.want)
		}
	}
}
