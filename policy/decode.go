package policy

import (
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// decoder walks yaml.v3 nodes into a Policy. It does not use
// yaml.Decode into structs: walking the nodes gives every value its
// position and lets every problem be reported, not only the first.
type decoder struct {
	p    *Policy
	file string // the file being read, for positions
	errs List

	// bad holds the YAML paths of values that were given but could not
	// be read, or are required and missing. Validate skips them, so that
	// one mistake gives one message.
	bad map[string]bool

	// broken is set when a file could not be read as one plain YAML
	// document; the policy is then not validated.
	broken bool

	// written holds, by YAML path, the names the loader folded to lower
	// case as they were written, so that a message shows the value the
	// user wrote (an injected "</VirtualHost>", not "</virtualhost>").
	// Only names that changed are kept.
	written map[string]string
}

func newDecoder() *decoder {
	return &decoder{
		p:   &Policy{pos: make(map[string]Pos)},
		bad: make(map[string]bool),
	}
}

// finish validates and lints what was read.
func (d *decoder) finish() (*Policy, List, error) {
	errs := d.errs
	if !d.broken {
		errs = append(errs, validate(d.p, d.bad, d.written)...)
	}
	if len(errs) > 0 {
		errs.Sort()
		return nil, nil, errs
	}
	warns := Lint(d.p)
	warns.Sort()
	return d.p, warns, nil
}

func (d *decoder) at(n *yaml.Node) Pos {
	return Pos{File: d.file, Line: n.Line, Col: n.Column}
}

func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) {
	d.errs.Add(SevError, d.at(n), path, format, args...)
}

// fail reports that the value at path cannot be read and marks it bad.
func (d *decoder) fail(n *yaml.Node, path, format string, args ...any) {
	d.errorf(n, path, format, args...)
	d.bad[path] = true
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

// fieldSet holds the values of a mapping by key. Mappings have a
// handful of known keys, so a slice beats a map here: a policy of
// 10,000 accounts has 50,000 of them.
type fieldSet struct {
	base  string
	known []string
	vals  []*yaml.Node // vals[i] is the value of known[i], or nil
	paths []string     // paths[i] is the YAML path of vals[i]
}

// path returns the YAML path of key.
func (f fieldSet) path(key string) string {
	if i := indexOf(f.known, key); i >= 0 && f.paths[i] != "" {
		return f.paths[i]
	}
	return join(f.base, key)
}

// get returns the value of key, if it was given.
func (f fieldSet) get(key string) (*yaml.Node, bool) {
	for i, k := range f.known {
		if k == key {
			return f.vals[i], f.vals[i] != nil
		}
	}
	return nil, false
}

// fields checks that n is a mapping whose keys are all in known, once
// each, records the position of each value and returns them by key.
// If n is not a mapping, the set is empty and ok is false.
func (d *decoder) fields(n *yaml.Node, path string, known ...string) (f fieldSet, ok bool) {
	d.p.pos[path] = d.at(n)
	f = fieldSet{base: path, known: known, vals: make([]*yaml.Node, len(known)), paths: make([]string, len(known))}
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "must be a mapping with the keys %s, got %s", strings.Join(known, ", "), describe(n))
		return f, false
	}
	keys := make([]*yaml.Node, len(known)) // the key nodes, for duplicates
	var unknown map[string]bool            // reported once each
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, path, "a key must be a plain name, got %s", describe(k))
			continue
		}
		j := indexOf(known, k.Value)
		if j < 0 {
			if unknown == nil {
				unknown = make(map[string]bool)
			}
			if !unknown[k.Value] {
				d.errorf(k, path, "unknown key %s (known keys: %s)", quote(k.Value), strings.Join(known, ", "))
			}
			unknown[k.Value] = true
			continue
		}
		if first := keys[j]; first != nil {
			d.errorf(k, path, "duplicate key %s (first at line %d, column %d)", quote(k.Value), first.Line, first.Column)
			continue
		}
		keys[j], f.vals[j], f.paths[j] = k, v, join(path, k.Value)
		d.p.pos[f.paths[j]] = d.at(v)
	}
	return f, true
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

// require reports the keys of names missing from m, a mapping read at
// n, and marks them bad.
func (d *decoder) require(m fieldSet, n *yaml.Node, path string, names ...string) {
	for _, k := range names {
		if _, ok := m.get(k); !ok {
			d.errorf(n, path, "missing required key %q", k)
			d.bad[join(path, k)] = true
		}
	}
}

// describe names what a node holds, for "must be X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!str":
			return "the string " + quote(n.Value)
		case "!!null":
			if n.Value == "" {
				return "nothing"
			}
			return "null"
		case "!!int", "!!float":
			return "the number " + clip(n.Value)
		case "!!bool":
			return "the boolean " + clip(n.Value)
		case "!!timestamp":
			return "the date " + clip(n.Value)
		}
		return clip(n.Tag) + " " + quote(n.Value)
	}
	return "an alias"
}

// str reads a string. A number or boolean where a string belongs is
// refused rather than converted: YAML reads 0755 as 493 and 1e3 as
// 1000, and a silently converted value is worse than a message.
func (d *decoder) str(n *yaml.Node, path string) (string, bool) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
		return n.Value, true
	}
	d.fail(n, path, "%s", notString(n))
	return "", false
}

func notString(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
		return "must be a string, got " + describe(n) + ": quote it"
	}
	return "must be a string, got " + describe(n)
}

// number reads a whole decimal number. Other bases are refused: YAML
// reads 010001 as octal, which is never what a uid in a policy means.
func (d *decoder) number(n *yaml.Node, path string) (int64, bool) {
	digits := strings.TrimPrefix(n.Value, "-")
	if n.Kind == yaml.ScalarNode && n.Tag == "!!float" && digits != "" && strings.Trim(digits, "0123456789") == "" {
		// YAML reads a decimal too large for an int64 as a float.
		d.fail(n, path, "number %s is out of range", clip(n.Value))
		return 0, false
	}
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		d.fail(n, path, "must be a whole number, got %s", describe(n))
		return 0, false
	}
	if digits == "" || strings.Trim(digits, "0123456789") != "" || (len(digits) > 1 && digits[0] == '0') {
		d.fail(n, path, "must be a decimal number without leading zeros, got %s", clip(n.Value))
		return 0, false
	}
	v, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil || v != int64(int(v)) {
		d.fail(n, path, "number %s is out of range", clip(n.Value))
		return 0, false
	}
	return v, true
}

func (d *decoder) boolean(n *yaml.Node, path string) (bool, bool) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!bool" {
		if v, err := strconv.ParseBool(strings.ToLower(n.Value)); err == nil {
			return v, true
		}
	}
	d.fail(n, path, "must be true or false, got %s", describe(n))
	return false, false
}

// list reads a list of strings. The result is never nil, so that an
// explicitly empty list stays empty where an omitted one gets a default.
func (d *decoder) list(n *yaml.Node, path string) ([]string, bool) {
	d.p.pos[path] = d.at(n)
	if n.Kind != yaml.SequenceNode {
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			d.fail(n, path, "must be a list, got nothing: write [] for an empty list")
		} else {
			d.fail(n, path, "must be a list, got %s", describe(n))
		}
		return nil, false
	}
	out := make([]string, 0, len(n.Content))
	ok := true
	for i, e := range n.Content {
		p := index(path, i)
		d.p.pos[p] = d.at(e)
		s, good := d.str(e, p)
		ok = ok && good
		out = append(out, s)
	}
	return out, ok
}

// seq checks that n is a list and returns its entries.
func (d *decoder) seq(n *yaml.Node, path string) []*yaml.Node {
	d.p.pos[path] = d.at(n)
	if n.Kind != yaml.SequenceNode {
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			d.fail(n, path, "must be a list, got nothing: write [] for an empty list")
		} else {
			d.fail(n, path, "must be a list, got %s", describe(n))
		}
		return nil
	}
	return n.Content
}

// policy reads the top-level mapping of a policy file. In the directory
// form, server.yaml may hold accounts too.
func (d *decoder) policy(n *yaml.Node) {
	m, ok := d.fields(n, "", "version", "server", "accounts")
	d.p.Server = defaultServer()
	if !ok {
		d.broken = true
		return
	}
	d.require(m, n, "", "version")
	if v, ok := m.get("version"); ok {
		if x, ok := d.number(v, "version"); ok {
			d.p.Version = int(x)
		}
	}
	if v, ok := m.get("server"); ok {
		d.server(v)
	}
	d.finishSkeleton()
	if v, ok := m.get("accounts"); ok {
		for _, e := range d.seq(v, "accounts") {
			d.account(e)
		}
	}
}

// accountFile reads an accounts/*.yaml file: one account mapping or a
// list of them. Accounts are numbered across the whole policy, so that
// accounts[i] is Policy.Accounts[i] in every message and position.
func (d *decoder) accountFile(n *yaml.Node) {
	if n.Kind == yaml.SequenceNode {
		for _, e := range n.Content {
			d.account(e)
		}
		return
	}
	d.account(n)
}

func defaultServer() Server {
	return Server{
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
	}
}

func (d *decoder) server(n *yaml.Node) {
	const path = "server"
	m, _ := d.fields(n, path, "http_user", "paths", "layers", "php", "deny", "apache", "skeleton")
	s := &d.p.Server
	if v, ok := m.get("http_user"); ok {
		// A uid may be written as a number; keep it as written.
		if v.Kind == yaml.ScalarNode && v.Tag == "!!int" {
			if x, ok := d.number(v, m.path("http_user")); ok {
				s.HTTPUser = strconv.FormatInt(x, 10)
			}
		} else if x, ok := d.str(v, m.path("http_user")); ok {
			s.HTTPUser = x
		}
	}
	if v, ok := m.get("paths"); ok {
		d.paths(v, m.path("paths"))
	}
	if v, ok := m.get("layers"); ok {
		d.layers(v, m.path("layers"))
	}
	if v, ok := m.get("php"); ok {
		d.php(v, m.path("php"), &s.PHP, true)
	}
	if v, ok := m.get("deny"); ok {
		dm, _ := d.fields(v, m.path("deny"), "binaries")
		if v, ok := dm.get("binaries"); ok {
			s.Deny.Binaries, _ = d.list(v, "server.deny.binaries")
		}
	}
	if v, ok := m.get("apache"); ok {
		d.apache(v, m.path("apache"))
	}
	if v, ok := m.get("skeleton"); ok {
		d.skeleton(v, m.path("skeleton"))
	}
}

func (d *decoder) paths(n *yaml.Node, path string) {
	m, _ := d.fields(n, path, "layers", "accounts", "apache", "apache_include", "php_ini")
	ps := &d.p.Server.Paths
	for _, f := range []struct {
		key string
		dst *string
	}{
		{"layers", &ps.Layers},
		{"accounts", &ps.Accounts},
		{"apache", &ps.Apache},
		{"apache_include", &ps.ApacheInclude},
		{"php_ini", &ps.PHPIni},
	} {
		if v, ok := m.get(f.key); ok {
			if s, ok := d.str(v, join(path, f.key)); ok {
				*f.dst = s
			}
		}
	}
}

func (d *decoder) layers(n *yaml.Node, path string) {
	entries := d.seq(n, path)
	d.p.Server.Layers = make([]Layer, 0, len(entries))
	for i, e := range entries {
		p := index(path, i)
		var l Layer
		m, ok := d.fields(e, p, "name", "always", "requires")
		if !ok {
			d.bad[m.path("name")] = true
		} else {
			d.require(m, e, p, "name")
		}
		if v, ok := m.get("name"); ok {
			l.Name, _ = d.str(v, m.path("name"))
		}
		if v, ok := m.get("always"); ok {
			l.Always, _ = d.boolean(v, m.path("always"))
		}
		if v, ok := m.get("requires"); ok {
			l.Requires, _ = d.list(v, m.path("requires"))
			l.Requires = nilIfEmpty(l.Requires)
		}
		d.p.Server.Layers = append(d.p.Server.Layers, l)
	}
}

// php reads a php mapping. On the server, an omitted key keeps its
// default; on a vhost, nothing is added.
func (d *decoder) php(n *yaml.Node, path string, dst *PHP, server bool) {
	m, _ := d.fields(n, path, "disable_functions", "open_basedir")
	if v, ok := m.get("disable_functions"); ok {
		p := m.path("disable_functions")
		fns, _ := d.functions(v, p)
		if !server {
			fns = nilIfEmpty(fns)
		}
		dst.DisableFunctions = fns
	}
	if v, ok := m.get("open_basedir"); ok {
		dirs, _ := d.list(v, m.path("open_basedir"))
		if !server {
			dirs = nilIfEmpty(dirs)
		}
		dst.OpenBasedir = dirs
	}
}

// functions reads a list of PHP function names, lower-cased and without
// repeats, in the order given. PHP looks functions up by their ASCII
// lower-case name (zend_str_tolower), so ExeC and exec are one function;
// strings.ToLower would also fold non-ASCII letters such as the Kelvin
// sign into ASCII ones and make a name valid that PHP never matches.
func (d *decoder) functions(n *yaml.Node, path string) ([]string, bool) {
	d.p.pos[path] = d.at(n)
	if n.Kind != yaml.SequenceNode {
		return d.list(n, path) // reports the wrong type
	}
	out := make([]string, 0, len(n.Content))
	seen := make(map[string]bool, len(n.Content))
	ok := true
	for i, e := range n.Content {
		if e.Kind != yaml.ScalarNode || e.Tag != "!!str" {
			d.errorf(e, index(path, i), "%s", notString(e))
			ok = false
			continue
		}
		s := asciiLower(e.Value)
		if seen[s] {
			continue
		}
		seen[s] = true
		p := index(path, len(out))
		d.p.pos[p] = d.at(e)
		d.fold(p, e.Value, s)
		out = append(out, s)
	}
	return out, ok
}

// fold records that the value at path, written as written, is stored
// as lower.
func (d *decoder) fold(path, written, lower string) {
	if written == lower {
		return
	}
	if d.written == nil {
		d.written = make(map[string]string)
	}
	d.written[path] = written
}

func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func (d *decoder) apache(n *yaml.Node, path string) {
	m, _ := d.fields(n, path, "listen", "configtest", "reload")
	a := &d.p.Server.Apache
	if v, ok := m.get("listen"); ok {
		if s, ok := d.str(v, m.path("listen")); ok {
			a.Listen = s
		}
	}
	if v, ok := m.get("configtest"); ok {
		a.ConfigTest, _ = d.list(v, m.path("configtest"))
	}
	if v, ok := m.get("reload"); ok {
		a.Reload, _ = d.list(v, m.path("reload"))
	}
}

func (d *decoder) skeleton(n *yaml.Node, path string) {
	entries := d.seq(n, path)
	if entries == nil && d.bad[path] {
		return // keep the default
	}
	sk := make([]SkeletonEntry, 0, len(entries)+1)
	for i, e := range entries {
		p := index(path, i)
		var s SkeletonEntry
		m, ok := d.fields(e, p, "path", "mode", "owner")
		if !ok {
			d.bad[m.path("path")], d.bad[m.path("mode")], d.bad[m.path("owner")] = true, true, true
		} else {
			d.require(m, e, p, "path", "mode", "owner")
		}
		if v, ok := m.get("path"); ok {
			s.Path, _ = d.str(v, m.path("path"))
		}
		if v, ok := m.get("mode"); ok {
			s.Mode, _ = d.mode(v, m.path("mode"))
		}
		if v, ok := m.get("owner"); ok {
			o, _ := d.str(v, m.path("owner"))
			s.Owner = Owner(o)
		}
		sk = append(sk, s)
	}
	d.p.Server.Skeleton = sk
}

// finishSkeleton adds /tmp when the skeleton lacks it: the vhost files
// point upload_tmp_dir, session.save_path and sys_temp_dir at the
// account's /tmp, so it must exist in every root.
func (d *decoder) finishSkeleton() {
	for _, s := range d.p.Server.Skeleton {
		if cleanPath(s.Path) == "/tmp" {
			return
		}
	}
	d.p.Server.Skeleton = append(d.p.Server.Skeleton, SkeletonEntry{Path: "/tmp", Mode: 0o1777, Owner: OwnerRoot})
}

// mode reads a directory mode written as a quoted octal string.
func (d *decoder) mode(n *yaml.Node, path string) (uint32, bool) {
	if n.Kind == yaml.ScalarNode && (n.Tag == "!!int" || n.Tag == "!!float") {
		d.fail(n, path, "mode must be a quoted octal string such as \"0755\": unquoted, YAML reads %s as a number", clip(n.Value))
		return 0, false
	}
	s, ok := d.str(n, path)
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseUint(s, 8, 32)
	if s == "" || len(s) > 5 || err != nil || v > 0o7777 {
		d.fail(n, path, "mode %s is not an octal mode such as \"0755\" or \"1777\" (permission bits with setuid, setgid and sticky: at most 7777)", quote(s))
		return 0, false
	}
	return uint32(v), true
}

func (d *decoder) account(n *yaml.Node) {
	i := len(d.p.Accounts)
	p := index("accounts", i)
	var a Account
	m, ok := d.fields(n, p, "name", "uid", "gid", "services", "vhosts")
	if !ok {
		for _, k := range []string{"name", "uid", "gid"} {
			d.bad[join(p, k)] = true
		}
	} else {
		d.require(m, n, p, "name", "uid", "gid")
	}
	if v, ok := m.get("name"); ok {
		a.Name, _ = d.str(v, m.path("name"))
	}
	if v, ok := m.get("uid"); ok {
		x, _ := d.number(v, m.path("uid"))
		a.UID = int(x)
	}
	if v, ok := m.get("gid"); ok {
		x, _ := d.number(v, m.path("gid"))
		a.GID = int(x)
	}
	if v, ok := m.get("services"); ok {
		s, _ := d.list(v, m.path("services"))
		a.Services = nilIfEmpty(s)
	}
	if v, ok := m.get("vhosts"); ok {
		for j, e := range d.seq(v, m.path("vhosts")) {
			a.Vhosts = append(a.Vhosts, d.vhost(e, index(m.path("vhosts"), j)))
		}
	}
	d.p.Accounts = append(d.p.Accounts, a)
}

func (d *decoder) vhost(n *yaml.Node, path string) Vhost {
	v := Vhost{Docroot: "/var/www/html"}
	m, ok := d.fields(n, path, "server_name", "aliases", "docroot", "php")
	if !ok {
		d.bad[m.path("server_name")] = true
		return v
	}
	d.require(m, n, path, "server_name")
	if x, ok := m.get("server_name"); ok {
		s, _ := d.str(x, m.path("server_name"))
		v.ServerName = asciiLower(s)
		d.fold(m.path("server_name"), s, v.ServerName)
	}
	if x, ok := m.get("aliases"); ok {
		al, _ := d.list(x, m.path("aliases"))
		for k, a := range al {
			if al[k] = asciiLower(a); al[k] != a {
				d.fold(index(m.path("aliases"), k), a, al[k])
			}
		}
		v.Aliases = nilIfEmpty(al)
	}
	if x, ok := m.get("docroot"); ok {
		if s, ok := d.str(x, m.path("docroot")); ok {
			v.Docroot = s
		}
	}
	if x, ok := m.get("php"); ok {
		d.php(x, m.path("php"), &v.PHP, false)
	}
	return v
}
