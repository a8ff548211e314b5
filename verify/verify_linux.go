package verify

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"

	"github.com/phpguard/phpguard/policy"
)

// The defaults of Options: Debian's apache2 binary and module directory.
const (
	DefaultApache     = "/usr/sbin/apache2"
	DefaultModulesDir = "/usr/lib/apache2/modules"
)

// Errors of the honest failure modes. Run wraps them with what it found.
var (
	ErrNoApache   = errors.New("apache2 is not installed")
	ErrNoModPHP   = errors.New("mod_php is not installed")
	ErrPortInUse  = errors.New("port in use")
	ErrNotMounted = errors.New("account root not mounted")
)

// apacheModules are the modules the private Apache loads besides mod_php:
// mpm_prefork because mod_php is not thread-safe on Debian, authz_* for
// Require, alias for the probe's Alias, dir and mime as a stock server has.
var apacheModules = []string{"mpm_prefork", "authz_core", "authz_host", "alias", "dir", "mime"}

// Run proves the promises of policy p on this host (see the package
// documentation) and returns the report. An error means verify could not
// run at all: nothing is proven then, and nothing is left behind.
func Run(ctx context.Context, p *policy.Policy, opts Options) (*Report, error) {
	logf := opts.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("verify needs root: it reads the mount table, writes probes into the accounts' roots and starts Apache")
	}
	plan, err := NewPlan(p)
	if err != nil {
		return nil, err
	}

	// The host: Apache, its modules, mod_php and the HTTP user.
	root, err := realRoot(opts.Root)
	if err != nil {
		return nil, err
	}
	host, err := findApache(opts.Apache, opts.ModulesDir)
	if err != nil {
		return nil, err
	}
	httpUser, err := lookupUser(plan.HTTPUser)
	if err != nil {
		return nil, err
	}

	// Every root that gets a probe must be the mounted overlay, before
	// anything is written.
	roots, err := openRoots(root, plan.Accounts)
	if err != nil {
		return nil, err
	}
	defer roots.close()

	// The private Apache, started before any probe exists: a port in use
	// or a broken configuration leaves nothing behind.
	tmp, err := os.MkdirTemp("", "phpguard-verify-")
	if err != nil {
		return nil, fmt.Errorf("make temporary directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	run := &runner{
		ctx: ctx, plan: plan, root: root, host: host, user: httpUser,
		tmp: tmp, roots: roots, logf: logf, probes: map[string]*accountProbe{},
	}
	if err := run.names(); err != nil {
		return nil, err
	}

	// The probes are removed when Run returns, whatever happens, and
	// after Apache has stopped: a request still running could write a
	// session file.
	defer run.removeProbes()
	ap, err := run.startApache(opts.Port)
	if err != nil {
		return nil, err
	}
	defer ap.stop()
	logf("private Apache listening on %s", ap.addr)

	if err := run.placeProbes(); err != nil {
		return nil, err
	}

	report := &Report{Address: ap.addr, HTTPUser: plan.HTTPUser}
	client := newClient(ap.addr)
	for _, vp := range plan.Vhosts {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		o := run.observe(client, vp)
		if report.PHPVersion == "" && o.Probe != nil {
			report.PHPVersion = o.Probe.PHPVersion
		}
		report.Vhosts = append(report.Vhosts, VhostReport{
			Account: vp.Account, ServerName: vp.ServerName, Results: Judge(vp, o),
		})
	}

	report.ACL, err = run.checkACLs()
	if err != nil {
		return nil, err
	}
	return report, nil
}

// realRoot returns the root directory with its symbolic links resolved:
// the kernel reports mounts by their real paths.
func realRoot(r string) (string, error) {
	if r == "" {
		r = "/"
	}
	abs, err := filepath.Abs(r)
	if err != nil {
		return "", err
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", fmt.Errorf("resolve root: %w", err)
	}
	return real, nil
}

// under returns the host path p as seen under root.
func under(root, p string) string {
	if root == "/" {
		return p
	}
	return strings.TrimSuffix(root, "/") + p
}

// hostApache is what verify found of Apache and mod_php on the host.
type hostApache struct {
	binary     string
	modules    []Module
	phpVersion string // from the module's name, libphp8.2.so: "8.2"
	mimeTypes  string
}

// findApache finds the apache2 binary, the modules the private Apache
// loads and mod_php, or says which one is missing.
func findApache(binary, modDir string) (*hostApache, error) {
	if binary == "" {
		binary = DefaultApache
	}
	if modDir == "" {
		modDir = DefaultModulesDir
	}
	fi, err := os.Stat(binary)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return nil, fmt.Errorf("%w: no executable %s (install Debian's apache2 package)", ErrNoApache, binary)
	}
	h := &hostApache{binary: binary, mimeTypes: "/etc/mime.types"}
	for _, m := range apacheModules {
		file := filepath.Join(modDir, "mod_"+m+".so")
		if _, err := os.Stat(file); err != nil {
			return nil, fmt.Errorf("%w: no Apache module %s (install Debian's apache2 package)", ErrNoApache, file)
		}
		h.modules = append(h.modules, Module{Name: m + "_module", File: file})
	}

	// Debian names mod_php after its PHP version (libphp8.2.so); upstream
	// PHP 8 builds name it libphp.so. With several, the newest is taken.
	found, _ := filepath.Glob(filepath.Join(modDir, "libphp*.so"))
	if len(found) == 0 {
		return nil, fmt.Errorf("%w: no %s (install Debian's libapache2-mod-php package)", ErrNoModPHP, filepath.Join(modDir, "libphp*.so"))
	}
	sort.Slice(found, func(i, j int) bool { return versionLess(phpVersionOf(found[i]), phpVersionOf(found[j])) })
	php := found[len(found)-1]
	h.phpVersion = phpVersionOf(php)
	name := "php_module"
	if strings.HasPrefix(h.phpVersion, "7") {
		name = "php7_module"
	}
	h.modules = append(h.modules, Module{Name: name, File: php})
	return h, nil
}

func phpVersionOf(file string) string {
	return strings.TrimSuffix(strings.TrimPrefix(filepath.Base(file), "libphp"), ".so")
}

// versionLess compares dotted versions numerically ("8.10" after "8.2").
func versionLess(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) && i < len(bs); i++ {
		x, errx := strconv.Atoi(as[i])
		y, erry := strconv.Atoi(bs[i])
		if errx != nil || erry != nil {
			if as[i] != bs[i] {
				return as[i] < bs[i]
			}
			continue
		}
		if x != y {
			return x < y
		}
	}
	return len(as) < len(bs)
}

// phpIniDir returns where mod_php reads php.ini and its scan directory on
// the host: Debian's /etc/php/VERSION/apache2 and its conf.d. For a
// module without a version in its name, the directory above paths.php_ini's.
func (h *hostApache) phpIniDir(phpIni string) (iniDir, scanDir string) {
	if h.phpVersion != "" {
		iniDir = "/etc/php/" + h.phpVersion + "/apache2"
	} else {
		iniDir = path.Dir(path.Dir(phpIni))
	}
	return iniDir, iniDir + "/conf.d"
}

// httpUser is the resolved HTTP user.
type httpUser struct {
	name     string // as the policy names it
	uid, gid uint32
	groups   []uint32

	// apacheUser and apacheGroup are what Apache's User and Group
	// directives get: the names when there are names, so that Apache
	// gives its children the user's supplementary groups (initgroups(3))
	// as the operator's Apache does; else #uid and #gid.
	apacheUser, apacheGroup string
}

func lookupUser(name string) (*httpUser, error) {
	var u *user.User
	var err error
	if _, numErr := strconv.Atoi(name); numErr == nil {
		u, err = user.LookupId(name)
	} else {
		u, err = user.Lookup(name)
	}
	if err != nil {
		return nil, fmt.Errorf("look up HTTP user %s: %w", name, err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("look up HTTP user %s: uid %q, gid %q", name, u.Uid, u.Gid)
	}
	if uid == 0 {
		return nil, fmt.Errorf("HTTP user %s is root: Apache refuses to serve as root, and nothing would be isolated", name)
	}
	h := &httpUser{name: name, uid: uint32(uid), gid: uint32(gid),
		apacheUser: quote(u.Username), apacheGroup: "#" + u.Gid}
	if u.Username == "" {
		h.apacheUser = "#" + u.Uid
	}
	if g, err := user.LookupGroupId(u.Gid); err == nil && g.Name != "" {
		h.apacheGroup = quote(g.Name)
	}
	ids, err := u.GroupIds()
	if err != nil {
		return nil, fmt.Errorf("look up the groups of HTTP user %s: %w", name, err)
	}
	for _, id := range ids {
		if g, err := strconv.ParseUint(id, 10, 32); err == nil {
			h.groups = append(h.groups, uint32(g))
		}
	}
	return h, nil
}

// mountedRoots holds a file descriptor on each account's mounted root.
type mountedRoots struct {
	fd   map[string]int    // by account
	path map[string]string // the root's real path, by account
}

func (m *mountedRoots) close() {
	for _, fd := range m.fd {
		unix.Close(fd)
	}
}

// openRoots opens the mounted root of every account that gets a probe.
// A root that is not an overlay mount point is an error: the probe would
// land in the directory under it, which Apache does not serve the
// account from.
func openRoots(root string, accounts []AccountPlan) (*mountedRoots, error) {
	mounts, err := mountinfo.GetMounts(nil)
	if err != nil {
		return nil, fmt.Errorf("read mount table: %w", err)
	}
	fstype := make(map[string]string, len(mounts))
	for _, m := range mounts {
		// Later lines are mounted on top of earlier ones.
		fstype[m.Mountpoint] = m.FSType
	}
	m := &mountedRoots{fd: map[string]int{}, path: map[string]string{}}
	for _, a := range accounts {
		accountsDir := under(root, path.Dir(path.Dir(a.Root)))
		if real, err := filepath.EvalSymlinks(accountsDir); err == nil {
			accountsDir = real
		}
		target := filepath.Join(accountsDir, a.Name, "root")
		if fstype[target] != "overlay" {
			m.close()
			what := "nothing is mounted there"
			if t := fstype[target]; t != "" {
				what = "a " + t + " file system is mounted there, not overlay"
			}
			return nil, fmt.Errorf("%w: %s (account %s): %s; run phpguard apply first", ErrNotMounted, target, a.Name, what)
		}
		fd, err := openRoot(target)
		if err != nil {
			m.close()
			return nil, err
		}
		m.fd[a.Name], m.path[a.Name] = fd, target
	}
	return m, nil
}

// openRoot opens an account's mounted root and checks that only root may
// write at its top, where the probe goes: apply makes the top of the
// client layer root 0755 (SPEC 7). The path is the operator's (accounts
// directory, account directory root 0711), but no link is followed on it.
func openRoot(target string) (int, error) {
	fd, err := openat2(unix.AT_FDCWD, target, unix.O_PATH|unix.O_DIRECTORY, unix.RESOLVE_NO_SYMLINKS)
	if err != nil {
		return -1, fmt.Errorf("open %s: %w", target, err)
	}
	var sfs unix.Statfs_t
	var st unix.Stat_t
	if err := unix.Fstatfs(fd, &sfs); err != nil {
		unix.Close(fd)
		return -1, &os.PathError{Op: "statfs", Path: target, Err: err}
	}
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, &os.PathError{Op: "stat", Path: target, Err: err}
	}
	switch {
	case sfs.Type != unix.OVERLAYFS_SUPER_MAGIC:
		unix.Close(fd)
		return -1, fmt.Errorf("%w: %s is not an overlay", ErrNotMounted, target)
	case st.Uid != 0 || st.Mode&0o022 != 0:
		unix.Close(fd)
		return -1, fmt.Errorf("open %s: the top of the root is owned by uid %d with mode %#o: only root may write there (run phpguard apply)", target, st.Uid, st.Mode&0o7777)
	}
	return fd, nil
}

// accountProbe is the probe directory of one account.
type accountProbe struct {
	account string
	root    string // the account's root, a host path
	dir     string // its name at the top of the root
	canary  string // the content of canary.txt
	fd      int    // the directory, once made; -1 before
	files   []string
	links   []placedLink
}

// placedLink is a symbolic link verify put in a docroot.
type placedLink struct {
	docroot int // directory fd
	name    string
	target  string
}

// canaryName is the file of each probe directory that other accounts'
// probes try to read.
const canaryName = "canary.txt"

// runner holds the state of one Run.
type runner struct {
	ctx    context.Context
	plan   *Plan
	root   string
	host   *hostApache
	user   *httpUser
	tmp    string
	roots  *mountedRoots
	logf   func(string, ...any)
	probes map[string]*accountProbe // by account
	nonces map[string]string        // by server name
	links  map[string]string        // the symlink's name, by server name
	sids   map[string]string        // the probe's session id, by server name
}

// names picks the unpredictable names: each account's probe directory,
// the canaries, and the links.
func (r *runner) names() error {
	r.nonces, r.links, r.sids = map[string]string{}, map[string]string{}, map[string]string{}
	for _, a := range r.plan.Accounts {
		dir, err1 := randomHex(16)
		canary, err2 := randomHex(32)
		if err := errors.Join(err1, err2); err != nil {
			return err
		}
		r.probes[a.Name] = &accountProbe{account: a.Name, root: a.Root, dir: ".phpguard-verify-" + dir, canary: canary, fd: -1}
	}
	for _, v := range r.plan.Vhosts {
		nonce, err1 := randomHex(16)
		link, err2 := randomHex(16)
		sid, err3 := randomHex(16)
		if err := errors.Join(err1, err2, err3); err != nil {
			return err
		}
		r.nonces[v.ServerName], r.links[v.ServerName] = nonce, "phpguard-verify-"+link+".txt"
		r.sids[v.ServerName] = sid
	}
	return nil
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("read random bytes: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// probeDir returns the probe directory of an account as Apache sees it.
func (r *runner) probeDir(account string) string {
	return under(r.root, r.probes[account].root) + "/" + r.probes[account].dir
}

// apache is the running private Apache.
type apache struct {
	cmd    *exec.Cmd
	addr   string
	exited chan struct{}
}

// stop stops Apache and every process of its group: SIGTERM first, so
// the parent stops its children, then SIGKILL for whatever is left.
func (a *apache) stop() {
	pgid := a.cmd.Process.Pid
	_ = unix.Kill(-pgid, unix.SIGTERM)
	select {
	case <-a.exited:
	case <-time.After(5 * time.Second):
	}
	_ = unix.Kill(-pgid, unix.SIGKILL)
	<-a.exited
}

// startApache writes the configuration and starts Apache on port, or on
// a free port when port is 0.
func (r *runner) startApache(port int) (*apache, error) {
	for attempt := 0; ; attempt++ {
		p := port
		if p == 0 {
			var err error
			if p, err = freePort(); err != nil {
				return nil, err
			}
		}
		a, err := r.startApacheOn(p)
		// A free port can be taken between freePort and Apache's bind.
		if errors.Is(err, ErrPortInUse) && port == 0 && attempt < 3 {
			continue
		}
		return a, err
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (r *runner) startApacheOn(port int) (*apache, error) {
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	conf, err := r.writeConfig(port)
	if err != nil {
		return nil, err
	}
	_, scanDir := r.host.phpIniDir(r.plan.PHPIni)
	logFile := filepath.Join(r.tmp, "error.log")
	stderr, err := os.OpenFile(filepath.Join(r.tmp, "stderr"), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	defer stderr.Close()
	os.Remove(logFile)
	os.Remove(filepath.Join(r.tmp, "apache2.pid"))

	cmd := exec.Command(r.host.binary, "-d", r.tmp, "-f", conf, "-D", "FOREGROUND")
	cmd.Env = []string{
		"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
		"LANG=C",
		// mod_php reads its scan directory from the environment of the
		// Apache parent, when the module starts (php_init_config).
		"PHP_INI_SCAN_DIR=" + under(r.root, scanDir),
	}
	cmd.Stdout, cmd.Stderr = stderr, stderr
	// Its own process group, so that stop reaches the children too; and
	// it dies with verify (prctl(2) PR_SET_PDEATHSIG).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%w: start %s: %v", ErrNoApache, r.host.binary, err)
	}
	a := &apache{cmd: cmd, addr: addr, exited: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(a.exited)
	}()

	// Ready when Apache has written its pid file (after binding its
	// listener) and answers on the port.
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-a.exited:
			return nil, r.startError(addr, stderr, logFile)
		case <-r.ctx.Done():
			a.stop()
			return nil, r.ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			a.stop()
			return nil, fmt.Errorf("start apache on %s: not ready after 20s: %s", addr, tail(stderr, logFile))
		}
		pid, err := os.ReadFile(filepath.Join(r.tmp, "apache2.pid"))
		if err != nil || strings.TrimSpace(string(pid)) != strconv.Itoa(cmd.Process.Pid) {
			continue
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return a, nil
		}
	}
}

// startError explains why Apache exited at start.
func (r *runner) startError(addr string, stderr *os.File, logFile string) error {
	msg := tail(stderr, logFile)
	if strings.Contains(msg, "Address already in use") {
		return fmt.Errorf("%w: %s: another program listens there (give a free port with --port, or none to pick one)", ErrPortInUse, addr)
	}
	return fmt.Errorf("start apache: it exited: %s", msg)
}

// tail returns the last lines Apache wrote to stderr and its error log.
func tail(stderr *os.File, logFile string) string {
	var b bytes.Buffer
	stderr.Seek(0, io.SeekStart)
	io.Copy(&b, io.LimitReader(stderr, 64<<10))
	if data, err := os.ReadFile(logFile); err == nil {
		b.Write(data)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) > 8 {
		lines = lines[len(lines)-8:]
	}
	return strings.Join(lines, "\n")
}

// writeConfig writes the private Apache's configuration in the temporary
// directory and returns the main file.
func (r *runner) writeConfig(port int) (string, error) {
	listen := fmt.Sprintf("127.0.0.1:%d", port)
	extra := map[string][]string{}
	for _, v := range r.plan.Vhosts {
		dir := r.probeDir(v.Account)
		url := "/" + r.probes[v.Account].dir
		extra[v.ServerName] = []string{
			"# Added by phpguard verify: the probe.",
			fmt.Sprintf("Alias %s %s", quote(url), quote(dir)),
			fmt.Sprintf("<Directory %s>", quote(dir)),
			"\tRequire all granted",
			"</Directory>",
		}
	}

	confDir := filepath.Join(r.tmp, "conf")
	if err := os.RemoveAll(confDir); err != nil {
		return "", err
	}
	if err := os.Mkdir(confDir, 0o700); err != nil {
		return "", err
	}
	n := 0
	var writeErr error
	nested := &rewriter{root: r.root, listen: listen, extra: extra}
	top := &rewriter{root: r.root, listen: listen, extra: extra}
	top.include = func(pattern string) []string {
		var out []string
		for _, f := range expandInclude(pattern) {
			data, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			n++
			name := filepath.Join(confDir, fmt.Sprintf("%03d-%s", n, filepath.Base(f)))
			if err := os.WriteFile(name, nested.rewrite(data), 0o600); err != nil {
				writeErr = err
			}
			out = append(out, name)
		}
		return out
	}

	// A missing include file loads no vhost: every probe then reports
	// that its vhost is not served.
	include := under(r.root, r.plan.ApacheInclude)
	data, err := os.ReadFile(include)
	if errors.Is(err, fs.ErrNotExist) {
		data = []byte("# phpguard verify: " + include + " does not exist\n")
	} else if err != nil {
		return "", fmt.Errorf("read %s: %w", include, err)
	}
	includeCopy := filepath.Join(r.tmp, "phpguard-include.conf")
	if err := os.WriteFile(includeCopy, top.rewrite(data), 0o600); err != nil {
		return "", err
	}
	if writeErr != nil {
		return "", writeErr
	}

	mime := r.host.mimeTypes
	if _, err := os.Stat(mime); err != nil {
		mime = filepath.Join(r.tmp, "mime.types")
		if err := os.WriteFile(mime, nil, 0o600); err != nil {
			return "", err
		}
	}
	iniDir, _ := r.host.phpIniDir(r.plan.PHPIni)
	main := MainConfig{
		Dir:       r.tmp,
		Port:      port,
		User:      r.user.apacheUser,
		Group:     r.user.apacheGroup,
		Modules:   r.host.modules,
		MimeTypes: mime,
		PHPIniDir: under(r.root, iniDir),
		Include:   includeCopy,
	}
	name := filepath.Join(r.tmp, "apache2.conf")
	return name, os.WriteFile(name, main.Render(), 0o600)
}

// expandInclude returns the files an Include of pattern loads: the
// matches of a wildcard, and the files of a directory in name order.
func expandInclude(pattern string) []string {
	matches, _ := filepath.Glob(pattern)
	var out []string
	for _, m := range matches {
		fi, err := os.Stat(m)
		if err != nil {
			continue
		}
		if !fi.IsDir() {
			out = append(out, m)
			continue
		}
		entries, _ := os.ReadDir(m)
		for _, e := range entries {
			if e.Type().IsRegular() {
				out = append(out, filepath.Join(m, e.Name()))
			}
		}
	}
	return out
}

// placeProbes makes each account's probe directory at the top of its
// mounted root, the files in it, and the link of each vhost in its
// docroot. Everything is made without following a link: the directory is
// new (mkdirat fails on any existing name), and the docroot is opened
// with RESOLVE_NO_SYMLINKS, since the account owns it.
func (r *runner) placeProbes() error {
	for _, a := range r.plan.Accounts {
		ap := r.probes[a.Name]
		rootFd := r.roots.fd[a.Name]
		if err := unix.Mkdirat(rootFd, ap.dir, 0o755); err != nil {
			return &os.PathError{Op: "mkdir", Path: r.probeDir(a.Name), Err: err}
		}
		fd, err := openat2(rootFd, ap.dir, unix.O_RDONLY|unix.O_DIRECTORY, unix.RESOLVE_BENEATH|unix.RESOLVE_NO_SYMLINKS)
		if err != nil {
			unix.Unlinkat(rootFd, ap.dir, unix.AT_REMOVEDIR)
			return fmt.Errorf("open %s: %w", r.probeDir(a.Name), err)
		}
		ap.fd = fd
		// The mode does not depend on the umask, nor the owner on how
		// verify was started.
		if err := errors.Join(unix.Fchown(fd, 0, 0), unix.Fchmod(fd, 0o755)); err != nil {
			return &os.PathError{Op: "chmod", Path: r.probeDir(a.Name), Err: err}
		}
		if err := r.writeProbeFile(ap, canaryName, []byte(ap.canary)); err != nil {
			return err
		}
	}
	for _, v := range r.plan.Vhosts {
		ap := r.probes[v.Account]
		cfg, err := json.Marshal(r.probeConfig(v))
		if err != nil {
			return err
		}
		if err := r.writeProbeFile(ap, v.ServerName+".json", cfg); err != nil {
			return err
		}
		if err := r.writeProbeFile(ap, v.ServerName+".php", []byte(ProbeSource)); err != nil {
			return err
		}
	}
	return nil
}

// probeConfig is what the probe of vhost v reads and asks about.
func (r *runner) probeConfig(v VhostPlan) ProbeConfig {
	c := ProbeConfig{
		Nonce:     r.nonces[v.ServerName],
		SessionID: r.sids[v.ServerName],
		Reads:     map[string]string{readOwn: filepath.Join(r.probeDir(v.Account), canaryName), readHost: r.hostPasswd()},
		Functions: v.Functions,
	}
	if c.Functions == nil {
		c.Functions = []string{}
	}
	if v.Other != "" {
		c.Reads[readOther] = filepath.Join(r.probeDir(v.Other), canaryName)
	}
	if v.Prefix != "" {
		c.Reads[readPrefix] = filepath.Join(r.probeDir(v.Prefix), canaryName)
	}
	return c
}

// hostPasswd is the host's /etc/passwd: under the root when there is one
// there, else the running machine's, which mod_php sees as well.
func (r *runner) hostPasswd() string {
	if p := under(r.root, HostPasswd); p != HostPasswd {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p
		}
	}
	return HostPasswd
}

// writeProbeFile makes a new file, root 0644, in a probe directory.
func (r *runner) writeProbeFile(ap *accountProbe, name string, data []byte) error {
	where := filepath.Join(r.probeDir(ap.account), name)
	fd, err := unix.Openat(ap.fd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return &os.PathError{Op: "create", Path: where, Err: err}
	}
	ap.files = append(ap.files, name)
	f := os.NewFile(uintptr(fd), where)
	defer f.Close()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := errors.Join(unix.Fchown(fd, 0, 0), unix.Fchmod(fd, 0o644)); err != nil {
		return &os.PathError{Op: "chmod", Path: where, Err: err}
	}
	return f.Close()
}

// placeLink puts in v's docroot a symbolic link, owned by the account, to
// another account's canary. It is made in the probe directory, where only
// root writes, given its owner there, and then moved into the docroot, so
// the account never has a chance to swap it before its owner is set.
func (r *runner) placeLink(v VhostPlan) error {
	ap := r.probes[v.Account]
	name := r.links[v.ServerName]
	target := filepath.Join(r.probeDir(v.Other), canaryName)
	if err := unix.Symlinkat(target, ap.fd, name); err != nil {
		return fmt.Errorf("make a link in %s: %w", r.probeDir(v.Account), err)
	}
	if err := unix.Fchownat(ap.fd, name, v.UID, v.GID, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		unix.Unlinkat(ap.fd, name, 0)
		return fmt.Errorf("chown the link in %s: %w", r.probeDir(v.Account), err)
	}
	rel := strings.TrimPrefix(strings.TrimPrefix(v.Docroot, v.Root), "/")
	if rel == "" {
		rel = "."
	}
	doc, err := openat2(r.roots.fd[v.Account], rel, unix.O_PATH|unix.O_DIRECTORY, unix.RESOLVE_IN_ROOT|unix.RESOLVE_NO_SYMLINKS)
	if err != nil {
		unix.Unlinkat(ap.fd, name, 0)
		return fmt.Errorf("open docroot %s: %w", v.Docroot, err)
	}
	if err := unix.Renameat2(ap.fd, name, doc, name, unix.RENAME_NOREPLACE); err != nil {
		unix.Unlinkat(ap.fd, name, 0)
		unix.Close(doc)
		return fmt.Errorf("move the link into docroot %s: %w", v.Docroot, err)
	}
	ap.links = append(ap.links, placedLink{docroot: doc, name: name, target: target})
	return nil
}

// removeProbes removes everything placeProbes and placeLink made. A link
// is removed only while it is still verify's: the account may have
// replaced it in its docroot.
func (r *runner) removeProbes() {
	// A session file of a request whose answer verify did not wait for.
	for _, v := range r.plan.Vhosts {
		r.takeSessionFile(v)
	}
	for _, a := range r.plan.Accounts {
		ap := r.probes[a.Name]
		for _, l := range ap.links {
			if got, err := readlinkat(l.docroot, l.name); err == nil && got == l.target {
				unix.Unlinkat(l.docroot, l.name, 0)
			}
			unix.Close(l.docroot)
		}
		ap.links = nil
		if ap.fd < 0 {
			continue
		}
		for _, f := range ap.files {
			unix.Unlinkat(ap.fd, f, 0)
		}
		unix.Close(ap.fd)
		ap.fd = -1
		if err := unix.Unlinkat(r.roots.fd[a.Name], ap.dir, unix.AT_REMOVEDIR); err != nil {
			r.logf("remove %s: %v", r.probeDir(a.Name), err)
		}
	}
}

func readlinkat(dirfd int, name string) (string, error) {
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(dirfd, name, buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

// newClient returns an HTTP client that sends every request to the
// private Apache, whatever host the URL names.
func newClient(addr string) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return dialer.DialContext(ctx, "tcp", addr)
			},
			DisableKeepAlives: true,
			Proxy:             nil,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// observe runs the probe of vhost v and the symlink check.
func (r *runner) observe(client *http.Client, v VhostPlan) Observed {
	ap := r.probes[v.Account]
	o := Observed{
		Nonce: r.nonces[v.ServerName],
		Want:  map[string]string{readOwn: sha256Hex(ap.canary)},
		Tmp:   under(r.root, v.Tmp),
	}

	// The probe: a multipart POST with a file, so that PHP takes an upload.
	url := "http://" + v.ServerName + "/" + ap.dir + "/" + v.ServerName + ".php"
	body, status, err := r.post(client, url)
	switch {
	case err != nil:
		o.ProbeErr = "request the probe: " + err.Error()
	case status == http.StatusNotFound:
		o.ProbeErr = "the vhost is not served by the generated files (HTTP 404 for the probe)"
	default:
		var out ProbeOutput
		if json.Unmarshal(body, &out) != nil || out.Probe != "phpguard-verify" {
			o.ProbeErr = fmt.Sprintf("PHP did not run the probe (HTTP %d)", status)
			if msg := r.lastPHPError(); msg != "" {
				o.ProbeErr += ": " + short(msg)
			}
			break
		}
		o.Probe = &out
		o.SessionFile = out.Session.ID == r.sids[v.ServerName] && r.takeSessionFile(v)
	}

	// The symlink: a link owned by the account, in its docroot, to
	// another account's file.
	if v.Other != "" {
		if err := r.placeLink(v); err != nil {
			o.SymlinkErr = err.Error()
			return o
		}
		body, status, err := r.get(client, "http://"+v.ServerName+"/"+r.links[v.ServerName])
		if err != nil {
			o.SymlinkErr = "request the link: " + err.Error()
			return o
		}
		o.SymlinkStatus = status
		o.SymlinkServed = string(body) == r.probes[v.Other].canary
	}
	return o
}

// lastPHPError returns PHP's last message in the private Apache's error
// log, or "". An open_basedir refusal among the last few is preferred:
// it is the cause of the fatal error that follows it.
func (r *runner) lastPHPError() string {
	data, err := os.ReadFile(filepath.Join(r.tmp, "error.log"))
	if err != nil {
		return ""
	}
	var msgs []string
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	for i := len(lines) - 1; i >= 0 && len(msgs) < 3; i-- {
		if _, msg, ok := strings.Cut(lines[i], "] PHP "); ok {
			msgs = append(msgs, msg)
		}
	}
	for _, m := range msgs {
		if strings.Contains(m, "open_basedir restriction in effect") {
			return m
		}
	}
	if len(msgs) == 0 {
		return ""
	}
	return msgs[0]
}

func (r *runner) post(client *http.Client, url string) ([]byte, int, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile("f", "phpguard-verify.txt")
	if err != nil {
		return nil, 0, err
	}
	io.WriteString(fw, "phpguard verify upload\n")
	if err := mw.Close(); err != nil {
		return nil, 0, err
	}
	req, err := http.NewRequestWithContext(r.ctx, http.MethodPost, url, &buf)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return do(client, req)
}

func (r *runner) get(client *http.Client, url string) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(r.ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, 0, err
	}
	return do(client, req)
}

func do(client *http.Client, req *http.Request) ([]byte, int, error) {
	resp, err := client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return body, resp.StatusCode, err
}

// takeSessionFile reports whether the probe's session file is in the
// account's /tmp, looking through the mounted root without following
// links, and removes it.
func (r *runner) takeSessionFile(v VhostPlan) bool {
	id := r.sids[v.ServerName]
	rel := strings.TrimPrefix(strings.TrimPrefix(v.Tmp, v.Root), "/")
	tmp, err := openat2(r.roots.fd[v.Account], rel, unix.O_PATH|unix.O_DIRECTORY, unix.RESOLVE_IN_ROOT|unix.RESOLVE_NO_SYMLINKS)
	if err != nil {
		return false
	}
	defer unix.Close(tmp)
	var st unix.Stat_t
	name := "sess_" + id
	if err := unix.Fstatat(tmp, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return false
	}
	unix.Unlinkat(tmp, name, 0)
	return true
}

// checkACLs checks, as the HTTP user, that each denied binary can be
// neither read nor executed: on the host and in each layer, under the
// root. A path is resolved inside its own tree (a layer's absolute link
// stays in the layer), as the deny step resolves it.
func (r *runner) checkACLs() ([]Result, error) {
	var results []Result
	var paths []string
	var index []int // result index of each path
	for _, t := range r.plan.Deny {
		what := t.Path + " on the host"
		if t.Tree != "/" {
			what = t.Path + " in layer " + path.Base(t.Tree)
		}
		res := Result{Promise: what}
		real, err := resolveIn(under(r.root, t.Tree), t.Path)
		switch {
		case errors.Is(err, unix.ENOENT):
			res.Status, res.Detail = Skipped, "absent"
		case err != nil:
			res.Status, res.Detail = NotEnforced, err.Error()
		default:
			paths = append(paths, real)
			index = append(index, len(results))
		}
		results = append(results, res)
	}
	if len(paths) == 0 {
		return results, nil
	}
	checks, err := r.accessAsHTTPUser(paths)
	if err != nil {
		return nil, err
	}
	for i, c := range checks {
		results[index[i]].Status, results[index[i]].Detail = judgeAccess(r.user.name, c)
	}
	return results, nil
}

// resolveIn resolves unsafePath inside tree and returns its real path.
func resolveIn(tree, unsafePath string) (string, error) {
	treeFd, err := openat2(unix.AT_FDCWD, tree, unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		return "", fmt.Errorf("open %s: %w", tree, err)
	}
	defer unix.Close(treeFd)
	fd, err := openat2(treeFd, unsafePath, unix.O_PATH, unix.RESOLVE_IN_ROOT|unix.RESOLVE_NO_MAGICLINKS)
	if err != nil {
		return "", err
	}
	defer unix.Close(fd)
	return os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
}

// accessCheck is what the HTTP user could do with one path: "ok" or the
// errno name, for reaching (stat), reading (open) and executing it
// (access X_OK, the permission check of execve(2), noexec included).
type accessCheck struct {
	Stat, Read, Exec string
}

// judgeAccess turns an access check into a result.
func judgeAccess(user string, c accessCheck) (Status, string) {
	denied := func(s string) bool { return s == "EACCES" || s == "EPERM" }
	switch {
	case denied(c.Stat):
		return Enforced, user + " cannot even reach it"
	case c.Stat != "ok":
		return NotEnforced, "stat as " + user + ": " + c.Stat
	case c.Read == "ok" && c.Exec == "ok":
		return NotEnforced, user + " can read and execute it"
	case c.Read == "ok":
		return NotEnforced, user + " can read it (and so run it through the dynamic loader or a copy)"
	case c.Exec == "ok":
		return NotEnforced, user + " can execute it"
	case !denied(c.Read) || !denied(c.Exec):
		return NotEnforced, fmt.Sprintf("unexpected errors as %s: read %s, exec %s", user, c.Read, c.Exec)
	}
	return Enforced, ""
}

// helperName is the argv[0] under which the verify code in a binary
// runs as the access helper (see init).
const helperName = "phpguard-verify-access"

// init turns a process started as the access helper into it: verify
// re-executes its own binary (/proc/self/exe) with the HTTP user's
// credentials, so that the kernel itself, not a model of it, answers
// whether that user may read or execute each path. The dispatch on
// argv[0] is the one moby's reexec package uses.
func init() {
	if len(os.Args) > 0 && os.Args[0] == helperName {
		os.Exit(accessHelper(os.Args[1:], os.Stdout))
	}
}

// accessHelper writes one JSON accessCheck per path.
func accessHelper(paths []string, w io.Writer) int {
	enc := json.NewEncoder(w)
	result := func(err error) string {
		var errno unix.Errno
		switch {
		case err == nil:
			return "ok"
		case errors.As(err, &errno):
			return unix.ErrnoName(errno)
		}
		return err.Error()
	}
	for _, p := range paths {
		var c accessCheck
		var st unix.Stat_t
		c.Stat = result(unix.Stat(p, &st))
		fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
		if err == nil {
			unix.Close(fd)
		}
		c.Read = result(err)
		c.Exec = result(unix.Access(p, unix.X_OK))
		if err := enc.Encode(c); err != nil {
			return 1
		}
	}
	return 0
}

// accessAsHTTPUser runs the access helper as the HTTP user.
func (r *runner) accessAsHTTPUser(paths []string) ([]accessCheck, error) {
	cmd := exec.CommandContext(r.ctx, "/proc/self/exe", paths...)
	cmd.Args[0] = helperName
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LANG=C"}
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: r.user.uid, Gid: r.user.gid, Groups: r.user.groups},
		Pdeathsig:  syscall.SIGKILL,
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("check access as %s: %w: %s", r.user.name, err, strings.TrimSpace(stderr.String()))
	}
	dec := json.NewDecoder(&stdout)
	out := make([]accessCheck, len(paths))
	for i := range out {
		if err := dec.Decode(&out[i]); err != nil {
			return nil, fmt.Errorf("check access as %s: read the helper's answer: %w", r.user.name, err)
		}
	}
	return out, nil
}

// openat2 opens name under dirfd with resolve flags, O_CLOEXEC always,
// retrying when a concurrent rename makes the kernel ask for it (EAGAIN,
// openat2(2)) or a signal interrupts it.
func openat2(dirfd int, name string, flags int, resolve uint64) (int, error) {
	how := &unix.OpenHow{Flags: uint64(flags | unix.O_CLOEXEC), Resolve: resolve}
	for i := 0; ; i++ {
		fd, err := unix.Openat2(dirfd, name, how)
		if (errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR)) && i < 16 {
			continue
		}
		return fd, err
	}
}
