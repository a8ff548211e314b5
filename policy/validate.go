package policy

import (
	"net/netip"
	"path"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Validate checks p against every rule of the policy format and returns
// the errors found, in the order of the policy. Load and Parse call it; a
// Policy built in code can be checked with it too (its messages then
// carry no positions).
func Validate(p *Policy) List {
	return validate(p, nil, nil)
}

// maxID is the largest uid or gid an account may have: (uid_t)-1 means
// "leave unchanged" to chown(2) and setresuid(2), and 65534 aside, the
// kernel accepts everything below it.
const maxID = 1<<32 - 2

// checker collects the errors of one validation.
type checker struct {
	p       *Policy
	skip    map[string]bool   // paths that already have an error from loading
	written map[string]string // names as written, where the loader folded them
	errs    List

	accDir   string // the accounts directory, cleaned,
	accDirOK bool   // if it is valid

	// rootDirs maps the cleaned path of each root-owned skeleton
	// directory to its YAML path.
	rootDirs map[string]string
}

func validate(p *Policy, skip map[string]bool, written map[string]string) List {
	c := &checker{p: p, skip: skip, written: written}
	if acc := p.Server.Paths.Accounts; !skip["server.paths.accounts"] && pathReason(acc, true) == "" && cleanPath(acc) != "/" {
		c.accDir, c.accDirOK = cleanPath(acc), true
	}
	if !c.skip["version"] && p.Version != Version {
		c.errorf("version", "version %d is not supported: this phpguard reads version %d", p.Version, Version)
	}
	c.server()
	c.accounts()
	return c.errs
}

func (c *checker) errorf(path, format string, args ...any) {
	c.errs.Add(SevError, posOf(c.p, path), path, format, args...)
}

// asWritten returns the value at path as the policy wrote it: v, or
// what the loader folded to v.
func (c *checker) asWritten(path, v string) string {
	if w, ok := c.written[path]; ok {
		return w
	}
	return v
}

// posOf returns the position of the value at path or, for a default
// that was not written, of the nearest value around it that was:
// server.php.open_basedir[0] falls back to server.php, then server,
// then the top of the file.
func posOf(p *Policy, path string) Pos {
	for {
		if pos, ok := p.pos[path]; ok {
			return pos
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			if path == "" {
				return Pos{}
			}
			path = ""
			continue
		}
		path = path[:i]
	}
}

// accountsDir returns the accounts directory, cleaned, if it is valid.
func (c *checker) accountsDir() (string, bool) {
	return c.accDir, c.accDirOK
}

// where names the place of the value at path for messages about a
// second occurrence: its YAML path and, when known, its position.
func (c *checker) where(path string) string {
	if pos, ok := c.p.pos[path]; ok && pos.Line > 0 {
		return path + " (" + pos.String() + ")"
	}
	return path
}

func (c *checker) server() {
	s := &c.p.Server
	c.httpUser(s.HTTPUser)
	c.serverPaths()
	c.layers()
	c.functions("server.php.disable_functions", s.PHP.DisableFunctions)
	if len(s.PHP.OpenBasedir) == 0 && !c.skip["server.php.open_basedir"] {
		// PHP reads an empty open_basedir as no restriction at all.
		c.errorf("server.php.open_basedir", "must list at least one directory: an empty open_basedir means no restriction at all")
	}
	c.openBasedir("server.php.open_basedir", s.PHP.OpenBasedir)
	for i, b := range s.Deny.Binaries {
		p := index("server.deny.binaries", i)
		if c.skip[p] {
			continue
		}
		if r := pathReason(b, false); r != "" {
			c.errorf(p, "binary %s %s", quote(b), r)
		} else if b == "/" {
			c.errorf(p, "binary \"/\" is the root directory: denying it would lock the HTTP user out of everything")
		} else if strings.HasSuffix(b, "/") {
			c.errorf(p, "binary %s names a directory: remove the trailing /", quote(b))
		}
	}
	c.listen()
	c.command("server.apache.configtest", s.Apache.ConfigTest)
	c.command("server.apache.reload", s.Apache.Reload)
	c.skeleton()
}

// httpUser checks the HTTP user: a user name as useradd(8) accepts it
// or a uid, and not root, whom the deny ACLs could not hold.
func (c *checker) httpUser(u string) {
	const p = "server.http_user"
	if c.skip[p] {
		return
	}
	if n, err := strconv.ParseUint(u, 10, 32); err == nil {
		if n == 0 {
			c.errorf(p, "http_user must not be root (uid 0): the deny ACLs do not hold root")
		} else if n > maxID {
			c.errorf(p, "http_user uid %d is out of range (1 to %d)", n, maxID)
		}
		return
	}
	if u == "root" {
		c.errorf(p, "http_user must not be root: the deny ACLs do not hold root")
		return
	}
	if !userName(u) {
		c.errorf(p, "http_user %s is neither a user name (lower-case letters, digits, _ and -, up to 32) nor a uid", quote(u))
	}
}

func userName(s string) bool {
	if s == "" || len(s) > 32 || s[0] == '-' || ('0' <= s[0] && s[0] <= '9') {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !('a' <= ch && ch <= 'z' || '0' <= ch && ch <= '9' || ch == '_' || ch == '-') {
			return false
		}
	}
	return true
}

func (c *checker) serverPaths() {
	ps := &c.p.Server.Paths
	acc, accOK := c.accountsDir()
	for _, f := range []struct {
		key, value string
		apache     bool // written into Apache or ini syntax
		file       bool // names a file, not a directory
	}{
		{"layers", ps.Layers, false, false},
		{"accounts", ps.Accounts, true, false},
		{"apache", ps.Apache, true, false},
		{"apache_include", ps.ApacheInclude, true, true},
		{"php_ini", ps.PHPIni, true, true},
	} {
		p := "server.paths." + f.key
		if c.skip[p] {
			continue
		}
		if r := pathReason(f.value, f.apache); r != "" {
			c.errorf(p, "path %s %s", quote(f.value), r)
			continue
		}
		if f.file && strings.HasSuffix(f.value, "/") {
			c.errorf(p, "path %s names a file: remove the trailing /", quote(f.value))
			continue
		}
		// Debian's Apache loads conf-enabled/*.conf and PHP scans only
		// *.ini in its conf.d: a file named otherwise is skipped without a
		// word, and with it every vhost or the server-wide
		// disable_functions.
		if f.key == "apache_include" && !strings.HasSuffix(f.value, ".conf") {
			c.errorf(p, "path %s must end in .conf: Apache's conf-enabled loads only *.conf, so no vhost would be served", quote(f.value))
			continue
		}
		if f.key == "php_ini" && !strings.HasSuffix(f.value, ".ini") {
			c.errorf(p, "path %s must end in .ini: PHP reads only *.ini from its conf.d, so no function would be disabled", quote(f.value))
			continue
		}
		// The vhost files live in <apache>/<account>/: a file of its own
		// there could be taken for one of them, or clash with one.
		if f.file && within(f.value, ps.Apache) && pathReason(ps.Apache, true) == "" {
			c.errorf(p, "path %s lies inside server.paths.apache %s, which holds the generated vhost files", quote(f.value), clip(ps.Apache))
			continue
		}
		if f.key == "accounts" {
			switch {
			case cleanPath(f.value) == "/":
				c.errorf(p, "the accounts directory may not be /")
			case strings.ContainsRune(f.value, ':'):
				// Every vhost's open_basedir starts with the account's
				// root, inside this directory, and PHP splits
				// open_basedir at ':' (PATH_SEPARATOR).
				c.errorf(p, "path %s contains ':', which separates open_basedir entries: each vhost's open_basedir holds its account's root inside this directory", quote(f.value))
			}
			continue
		}
		if !accOK {
			continue
		}
		// phpguard writes these as root; inside the accounts directory an
		// account could plant a symbolic link in their place.
		switch {
		case within(f.value, acc):
			c.errorf(p, "path %s lies inside the accounts directory %s, which accounts can write to", quote(f.value), clip(acc))
		case within(acc, f.value):
			c.errorf(p, "path %s contains the accounts directory %s", quote(f.value), clip(acc))
		}
	}
}

func (c *checker) layers() {
	layers := c.p.Server.Layers
	names := make(refs[string], len(layers))
	for i, l := range layers {
		r := at(index("server.layers", i), ".name")
		if c.skipped(r) {
			continue
		}
		if !dnsLabel(l.Name) {
			c.errorf(r.String(), "layer name %s is not valid: %s", quote(l.Name), labelRule)
			continue
		}
		if first, dup := names.first(l.Name, r); dup {
			c.errorf(r.String(), "layer name %s is already used by %s", quote(l.Name), c.where(first.String()))
		}
	}
	for i, l := range layers {
		for j, r := range l.Requires {
			p := index(index("server.layers", i)+".requires", j)
			if c.skip[p] {
				continue
			}
			if _, ok := names[r]; !ok {
				c.errorf(p, "requires %s, which is not a layer declared in server.layers", quote(r))
			}
		}
	}
	c.cycles(names)
}

// cycles reports every cycle of requires, once each, at the requires
// entry that closes it. Layers without a valid name and requires of
// undeclared layers are left out: they have their own errors.
func (c *checker) cycles(names refs[string]) {
	layers := c.p.Server.Layers
	index0 := make(map[string]int, len(layers))
	for i, l := range layers {
		if r, ok := names[l.Name]; ok && r.base == index("server.layers", i) {
			index0[l.Name] = i
		}
	}
	const (
		white = iota
		grey  // on the current path
		black // done
	)
	color := make([]int, len(layers))
	var stack []int
	var visit func(i int)
	visit = func(i int) {
		color[i] = grey
		stack = append(stack, i)
		for j, r := range layers[i].Requires {
			k, ok := index0[r]
			if !ok {
				continue
			}
			switch color[k] {
			case white:
				visit(k)
			case grey:
				var cyc []string
				for s := len(stack) - 1; s >= 0; s-- {
					if stack[s] == k {
						for _, x := range stack[s:] {
							cyc = append(cyc, layers[x].Name)
						}
						break
					}
				}
				cyc = append(cyc, r)
				p := index(index("server.layers", i)+".requires", j)
				c.errorf(p, "layer requires form a cycle: %s", strings.Join(cyc, " -> "))
			}
		}
		stack = stack[:len(stack)-1]
		color[i] = black
	}
	for i := range layers {
		if _, ok := index0[layers[i].Name]; ok && color[i] == white {
			visit(i)
		}
	}
}

// functions checks PHP function names. PHP treats them without regard
// to case; the loader has folded them to lower case.
func (c *checker) functions(path string, fns []string) {
	for i, f := range fns {
		p := index(path, i)
		if c.skip[p] {
			continue
		}
		if !phpIdent(f) {
			c.errorf(p, "function name %s is not a PHP identifier (letters, digits and _, not starting with a digit)", quoteASCII(c.asWritten(p, f)))
		}
	}
}

func phpIdent(s string) bool {
	if s == "" || ('0' <= s[0] && s[0] <= '9') {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !('a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' || '0' <= ch && ch <= '9' || ch == '_') {
			return false
		}
	}
	return true
}

// openBasedir checks open_basedir entries. An entry may not open the
// accounts directory, or anything in it: that would let one account's
// PHP read another's files, the very thing open_basedir is there for.
func (c *checker) openBasedir(path string, dirs []string) {
	acc, accOK := c.accountsDir()
	for i, d := range dirs {
		p := index(path, i)
		if c.skip[p] {
			continue
		}
		if r := pathReason(d, true); r != "" {
			c.errorf(p, "open_basedir entry %s %s", quote(d), r)
			continue
		}
		if strings.ContainsRune(d, ':') {
			c.errorf(p, "open_basedir entry %s contains ':', which separates open_basedir entries", quote(d))
			continue
		}
		if !accOK {
			continue
		}
		switch {
		case cleanPath(d) == acc:
			c.errorf(p, "open_basedir entry %s is the accounts directory: it would let every account's PHP read every other account's files", quote(d))
		case within(d, acc):
			c.errorf(p, "open_basedir entry %s lies inside the accounts directory %s: it would let PHP read an account's files from other accounts' vhosts", quote(d), clip(acc))
		case within(acc, d):
			c.errorf(p, "open_basedir entry %s contains the accounts directory %s: it would let every account's PHP read every other account's files", quote(d), clip(acc))
		}
	}
}

func (c *checker) listen() {
	const p = "server.apache.listen"
	if c.skip[p] {
		return
	}
	l := c.p.Server.Apache.Listen
	if r := unsafeReason(l); r != "" {
		c.errorf(p, "listen %s contains %s, which cannot be written safely into Apache syntax", quote(l), r)
		return
	}
	if r := listenReason(l); r != "" {
		c.errorf(p, "listen %s is not a VirtualHost address such as \"*:80\", \"127.0.0.1:8080\" or \"[::1]:80\": %s", quote(l), r)
	}
}

// listenReason says what is wrong with a VirtualHost address: an IP
// address (IPv6 in brackets), a host name or *, and an optional port.
func listenReason(s string) string {
	host, port := s, ""
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "the IPv6 address has no closing ]"
		}
		host, port = s[1:end], s[end+1:]
		if port != "" && !strings.HasPrefix(port, ":") {
			return "expected :PORT after the IPv6 address"
		}
		port = strings.TrimPrefix(port, ":")
		if a, err := netip.ParseAddr(host); err != nil || !a.Is6() || a.Zone() != "" {
			return quote(host) + " is not an IPv6 address without a zone"
		}
	} else {
		if i := strings.LastIndexByte(s, ':'); i >= 0 {
			host, port = s[:i], s[i+1:]
			if strings.ContainsRune(host, ':') {
				return "an IPv6 address must be in brackets, as in [::1]:80"
			}
			if port == "" {
				return "the port is missing after ':'"
			}
		}
		if host != "*" {
			if a, err := netip.ParseAddr(host); err == nil {
				if !a.Is4() {
					return quote(host) + " is not an IPv4 address"
				}
			} else if r := hostReason(host); r != "" {
				return quote(host) + " is not *, an IP address or a host name: " + r
			}
		}
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || port[0] == '0' || strings.Trim(port, "0123456789") != "" {
			return "port " + quote(port) + " is not a number from 1 to 65535"
		}
	}
	return ""
}

// command checks the argv of a command phpguard runs: an empty list
// runs nothing; otherwise the program is named, and no argument holds a
// NUL byte, which execve(2) cannot pass.
func (c *checker) command(path string, argv []string) {
	for i, a := range argv {
		p := index(path, i)
		if c.skip[p] {
			continue
		}
		if i == 0 && a == "" {
			c.errorf(p, "the program name is empty")
		} else if strings.ContainsRune(a, 0) {
			c.errorf(p, "argument %s contains a NUL byte, which no program can receive", quote(a))
		}
	}
}

func (c *checker) skeleton() {
	seen := make(refs[string])
	c.rootDirs = make(map[string]string)
	for i, s := range c.p.Server.Skeleton {
		base := index("server.skeleton", i)
		p := base + ".path"
		if !c.skip[p] {
			switch r := pathReason(s.Path, true); {
			case r != "":
				c.errorf(p, "skeleton path %s %s", quote(s.Path), r)
			case cleanPath(s.Path) == "/":
				c.errorf(p, "skeleton path \"/\" is the account's root itself: list directories inside it")
			default:
				if first, dup := seen.first(cleanPath(s.Path), at(p, "")); dup {
					c.errorf(p, "skeleton path %s is already listed at %s", quote(s.Path), c.where(first.String()))
				} else if s.Owner == OwnerRoot {
					c.rootDirs[cleanPath(s.Path)] = p
				}
			}
		}
		if p := base + ".mode"; !c.skip[p] && s.Mode > 0o7777 {
			c.errorf(p, "mode %#o is not an octal mode of at most 7777", s.Mode)
		}
		if p := base + ".owner"; !c.skip[p] && s.Owner != OwnerRoot && s.Owner != OwnerAccount {
			c.errorf(p, "owner %s is neither root nor account", quote(string(s.Owner)))
		}
	}
}

// ref is the YAML path base+leaf, or base+leaf+"[i]" when i >= 0,
// kept in pieces: a policy of 10,000 accounts has 100,000 values to
// check, and only those with an error need their path spelled out.
type ref struct {
	base, leaf string
	i          int
}

func at(base, leaf string) ref             { return ref{base, leaf, -1} }
func atIndex(base, leaf string, i int) ref { return ref{base, leaf, i} }

func (r ref) String() string {
	if r.i < 0 {
		return r.base + r.leaf
	}
	return index(r.base+r.leaf, r.i)
}

// skipped reports whether the value at r already has an error from
// loading.
func (c *checker) skipped(r ref) bool {
	return len(c.skip) > 0 && c.skip[r.String()]
}

// refs finds repeated values by map, keeping loading linear in the
// size of the policy: each value's first occurrence is recorded.
type refs[K comparable] map[K]ref

// first returns the first occurrence of key, or records r as it.
func (u refs[K]) first(key K, r ref) (ref, bool) {
	if f, ok := u[key]; ok {
		return f, true
	}
	u[key] = r
	return ref{}, false
}

func (c *checker) accounts() {
	accts := c.p.Accounts
	nhosts, nwild := 0, 0
	for i := range accts {
		for _, v := range accts[i].Vhosts {
			nhosts += 1 + len(v.Aliases)
			for _, a := range v.Aliases {
				if strings.HasPrefix(a, "*.") {
					nwild++
				}
			}
		}
	}
	names := make(refs[string], len(accts))
	uids := make(refs[int], len(accts))
	gids := make(refs[int], len(accts))
	hosts := hostSet{
		first: make(map[string]hostID, nhosts),
		wild:  make(map[string]hostID, nwild),
		added: make([]bool, 0, nhosts),
	}
	layers := make(map[string]bool, len(c.p.Server.Layers))
	for _, l := range c.p.Server.Layers {
		layers[l.Name] = true
	}
	httpUID := -1
	if n, err := strconv.ParseUint(c.p.Server.HTTPUser, 10, 32); err == nil {
		httpUID = int(n)
	}
	for i := range accts {
		a := &accts[i]
		base := index("accounts", i)
		if r := at(base, ".name"); !c.skipped(r) {
			if !dnsLabel(a.Name) {
				c.errorf(r.String(), "account name %s is not valid: %s", quote(a.Name), labelRule)
			} else if first, dup := names.first(a.Name, r); dup {
				c.errorf(r.String(), "account name %s is already used by %s", quote(a.Name), c.where(first.String()))
			}
		}
		c.id(at(base, ".uid"), "uid", a.UID, uids, httpUID)
		c.id(at(base, ".gid"), "gid", a.GID, gids, -1)
		for j, s := range a.Services {
			if r := atIndex(base, ".services", j); !layers[s] && !c.skipped(r) {
				c.errorf(r.String(), "service %s is not a layer declared in server.layers", quote(s))
			}
		}
		for j := range a.Vhosts {
			c.vhost(index(base+".vhosts", j), i, j, &a.Vhosts[j], &hosts)
		}
	}
	c.wildcards(&hosts)
}

// id checks a uid or gid: a number above 0 (root) and below (uid_t)-1,
// used by one account only, and for a uid, not the HTTP user's.
func (c *checker) id(r ref, kind string, id int, seen refs[int], httpUID int) {
	if c.skipped(r) {
		return
	}
	switch {
	case id == 0:
		c.errorf(r.String(), "%s 0 is root's: an account needs a %s above 0", kind, kind)
	case id < 0 || id > maxID:
		c.errorf(r.String(), "%s %d is out of range (1 to %d)", kind, id, maxID)
	case id == httpUID:
		c.errorf(r.String(), "uid %d is the uid of http_user: an account may not run as the HTTP user", id)
	default:
		if first, dup := seen.first(id, r); dup {
			c.errorf(r.String(), "%s %d is already used by %s", kind, id, c.where(first.String()))
		}
	}
}

// hostID names the server name (alias < 0) or an alias of a vhost.
type hostID struct{ acct, vhost, alias int }

func (h hostID) String() string {
	b := index(index("accounts", h.acct)+".vhosts", h.vhost)
	if h.alias < 0 {
		return b + ".server_name"
	}
	return index(b+".aliases", h.alias)
}

// hostSet holds the valid server names and aliases of a policy.
type hostSet struct {
	first map[string]hostID // each name, at its first occurrence
	wild  map[string]hostID // each wildcard alias *.D, by D

	// added tells, for every server name and alias in policy order,
	// whether add recorded it: a name that is invalid or a repeat
	// already has its error.
	added []bool
}

// add records name at id, or returns the name's first occurrence.
func (h *hostSet) add(name string, id hostID) (hostID, bool) {
	if f, ok := h.first[name]; ok {
		return f, true
	}
	h.first[name] = id
	h.added[len(h.added)-1] = true
	if d, ok := strings.CutPrefix(name, "*."); ok {
		h.wild[d] = id
	}
	return hostID{}, false
}

// vhost checks the names and paths of vhost j of account i, at the
// YAML path base. Server names and aliases share one namespace: Apache
// picks the first vhost that matches, so a name used twice silently
// serves one account's site for another's.
func (c *checker) vhost(base string, i, j int, v *Vhost, hosts *hostSet) {
	hosts.added = append(hosts.added, false)
	if r := at(base, ".server_name"); !c.skipped(r) {
		shown := func() string { return quote(c.asWritten(r.String(), v.ServerName)) }
		switch {
		case unsafeReason(v.ServerName) != "":
			c.errorf(r.String(), "server name %s contains %s, which cannot be written safely into Apache or PHP ini syntax", shown(), unsafeReason(v.ServerName))
		case strings.HasPrefix(v.ServerName, "*."):
			c.errorf(r.String(), "server name %s is a wildcard: a wildcard may only be an alias", shown())
		case hostReason(v.ServerName) != "":
			c.errorf(r.String(), "server name %s is not a valid host name: %s", shown(), hostReason(v.ServerName))
		case numericTLD(v.ServerName) != "":
			c.errorf(r.String(), "server name %s %s", shown(), numericTLD(v.ServerName))
		default:
			if first, dup := hosts.add(v.ServerName, hostID{i, j, -1}); dup {
				c.errorf(r.String(), "server name %s is already used by %s", shown(), c.where(first.String()))
			}
		}
	}
	for k, a := range v.Aliases {
		hosts.added = append(hosts.added, false)
		r := atIndex(base, ".aliases", k)
		if c.skipped(r) {
			continue
		}
		shown := func() string { return quote(c.asWritten(r.String(), a)) }
		host, wild := strings.CutPrefix(a, "*.")
		switch {
		case unsafeReason(a) != "":
			c.errorf(r.String(), "alias %s contains %s, which cannot be written safely into Apache or PHP ini syntax", shown(), unsafeReason(a))
		case hostReason(host) != "":
			c.errorf(r.String(), "alias %s is not a valid host name, nor \"*.\" and a host name: %s", shown(), hostReason(host))
		case numericTLD(host) != "":
			c.errorf(r.String(), "alias %s %s", shown(), numericTLD(host))
		case wild && !strings.Contains(host, "."):
			c.errorf(r.String(), "alias %s covers the whole top-level domain %s: it would take the requests for every name in it pointed at this server; write at least two labels after \"*.\"", shown(), quote(host))
		default:
			if first, dup := hosts.add(a, hostID{i, j, k}); dup {
				c.errorf(r.String(), "alias %s is already used by %s", shown(), c.where(first.String()))
			}
		}
	}
	if r := at(base, ".docroot"); !c.skipped(r) {
		if why := c.docrootReason(v.Docroot); why != "" {
			c.errorf(r.String(), "docroot %s %s", quote(v.Docroot), why)
		}
	}
	if len(v.PHP.DisableFunctions) > 0 {
		c.functions(base+".php.disable_functions", v.PHP.DisableFunctions)
	}
	if len(v.PHP.OpenBasedir) > 0 {
		c.openBasedir(base+".php.open_basedir", v.PHP.OpenBasedir)
	}
}

// numericTLD says why a valid host name whose last label is all
// digits is refused, or returns "". No top-level domain is numeric
// (RFC 3696, section 2), so such a name is an IPv4 address (or
// nothing), and a vhost named 127.0.0.1 would take the requests made
// to the server by address.
func numericTLD(host string) string {
	l := host[strings.LastIndexByte(host, '.')+1:]
	if l == "" || strings.Trim(l, "0123456789") != "" {
		return ""
	}
	return "ends in the all-digit label " + quote(l) + ": no top-level domain is numeric (RFC 3696, section 2), so it names an IP address, and the vhost would take the requests made to the server by address"
}

// wildcards reports every wildcard alias that covers a server name or
// alias of another account. Apache gives a request to the first vhost,
// in Include order, whose ServerName or ServerAlias matches, and the *
// of a ServerAlias matches dots too (ap_strcasecmp_match): *.example.net
// matches every name ending in .example.net. A wildcard may therefore
// cover only its own account's names, whichever comes first in the
// policy. Each name's parent domains are looked up among the wildcard
// bases, label by label, so the check stays linear in the number of
// names rather than comparing every pair.
func (c *checker) wildcards(hosts *hostSet) {
	if len(hosts.wild) == 0 {
		return
	}
	n := 0
	next := func() bool { n++; return hosts.added[n-1] }
	for i := range c.p.Accounts {
		for j := range c.p.Accounts[i].Vhosts {
			v := &c.p.Accounts[i].Vhosts[j]
			if next() {
				c.covered(v.ServerName, hostID{i, j, -1}, hosts)
			}
			for k, a := range v.Aliases {
				if next() {
					c.covered(a, hostID{i, j, k}, hosts)
				}
			}
		}
	}
}

// covered reports the wildcards of other accounts that cover name, the
// valid server name or alias at id. A wildcard *.E is covered by *.D
// when E lies under D; *.D itself is a repeat, reported as such. A
// wildcard base has two labels at least, so the last label alone is
// not looked up.
func (c *checker) covered(name string, id hostID, hosts *hostSet) {
	for d := strings.TrimPrefix(name, "*."); ; {
		dot := strings.IndexByte(d, '.')
		if dot < 0 {
			return
		}
		d = d[dot+1:]
		if strings.IndexByte(d, '.') < 0 {
			return
		}
		w, ok := hosts.wild[d]
		if !ok || w.acct == id.acct {
			continue
		}
		kind := "alias"
		if id.alias < 0 {
			kind = "server name"
		}
		wp := w.String()
		c.errorf(wp, "alias %s covers the %s %s of account %s at %s: Apache gives a request to the first vhost that matches, so this vhost could take that account's requests; a wildcard may cover only its own account's names",
			quote(c.asWritten(wp, "*."+d)), kind, quote(c.asWritten(id.String(), name)), quote(c.p.Accounts[id.acct].Name), c.where(id.String()))
	}
}

// docrootReason says why a docroot is refused, or returns "". The
// docroot is a path inside the account's root; without . or .. parts
// it cannot leave it.
func (c *checker) docrootReason(d string) string {
	if why := pathReason(d, true); why != "" {
		return why
	}
	d = cleanPath(d)
	if d == "/" {
		return "is the top of the account's root, which is root's (mode 0755) by design: serve a directory inside it, such as /var/www/html"
	}
	for _, m := range []string{"/proc", "/dev", "/sys"} {
		if withinClean(d, m) {
			return "lies in " + m + ", which phpguard enter mounts over in the account's root: Apache would serve the directory underneath, not what the account's processes see there"
		}
	}
	if withinClean(d, "/tmp") {
		return "lies in /tmp, the account's shared temporary directory (root's, mode 1777), where PHP keeps uploads and sessions: serving it would publish them"
	}
	if p, ok := c.rootDirs[d]; ok {
		return "is the skeleton directory " + c.where(p) + ", which root owns: the account could not put its site there; make it owner: account, or serve another directory"
	}
	return ""
}

const labelRule = "use 1 to 63 lower-case letters, digits and hyphens, not starting or ending with a hyphen"

// dnsLabel reports whether s is a lower-case DNS label (RFC 1123).
func dnsLabel(s string) bool {
	if s == "" || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !('a' <= ch && ch <= 'z' || '0' <= ch && ch <= '9' || ch == '-') {
			return false
		}
	}
	return true
}

// hostReason says why s is not a lower-case host name (RFC 1123
// labels, at most 253 characters), or returns "". A single label, such
// as localhost, is a host name.
func hostReason(s string) string {
	if s == "" {
		return "it is empty"
	}
	if len(s) > 253 {
		return "it is longer than 253 characters"
	}
	for rest := s; ; {
		l, after, more := strings.Cut(rest, ".")
		switch {
		case l == "":
			return "it has an empty label (a leading, trailing or doubled dot)"
		case len(l) > 63:
			return "label " + quote(l) + " is longer than 63 characters"
		case !hostChars(l):
			return "label " + quote(l) + " may hold only a-z, 0-9 and -"
		case l[0] == '-' || l[len(l)-1] == '-':
			return "label " + quote(l) + " starts or ends with a hyphen"
		}
		if !more {
			return ""
		}
		rest = after
	}
}

func hostChars(l string) bool {
	for i := 0; i < len(l); i++ {
		if ch := l[i]; !('a' <= ch && ch <= 'z' || '0' <= ch && ch <= '9' || ch == '-') {
			return false
		}
	}
	return true
}

// unsafeReason names the first character of s that cannot be written
// into Apache or PHP ini syntax without quoting, or returns "". Apache
// splits arguments at white space and reads quotes and backslashes;
// the ini parser reads quotes, $ and ; (a comment); a newline in either
// would start a directive of the account's choosing.
func unsafeReason(s string) string {
	if !utf8.ValidString(s) {
		return "bytes that are not UTF-8"
	}
	for _, r := range s {
		if r > ' ' && r < 0x7f && r != '"' && r != '\'' && r != '\\' && r != '$' && r != ';' {
			continue // the common case
		}
		switch {
		case r == '"' || r == '\'':
			return "a quote"
		case r == '\\':
			return "a backslash"
		case r == '$':
			return "a $"
		case r == ';':
			return "a ;"
		case unicode.IsSpace(r):
			return "white space"
		case unicode.IsControl(r):
			return "a control character"
		}
	}
	return ""
}

// pathReason says what is wrong with a path, or returns "". Every path
// is absolute and clean: without . or .. parts, without doubled slashes,
// with at most one trailing slash. A path written into Apache or ini
// syntax (apache) also has none of the characters unsafeReason names,
// nor a glob character, which Apache would expand in <Directory> and
// Include. Others (such as the layers directory, which the overlay
// options escape) only may not hold control characters.
func pathReason(s string, apache bool) string {
	if s == "" {
		return "is empty"
	}
	if apache {
		if r := unsafeReason(s); r != "" {
			return "contains " + r + ", which cannot be written safely into Apache or PHP ini syntax"
		}
		if strings.ContainsAny(s, "*?[]") {
			return "contains a glob character (* ? [ ]), which Apache would expand"
		}
	} else {
		if !utf8.ValidString(s) {
			return "contains bytes that are not UTF-8"
		}
		for _, r := range s {
			if unicode.IsControl(r) {
				return "contains a control character"
			}
		}
	}
	if s[0] != '/' {
		return "is not absolute"
	}
	if strings.Contains(s, "//") {
		return "has a doubled slash"
	}
	for rest := s; rest != ""; {
		var part string
		part, rest, _ = strings.Cut(strings.TrimPrefix(rest, "/"), "/")
		if part == "." || part == ".." {
			return "has a " + quote(part) + " part"
		}
	}
	return ""
}

// cleanPath returns p without its trailing slash. Paths that passed
// pathReason are otherwise clean already.
func cleanPath(p string) string {
	return path.Clean(p)
}

// within reports whether the path child is parent or lies inside it,
// comparing whole components: /home/virtual10 is not inside
// /home/virtual.
func within(child, parent string) bool {
	return withinClean(cleanPath(child), cleanPath(parent))
}

// withinClean is within for paths known to be clean.
func withinClean(c, p string) bool {
	if p == "/" {
		return true
	}
	return strings.HasPrefix(c, p) && (len(c) == len(p) || c[len(p)] == '/')
}
