package rootfs

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// BUG(enter): Enter gives the command no terminal of its own: it runs in
// a new session with the caller's standard streams, so an interactive
// shell has no job control (^Z stops phpguard, not the shell) and no
// window size changes. A pseudo-terminal relayed by the parent, as
// su --pty and machinectl shell do, would fix this.

// BUG(enter): each entry has its own /dev/shm (DefaultLayout): a daemon
// and the cron jobs of the same account do not share POSIX shared memory.

// childConfig is what Enter passes to its child, as JSON on a pipe.
type childConfig struct {
	Account  string
	Root     string
	UID, GID int
	Command  []string
	Term     string
	Layout   Layout
}

// enterChildEnv marks the process Enter starts: InitEnter runs the
// in-namespace part of Enter when it is set.
const enterChildEnv = "_PHPGUARD_ENTER_CHILD"

// The child's extra file descriptors (exec.Cmd.ExtraFiles start at 3).
const (
	childConfigFD = 3 // the child reads its childConfig here
	childErrorFD  = 4 // the child writes why it failed here; exec closes it
)

// forwarded are the signals Enter passes on to the command: the ones a
// terminal, systemd (stop, reload) or an operator send to the process
// they started.
var forwarded = []os.Signal{unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2}

// Enter runs e.Command (or the account's login shell) inside the
// account's root, as the account, and returns its exit status (128 plus
// the signal number when a signal ended it). It returns a non-nil error
// when the command could not be started; the status is then 1, or
// StatusCannotRun or StatusNotFound when everything was set up but the
// command could not be executed.
//
// Enter starts the running program again (/proc/self/exe) in a new mount
// namespace and a new session; that child does the work and execs the
// command (see enterChild), while Enter waits for it and forwards the
// signals of forwarded to it. The program must call InitEnter before
// anything else in main (or in an init function).
//
// What the command sees:
//
//   - /proc is a new proc instance with hidepid=invisible (proc(5)): the
//     account sees its own processes, those of every other entry of the
//     same account (its daemons, its cron jobs, its shells), and no
//     process of another uid. A PID namespace per entry was not chosen:
//     it would hide an account's daemon from its own shell and cron jobs
//     (no ps, no kill of its own daemon), and the command would run as
//     PID 1 of its namespace, which ignores every signal it has no
//     handler for (pid_namespaces(7)), so a plain daemon would not stop
//     on systemd's SIGTERM.
//   - /dev, /dev/pts and /dev/shm are new and private to this entry
//     (DefaultLayout); the host's disks and terminals are not there.
//   - Nothing outside the root: the old root is detached after
//     pivot_root(2), in a namespace of its own.
//   - Its root is a bind of the account's overlay without noexec; nosuid
//     and nodev stay, and no_new_privs is set, so a setuid binary in a
//     layer gives no privilege (execve(2), PR_SET_NO_NEW_PRIVS).
//   - No controlling terminal: the command runs in a new session
//     (setsid(2)), so it cannot push input into the caller's terminal with
//     TIOCSTI (CVE-2016-2779, CVE-2017-5226). Its standard streams are
//     the caller's.
//
// Enter does not isolate the network, System V IPC or the hostname:
// those stay the host's, shared by all accounts as on any multi-user
// host.
func Enter(e Entry) (int, error) {
	// Refuse unless the caller is root, in both real and effective uid:
	// phpguard is never installed setuid, and the steps below need
	// CAP_SYS_ADMIN.
	if uid, euid := os.Getuid(), os.Geteuid(); uid != 0 || euid != 0 {
		return 1, fmt.Errorf("enter %s: must be run by root (uid %d, euid %d); phpguard is never installed setuid", e.Account, uid, euid)
	}
	if e.UID <= 0 || e.GID <= 0 {
		return 1, fmt.Errorf("enter %s: refuse uid %d, gid %d: an account is never root", e.Account, e.UID, e.GID)
	}
	if !path.IsAbs(e.Root) {
		return 1, fmt.Errorf("enter %s: root %q is not an absolute path", e.Account, e.Root)
	}

	// Start the child in a new mount namespace. Namespaces belong to
	// threads, and a Go program has many, so the namespace is made
	// between fork and exec (unshare(2) with CLONE_NEWNS from os/exec)
	// rather than by unshare on a goroutine.
	cfgR, cfgW, err := os.Pipe()
	if err != nil {
		return 1, fmt.Errorf("enter %s: %w", e.Account, err)
	}
	defer cfgR.Close()
	defer cfgW.Close()
	errR, errW, err := os.Pipe()
	if err != nil {
		return 1, fmt.Errorf("enter %s: %w", e.Account, err)
	}
	defer errR.Close()
	defer errW.Close()
	cmd := &exec.Cmd{
		Path:       "/proc/self/exe",
		Args:       []string{os.Args[0]},
		Env:        []string{enterChildEnv + "=1"},
		Stdin:      e.Stdin,
		Stdout:     e.Stdout,
		Stderr:     e.Stderr,
		ExtraFiles: []*os.File{cfgR, errW},
		SysProcAttr: &syscall.SysProcAttr{
			Unshareflags: unix.CLONE_NEWNS,
			Setsid:       true,
		},
	}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, forwarded...)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return 1, fmt.Errorf("enter %s: start %s: %w", e.Account, cmd.Path, err)
	}
	cfgR.Close()
	errW.Close()

	// Forward the signals sent to phpguard, so that systemd's stop and
	// reload and a terminal's ^C reach the command, which runs in a
	// session of its own.
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case s := <-sigs:
				_ = cmd.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()

	// Pass the entry. A child that died early leaves the write failing
	// with EPIPE; its status and message say why.
	_ = json.NewEncoder(cfgW).Encode(childConfig{
		Account: e.Account, Root: e.Root, UID: e.UID, GID: e.GID,
		Command: e.Command, Term: e.Term, Layout: e.Layout,
	})
	cfgW.Close()

	// Wait: the error pipe reaches EOF when the command starts (exec
	// closes it) or the child exits having written why it failed.
	msg, _ := io.ReadAll(io.LimitReader(errR, 64<<10))
	waitErr := cmd.Wait()
	status := 1
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok {
		switch {
		case ws.Exited():
			status = ws.ExitStatus()
		case ws.Signaled():
			status = 128 + int(ws.Signal())
		}
	} else if waitErr != nil {
		return 1, fmt.Errorf("enter %s: %w", e.Account, waitErr)
	}
	if len(msg) > 0 {
		if status == 0 {
			status = 1
		}
		return status, fmt.Errorf("enter %s: %s", e.Account, msg)
	}
	return status, nil
}

// InitEnter runs the in-namespace part of Enter, and never returns, when
// the process is the child Enter started; otherwise it returns at once. A
// program that calls Enter calls InitEnter first (like runc's init).
func InitEnter() {
	if os.Getenv(enterChildEnv) == "" {
		return
	}
	// Credentials and no_new_privs are set on this thread, which then
	// execs: keep the goroutine on it.
	runtime.LockOSThread()
	status, err := enterChild()
	if err != nil {
		// To Enter; to stderr when this process was not started by it.
		if _, werr := unix.Write(childErrorFD, []byte(err.Error())); werr != nil {
			fmt.Fprintf(os.Stderr, "phpguard: enter: %v\n", err)
		}
	}
	os.Exit(status)
}

// enterChild reads the entry from Enter and runs it. It returns only when
// something failed.
func enterChild() (int, error) {
	for _, fd := range []int{childConfigFD, childErrorFD} {
		unix.CloseOnExec(fd)
	}
	f := os.NewFile(childConfigFD, "config")
	if f == nil {
		return 1, errors.New("no configuration from the parent")
	}
	var c childConfig
	err := json.NewDecoder(io.LimitReader(f, 16<<20)).Decode(&c)
	f.Close()
	if err != nil {
		return 1, fmt.Errorf("read configuration from the parent: %w", err)
	}
	return c.enter()
}

// enter makes the account's root the root of this process, becomes the
// account and execs the command. Each step matters for the next; see the
// comments. It returns only when something failed.
func (c *childConfig) enter() (int, error) {
	// Go on only in a mount namespace of its own. Enter made it
	// (CLONE_NEWNS); a process started with enterChildEnv set by hand
	// would otherwise change the host's mount tree.
	if err := checkOwnMountNS(); err != nil {
		return 1, err
	}

	// Make the whole tree private. On a host with shared propagation
	// (systemd makes / shared: mount_namespaces(7), "Shared subtrees")
	// every mount below would propagate back to the host's namespace,
	// and pivot_root(2) refuses a new root whose parent is shared.
	// os/exec already does this after its unshare; this step does not
	// rely on it.
	if err := mountAt("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return 1, err
	}

	// Check that the account's root is an overlay mount. apply mounts
	// it; entering the bare directory would run the account on its mount
	// point, not on its layers.
	hostRoot, err := openMountedOverlay(c.Root)
	if err != nil {
		return 1, err
	}
	defer unix.Close(hostRoot)

	// Bind the root onto itself and make the bind executable: the
	// host's view is noexec (SPEC 3), and a remount of a bind changes
	// only the flags of that bind (mount(2), "Creating a bind mount").
	// nosuid and nodev stay, so a setuid binary or a device node in a
	// layer gives nothing. The bind is made and remounted through file
	// descriptors, so it lands on the mount just checked.
	root, err := bindExecutable(hostRoot, c.Root)
	if err != nil {
		return 1, err
	}
	defer unix.Close(root)

	// Set up /proc, /dev, /dev/pts … inside, from the layout. Every
	// target is resolved inside the new root without following a
	// symbolic link (openat2(2), RESOLVE_IN_ROOT|RESOLVE_NO_SYMLINKS),
	// then mounted on through its file descriptor: a link planted in a
	// layer or a client layer makes enter fail, never mount elsewhere.
	in := inRoot{fd: root, host: c.Root, account: c.Account}
	for _, m := range c.Layout.Mounts {
		if err := in.mount(m); err != nil {
			return 1, err
		}
	}
	for _, l := range c.Layout.Links {
		if err := in.link(l); err != nil {
			return 1, err
		}
	}

	// pivot_root into it and detach the old root, as runc does:
	// pivot_root(".", ".") stacks the old root on the new one, and
	// umount2(".", MNT_DETACH) removes it, without needing a directory
	// to put it in (pivot_root(2), NOTES). The old root was made
	// private above, so the detach does not reach the host.
	if err := unix.Fchdir(root); err != nil {
		return 1, os.NewSyscallError("fchdir to the new root", err)
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return 1, &os.PathError{Op: "pivot_root", Path: c.Root, Err: err}
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return 1, &MountError{Op: "umount2", Target: "the old root", Flags: unix.MNT_DETACH, Err: err}
	}
	if err := unix.Chdir("/"); err != nil {
		return 1, os.NewSyscallError("chdir /", err)
	}

	// Read the account's passwd entry in its root, by uid, as root (the
	// file may be unreadable to the account), without following a link
	// out of the root or through /proc's magic links.
	pw, err := readPasswd(root, c.UID)
	if err != nil {
		return 1, err
	}
	if pw.Name == "" {
		pw.Name = c.Account
	}

	// Become the account: no supplementary groups, then the gid, then
	// the uid (after which no id can change again); then no_new_privs,
	// so that no execve(2) can raise privileges again.
	if err := unix.Setgroups(nil); err != nil {
		return 1, os.NewSyscallError("setgroups", err)
	}
	if err := unix.Setresgid(c.GID, c.GID, c.GID); err != nil {
		return 1, os.NewSyscallError("setresgid", err)
	}
	if err := unix.Setresuid(c.UID, c.UID, c.UID); err != nil {
		return 1, os.NewSyscallError("setresuid", err)
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return 1, os.NewSyscallError("prctl PR_SET_NO_NEW_PRIVS", err)
	}

	// Build the environment from the passwd entry, and nothing of the
	// caller's but TERM.
	env := []string{
		"HOME=" + pw.Home,
		"USER=" + pw.Name,
		"LOGNAME=" + pw.Name,
		"SHELL=" + pw.Shell,
		"PATH=" + EnterPath,
	}
	if c.Term != "" {
		env = append(env, "TERM="+c.Term)
	}

	// Change to the home directory, as the account, or to / when it
	// cannot (login(1) does the same).
	if err := unix.Chdir(pw.Home); err != nil {
		if err := unix.Chdir("/"); err != nil {
			return 1, os.NewSyscallError("chdir /", err)
		}
	}

	// Close every other file descriptor on exec: phpguard may have
	// inherited some without close-on-exec (from cron, systemd, a
	// wrapper script), and the command must not reach host files
	// through them.
	if err := closeOthersOnExec(); err != nil {
		return 1, err
	}

	// Exec the command, or the account's shell as a login shell ("-sh",
	// as login(1) and su -l start it).
	argv := c.Command
	if len(argv) == 0 {
		argv = []string{"-" + path.Base(pw.Shell)}
		return execCommand(pw.Shell, argv, env)
	}
	return execCommand(argv[0], argv, env)
}

// checkOwnMountNS fails when this process shares its parent's mount
// namespace.
func checkOwnMountNS() error {
	self, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		return err
	}
	parent, err := os.Readlink("/proc/" + strconv.Itoa(os.Getppid()) + "/ns/mnt")
	if err != nil {
		return err
	}
	if self == parent {
		return fmt.Errorf("refuse to run in the parent's mount namespace %s: run phpguard enter, not its child", self)
	}
	return nil
}

// closeOthersOnExec sets close-on-exec on every descriptor above stderr,
// with close_range(2) (Linux 5.11), else one by one from /proc/self/fd.
func closeOthersOnExec() error {
	err := unix.CloseRange(3, math.MaxUint32, unix.CLOSE_RANGE_CLOEXEC)
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.ENOSYS) && !errors.Is(err, unix.EINVAL) {
		return os.NewSyscallError("close_range", err)
	}
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return err
	}
	for _, e := range ents {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			unix.CloseOnExec(fd)
		}
	}
	return nil
}

// openMountedOverlay opens the root of the overlay mounted on root and
// fails with a clear message when root is not the root of a mount, or the
// mount there is not an overlay (read from the mount table by the mount's
// id).
func openMountedOverlay(root string) (int, error) {
	fd, err := openPath(unix.AT_FDCWD, root, unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return -1, fmt.Errorf("open account root: %w", err)
	}
	var st unix.Statx_t
	err = ignoringEINTR(func() error {
		return unix.Statx(fd, "", unix.AT_EMPTY_PATH, unix.STATX_TYPE|unix.STATX_MNT_ID, &st)
	})
	if err != nil {
		unix.Close(fd)
		return -1, &os.PathError{Op: "statx", Path: root, Err: err}
	}
	if !isMountRoot(&st) {
		unix.Close(fd)
		return -1, fmt.Errorf("account root %s is not mounted: run phpguard apply first", root)
	}
	fstype, err := mountFSType(st.Mnt_id)
	if err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("account root %s: %w", root, err)
	}
	if fstype != "overlay" {
		unix.Close(fd)
		return -1, fmt.Errorf("account root %s has a %s filesystem mounted, not an overlay: run phpguard apply first", root, fstype)
	}
	return fd, nil
}

// mountFSType returns the filesystem type of the mount with the given id
// in this process's mount table.
func mountFSType(id uint64) (string, error) {
	ms, err := mountinfo.GetMounts(func(m *mountinfo.Info) (skip, stop bool) {
		match := uint64(m.ID) == id
		return !match, match
	})
	if err != nil {
		return "", fmt.Errorf("read mount table: %w", err)
	}
	if len(ms) == 0 {
		return "", fmt.Errorf("mount %d is not in the mount table", id)
	}
	return ms[0].FSType, nil
}

// bindExecutable binds the mount root hostRoot onto itself and remounts
// the bind with nosuid and nodev but without noexec. It returns the bind's
// root.
func bindExecutable(hostRoot int, root string) (int, error) {
	if err := mountAt(fdPath(hostRoot), fdPath(hostRoot), "", unix.MS_BIND, ""); err != nil {
		return -1, fmt.Errorf("bind account root %s onto itself: %w", root, err)
	}
	// A file descriptor names the mount it was opened on; the bind is
	// stacked on top, so open the path again to reach it.
	fd, err := openMountedOverlay(root)
	if err != nil {
		return -1, err
	}
	const flags = unix.MS_REMOUNT | unix.MS_BIND | unix.MS_NOSUID | unix.MS_NODEV
	if err := mountAt("", fdPath(fd), "", flags, ""); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("make account root %s executable: %w", root, err)
	}
	return fd, nil
}

// resolveInRoot resolves a path inside the new root: absolute paths and
// ".." start from and stay within it, and any symbolic link, magic or
// not, fails with ELOOP (openat2(2)).
const resolveInRoot = unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS

// inRoot is the new root, open, with what names it in messages.
type inRoot struct {
	fd      int
	host    string // its path on the host
	account string
}

// mount makes the mount m inside the root.
func (r inRoot) mount(m Mount) error {
	flags, err := mountFlags(m.Flags)
	if err != nil {
		return err
	}
	isDir := true
	if m.FSType == "bind" {
		st, err := os.Stat(m.Source)
		if err != nil {
			return fmt.Errorf("mount %s on %s: %w", m.Source, m.Target, err)
		}
		isDir = st.IsDir()
	}
	target, err := r.mountPoint(m.Target, isDir)
	if err != nil {
		return err
	}
	defer unix.Close(target)

	if m.FSType != "bind" {
		err := mountAt(m.Source, fdPath(target), m.FSType, flags, m.Data)
		return r.wrap(err, m.Target)
	}
	// The flags of a bind take a second call on the new mount
	// (mount(2), "Creating a bind mount"), which a fresh lookup reaches.
	if err := mountAt(m.Source, fdPath(target), "", unix.MS_BIND, ""); err != nil {
		return r.wrap(err, m.Target)
	}
	again, err := r.open(m.Target, 0)
	if err != nil {
		return err
	}
	defer unix.Close(again)
	err = mountAt("", fdPath(again), "", unix.MS_REMOUNT|unix.MS_BIND|flags, "")
	return r.wrap(err, m.Target)
}

// mountPoint returns an O_PATH descriptor of target inside the root, made
// first (a directory, or an empty file for a bind of a file) when it does
// not exist.
func (r inRoot) mountPoint(target string, isDir bool) (int, error) {
	dir, name := path.Split(path.Clean(target))
	if name == "" {
		return -1, fmt.Errorf("account %s: mount on %q: not a path below the root", r.account, target)
	}
	parent, err := r.open(dir, unix.O_DIRECTORY)
	if err != nil {
		return -1, err
	}
	defer unix.Close(parent)
	// mkdirat(2) and O_CREAT|O_EXCL never follow a final symbolic link:
	// one that is there makes them fail with EEXIST, and the lookup
	// below then refuses it.
	if isDir {
		err = ignoringEINTR(func() error { return unix.Mkdirat(parent, name, 0o755) })
	} else {
		var fd int
		err = ignoringEINTR(func() (err error) {
			fd, err = unix.Openat(parent, name, unix.O_RDONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
			return err
		})
		if err == nil {
			unix.Close(fd)
		}
	}
	if err != nil && !errors.Is(err, unix.EEXIST) {
		return -1, fmt.Errorf("account %s: %w", r.account, &os.PathError{Op: "make mount point", Path: path.Join(r.host, target), Err: err})
	}
	flags := 0
	if isDir {
		flags = unix.O_DIRECTORY
	}
	return r.open(target, flags)
}

// link makes the symbolic link l inside the root.
func (r inRoot) link(l Link) error {
	dir, name := path.Split(path.Clean(l.Path))
	parent, err := r.open(dir, unix.O_DIRECTORY)
	if err != nil {
		return err
	}
	defer unix.Close(parent)
	if err := unix.Symlinkat(l.Target, parent, name); err != nil {
		return fmt.Errorf("account %s: %w", r.account, &os.PathError{Op: "symlink", Path: path.Join(r.host, l.Path), Err: err})
	}
	return nil
}

// open opens unsafePath inside the root with O_PATH, or fails with an
// *UnsafePathError when it is or goes through a symbolic link, or a
// non-directory.
func (r inRoot) open(unsafePath string, flags int) (int, error) {
	fd, err := openPath(r.fd, unsafePath, flags, resolveInRoot)
	if err == nil {
		return fd, nil
	}
	at := path.Join(r.host, unsafePath)
	switch {
	case errors.Is(err, unix.ELOOP):
		return -1, &UnsafePathError{Account: r.account, Path: at, Err: err,
			Reason: "is a symbolic link or lies under one: enter mounts nothing through a link"}
	case errors.Is(err, unix.ENOTDIR):
		return -1, &UnsafePathError{Account: r.account, Path: at, Reason: "is not a directory", Err: err}
	}
	return -1, fmt.Errorf("account %s: %w", r.account, err)
}

// wrap names the mount target inside the root in place of the /proc path
// of its descriptor.
func (r inRoot) wrap(err error, target string) error {
	if err == nil {
		return nil
	}
	var me *MountError
	if errors.As(err, &me) {
		me.Target = path.Join(r.host, target)
	}
	return fmt.Errorf("account %s: %w", r.account, err)
}

// openPath opens name under dirfd with O_PATH|O_CLOEXEC and flags, by
// openat2(2) with resolve.
func openPath(dirfd int, name string, flags int, resolve uint64) (int, error) {
	how := unix.OpenHow{Flags: uint64(unix.O_PATH | unix.O_CLOEXEC | flags), Resolve: resolve}
	var fd int
	err := ignoringEINTR(func() (err error) {
		fd, err = unix.Openat2(dirfd, name, &how)
		return err
	})
	if err != nil {
		return -1, &os.PathError{Op: "openat2", Path: name, Err: err}
	}
	return fd, nil
}

// fdPath is the /proc path of a file descriptor of this process. mount(2)
// given it acts on the very file the descriptor names, the way runc
// mounts on targets it resolved safely.
func fdPath(fd int) string {
	return "/proc/self/fd/" + strconv.Itoa(fd)
}

// mountAt calls mount(2), returning a *MountError.
func mountAt(source, target, fstype string, flags uintptr, data string) error {
	err := ignoringEINTR(func() error { return unix.Mount(source, target, fstype, flags, data) })
	if err != nil {
		return &MountError{Op: "mount", FSType: fstype, Target: target, Flags: flags, Data: data, Err: err}
	}
	return nil
}

// mountFlags turns the flag names of a layout Mount into MS_* flags.
func mountFlags(names []string) (uintptr, error) {
	var flags uintptr
	for _, n := range names {
		switch n {
		case "nosuid":
			flags |= unix.MS_NOSUID
		case "nodev":
			flags |= unix.MS_NODEV
		case "noexec":
			flags |= unix.MS_NOEXEC
		case "ro":
			flags |= unix.MS_RDONLY
		default:
			return 0, fmt.Errorf("unknown mount flag %q in the layout", n)
		}
	}
	return flags, nil
}

// passwdEntry is what Enter uses of a passwd(5) line.
type passwdEntry struct {
	Name, Home, Shell string
}

// maxPasswd is the largest passwd file readPasswd reads.
const maxPasswd = 16 << 20

// readPasswd reads the entry of uid from /etc/passwd inside root. A
// missing file or entry gives HOME=/ and SHELL=/bin/sh, as login(1) would
// fall back; a file that is a link out of the root, or not a regular
// file, is an error.
func readPasswd(root, uid int) (passwdEntry, error) {
	def := passwdEntry{Home: "/", Shell: "/bin/sh"}
	how := unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_NONBLOCK | unix.O_NOCTTY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	}
	var fd int
	err := ignoringEINTR(func() (err error) {
		fd, err = unix.Openat2(root, "/etc/passwd", &how)
		return err
	})
	if errors.Is(err, unix.ENOENT) {
		return def, nil
	}
	if err != nil {
		return def, &os.PathError{Op: "open", Path: "/etc/passwd in the account's root", Err: err}
	}
	f := os.NewFile(uintptr(fd), "/etc/passwd")
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return def, err
	}
	if !st.Mode().IsRegular() {
		return def, fmt.Errorf("read /etc/passwd in the account's root: not a regular file (%v)", st.Mode().Type())
	}
	pw, ok, err := parsePasswd(io.LimitReader(f, maxPasswd), uid)
	if err != nil || !ok {
		return def, err
	}
	if pw.Home == "" {
		pw.Home = def.Home
	}
	if pw.Shell == "" {
		pw.Shell = def.Shell
	}
	return pw, nil
}

// parsePasswd returns the first entry of r, in passwd(5) form, whose uid
// is uid. Malformed lines are skipped, as getpwuid(3) does.
func parsePasswd(r io.Reader, uid int) (passwdEntry, bool, error) {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 0, 4096), 1<<20)
	want := strconv.Itoa(uid)
	for s.Scan() {
		line := s.Bytes()
		if bytes.IndexByte(line, 0) >= 0 {
			continue
		}
		f := strings.Split(string(line), ":")
		if len(f) != 7 || f[2] != want || f[0] == "" {
			continue
		}
		return passwdEntry{Name: f[0], Home: f[5], Shell: f[6]}, true, nil
	}
	if err := s.Err(); err != nil {
		return passwdEntry{}, false, fmt.Errorf("read /etc/passwd in the account's root: %w", err)
	}
	return passwdEntry{}, false, nil
}

// execCommand execs name, looked up in EnterPath when it has no slash as
// execvp(3) does. It returns only on failure, with StatusNotFound or
// StatusCannotRun.
func execCommand(name string, argv, env []string) (int, error) {
	if strings.Contains(name, "/") {
		err := unix.Exec(name, argv, env)
		return execStatus(err), &os.PathError{Op: "exec", Path: name, Err: err}
	}
	var first error
	for _, dir := range strings.Split(EnterPath, ":") {
		err := unix.Exec(dir+"/"+name, argv, env)
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
			continue
		}
		// Like execvp(3): remember EACCES and the like, try the rest.
		if first == nil {
			first = &os.PathError{Op: "exec", Path: dir + "/" + name, Err: err}
		}
	}
	if first == nil {
		return StatusNotFound, fmt.Errorf("exec %s: not found in %s", name, EnterPath)
	}
	return StatusCannotRun, first
}

func execStatus(err error) int {
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
		return StatusNotFound
	}
	return StatusCannotRun
}
