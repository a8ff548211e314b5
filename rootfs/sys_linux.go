package rootfs

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// This file is the package's thin layer over the system calls it makes
// (runc's internal/linux is the model): each helper retries EINTR and
// returns an error that names the operation and the path.

// ignoringEINTR calls fn until it fails with something other than EINTR.
// Calls such as openat2(2) and mount(2) may return EINTR when a signal
// arrives (signal(7), "Interruption of system calls"), and the Go runtime
// sends signals for goroutine preemption.
func ignoringEINTR(fn func() error) error {
	for {
		err := fn()
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// resolveNoFollow is the resolution used for every lookup inside an
// account's tree: never through a symbolic link, never out of the starting
// directory, never through a magic link (openat2(2)).
const resolveNoFollow = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS

// openDirAt opens the directory name under dirfd with openat2(2), for
// reading (so that fchown and fchmod work on it) and without following a
// symbolic link, whatever resolve says. errPath names it in errors.
func openDirAt(dirfd int, name string, resolve uint64, errPath string) (int, error) {
	how := unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC,
		Resolve: resolve,
	}
	var fd int
	err := ignoringEINTR(func() (err error) {
		fd, err = unix.Openat2(dirfd, name, &how)
		return err
	})
	if err != nil {
		return -1, &os.PathError{Op: "openat2", Path: errPath, Err: err}
	}
	return fd, nil
}

// openDir opens a directory of the operator (a layer, the accounts
// directory) by its path, following symbolic links as the operator's own
// paths may.
func openDir(path string) (int, error) {
	var fd int
	err := ignoringEINTR(func() (err error) {
		fd, err = unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		return err
	})
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return fd, nil
}

func mkdirat(dirfd int, name string, mode uint32, errPath string) error {
	err := ignoringEINTR(func() error { return unix.Mkdirat(dirfd, name, mode) })
	if err != nil {
		return &os.PathError{Op: "mkdirat", Path: errPath, Err: err}
	}
	return nil
}

func fchown(fd, uid, gid int, errPath string) error {
	err := ignoringEINTR(func() error { return unix.Fchown(fd, uid, gid) })
	if err != nil {
		return &os.PathError{Op: "fchown", Path: errPath, Err: err}
	}
	return nil
}

func fchmod(fd int, mode uint32, errPath string) error {
	err := ignoringEINTR(func() error { return unix.Fchmod(fd, mode) })
	if err != nil {
		return &os.PathError{Op: "fchmod", Path: errPath, Err: err}
	}
	return nil
}

func fstat(fd int, errPath string) (unix.Stat_t, error) {
	var st unix.Stat_t
	err := ignoringEINTR(func() error { return unix.Fstat(fd, &st) })
	if err != nil {
		return st, &os.PathError{Op: "fstat", Path: errPath, Err: err}
	}
	return st, nil
}

func fstatfs(fd int, errPath string) (unix.Statfs_t, error) {
	var st unix.Statfs_t
	err := ignoringEINTR(func() error { return unix.Fstatfs(fd, &st) })
	if err != nil {
		return st, &os.PathError{Op: "fstatfs", Path: errPath, Err: err}
	}
	return st, nil
}

// statx calls statx(2) on name under dirfd (AT_FDCWD for a path) without
// following a final symbolic link.
func statx(dirfd int, name string, mask int, errPath string) (unix.Statx_t, error) {
	var st unix.Statx_t
	err := ignoringEINTR(func() error {
		return unix.Statx(dirfd, name, unix.AT_SYMLINK_NOFOLLOW|unix.AT_NO_AUTOMOUNT, mask, &st)
	})
	if err != nil {
		return st, &os.PathError{Op: "statx", Path: errPath, Err: err}
	}
	return st, nil
}

// isMountRoot says whether a statx result is the root of a mount
// (STATX_ATTR_MOUNT_ROOT, Linux 5.8).
func isMountRoot(st *unix.Statx_t) bool {
	return st.Attributes_mask&unix.STATX_ATTR_MOUNT_ROOT != 0 && st.Attributes&unix.STATX_ATTR_MOUNT_ROOT != 0
}

// MountError is a failed mount system call. Like runc's mountError it
// prints the filesystem type, the target, the flags by name and the
// options, and, for the new mount API, the messages the filesystem left in
// its context (fsopen(2), "Message retrieval interface").
type MountError struct {
	Op     string // mount, umount2, fsopen, fsconfig, fsconfig FSCONFIG_CMD_CREATE, fsmount or move_mount
	FSType string
	Target string
	Flags  uintptr  // MS_* for mount, MNT_* for umount2, MOUNT_ATTR_* for fsmount
	Data   string   // the option string, or the fsconfig key=value that failed
	Log    []string // the filesystem context's messages, newest last
	Err    error
}

func (e *MountError) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	if e.FSType != "" {
		b.WriteString(" " + e.FSType)
	}
	if e.Target != "" {
		b.WriteString(" on " + e.Target)
	}
	if names := flagNames(e.Op, e.Flags); names != "" {
		b.WriteString(" with flags " + names)
	}
	switch {
	case e.Data == "":
	case e.Op == "fsconfig":
		fmt.Fprintf(&b, " setting %q", e.Data)
	default:
		fmt.Fprintf(&b, " and options %q", e.Data)
	}
	b.WriteString(": " + e.Err.Error())
	if len(e.Log) > 0 {
		b.WriteString(" (kernel: " + strings.Join(e.Log, "; ") + ")")
	}
	return b.String()
}

func (e *MountError) Unwrap() error { return e.Err }

type flagName struct {
	flag uintptr
	name string
}

var (
	msFlags = []flagName{
		{unix.MS_RDONLY, "MS_RDONLY"}, {unix.MS_NOSUID, "MS_NOSUID"},
		{unix.MS_NODEV, "MS_NODEV"}, {unix.MS_NOEXEC, "MS_NOEXEC"},
		{unix.MS_REMOUNT, "MS_REMOUNT"}, {unix.MS_BIND, "MS_BIND"},
		{unix.MS_REC, "MS_REC"}, {unix.MS_PRIVATE, "MS_PRIVATE"},
		{unix.MS_SLAVE, "MS_SLAVE"}, {unix.MS_SHARED, "MS_SHARED"},
	}
	mntFlags = []flagName{
		{unix.MNT_FORCE, "MNT_FORCE"}, {unix.MNT_DETACH, "MNT_DETACH"},
		{unix.MNT_EXPIRE, "MNT_EXPIRE"}, {unix.UMOUNT_NOFOLLOW, "UMOUNT_NOFOLLOW"},
	}
	attrFlags = []flagName{
		{unix.MOUNT_ATTR_RDONLY, "MOUNT_ATTR_RDONLY"}, {unix.MOUNT_ATTR_NOSUID, "MOUNT_ATTR_NOSUID"},
		{unix.MOUNT_ATTR_NODEV, "MOUNT_ATTR_NODEV"}, {unix.MOUNT_ATTR_NOEXEC, "MOUNT_ATTR_NOEXEC"},
	}
)

// flagNames names the flags of op's kind, and shows what is left in hex.
func flagNames(op string, flags uintptr) string {
	var table []flagName
	switch op {
	case "mount":
		table = msFlags
	case "umount2":
		table = mntFlags
	case "fsmount":
		table = attrFlags
	}
	var names []string
	for _, f := range table {
		if flags&f.flag != 0 {
			names = append(names, f.name)
			flags &^= f.flag
		}
	}
	if flags != 0 {
		names = append(names, fmt.Sprintf("%#x", flags))
	}
	return strings.Join(names, "|")
}

// fsLog drains the messages a filesystem left in its fs context. Each
// read(2) returns one message prefixed "e ", "w " or "i "; ENODATA means
// there are no more (fsopen(2)).
func fsLog(fsfd int) []string {
	var msgs []string
	buf := make([]byte, 1024)
	for range 64 {
		n, err := unix.Read(fsfd, buf)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || n <= 0 {
			break
		}
		msgs = append(msgs, strings.TrimSpace(string(buf[:n])))
	}
	return msgs
}
