package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// BUG(rootfs): Remount checks for holders, then unmounts: a process that
// enters the root in between keeps the old, detached mount, whose upper
// directory the new mount then shares. Processes that only hold open
// files keep a detached mount alive the same way (overlayfs warns that
// the upper directory is in use).

// BUG(rootfs): The mount table reports mounts by their real paths, and a
// layer given as a file descriptor by its d_path: give MountTable.State
// and MountOverlay paths without symbolic links (Canonical), or a mounted
// root reads as different.

// MountAPI chooses the system calls MountOverlay uses.
type MountAPI int

const (
	// APIAuto uses the new mount API where the kernel takes lowerdir+
	// (Linux 6.8), and mount(2) otherwise.
	APIAuto MountAPI = iota
	// APINew uses fsopen, fsconfig, fsmount and move_mount, and fails on a
	// kernel without lowerdir+.
	APINew
	// APIOld uses mount(2) with the escaped option string, as on
	// Debian 12's 6.1, whatever the kernel has.
	APIOld
)

func (a MountAPI) String() string {
	switch a {
	case APIAuto:
		return "auto"
	case APINew:
		return "new"
	case APIOld:
		return "old"
	}
	return fmt.Sprintf("MountAPI(%d)", int(a))
}

// MountOptions tune MountOverlay.
type MountOptions struct {
	API MountAPI

	// noLayerFDs makes the new API pass layer paths as strings even where
	// the kernel takes file descriptors, so tests reach the 6.8–6.12 path.
	noLayerFDs bool
}

// MaxFsconfigString is the longest string value fsconfig(2) takes:
// FSCONFIG_SET_STRING copies the value with strndup_user(value, 256), which
// fails with EINVAL past 255 bytes and the NUL (fs/fsopen.c).
const MaxFsconfigString = 255

// MaxMountData is the longest option string mount(2) takes. The kernel
// copies one page of options and overwrites its last byte with a NUL
// (copy_mount_options and path_mount in fs/namespace.c), so a longer
// string is cut silently: measured on 6.18, a cut that falls between two
// layers mounts a shorter stack without any error.
var MaxMountData = os.Getpagesize() - 1

// LimitError reports an overlay whose options do not fit the kernel's
// limits even in the shortest form phpguard can give them.
type LimitError struct {
	Account string
	Limit   string // what is limited: "mount(2) options" or "fsconfig(2) string"
	Max     int    // the limit in bytes
	Size    int    // the size of the shortest form tried
	Detail  string // what was tried
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("account %s: %s: %d bytes is over the %s limit of %d bytes",
		e.Account, e.Detail, e.Size, e.Limit, e.Max)
}

// ErrNoNewMountAPI is returned for APINew on a kernel without lowerdir+.
var ErrNoNewMountAPI = errors.New("kernel lacks the new mount API for overlayfs (lowerdir+, Linux 6.8)")

// ErrMounted is returned by MountOverlay when something is already mounted
// on the target: MountOverlay never stacks a second mount on a root.
var ErrMounted = errors.New("already a mount point")

// hostFlags are HostFlags for mount(2) and fsmount(2).
const (
	hostMountFlags = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC
	hostAttrFlags  = unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC
)

// kernelAPI is what the running kernel's overlayfs takes, probed once.
type kernelAPI struct {
	lowerdirPlus bool // fsconfig "lowerdir+" (Linux 6.8)
	layerFDs     bool // layers given with FSCONFIG_SET_FD (Linux 6.13)
}

var (
	probeOnce sync.Once
	probed    kernelAPI
)

// probeKernelAPI finds out what the kernel takes by trying it on a
// throw-away filesystem context, as containerd's overlayutils probes
// features by using them: no kernel version is compared. An old kernel
// fails fsopen with ENOSYS, or fsconfig with EINVAL for the unknown key
// "lowerdir+" or for a file descriptor where it wants a string.
func probeKernelAPI() kernelAPI {
	probeOnce.Do(func() {
		try := func(set func(fsfd int) error) bool {
			fsfd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
			if err != nil {
				return false
			}
			defer unix.Close(fsfd)
			return set(fsfd) == nil
		}
		probed.lowerdirPlus = try(func(fsfd int) error {
			return unix.FsconfigSetString(fsfd, "lowerdir+", "/")
		})
		if !probed.lowerdirPlus {
			return
		}
		probed.layerFDs = try(func(fsfd int) error {
			fd, err := openDir("/")
			if err != nil {
				return err
			}
			defer unix.Close(fd)
			return unix.FsconfigSetFd(fsfd, "lowerdir+", fd)
		})
	})
	return probed
}

// MountOverlay mounts the overlay o, whose paths are the real ones (see
// Overlay.Under), at o.Target with the host's flags (HostFlags) and the
// fixed options (FixedOptions). The target must be a directory with
// nothing mounted on it (else ErrMounted); the upper, work and target
// directories are opened without following a symbolic link.
//
// With the new API each layer is its own fsconfig(2) call, as a file
// descriptor where the kernel takes one (Linux 6.13), else as a string of
// at most MaxFsconfigString bytes; APIAuto falls back to mount(2) when a
// string is longer. With mount(2), a stack whose options exceed
// MaxMountData is mounted with the layer paths relative to their common
// parent directory. A *LimitError reports a stack that fits neither way.
func MountOverlay(o Overlay, opts MountOptions) error {
	if len(o.Lower) == 0 || o.Upper == "" || o.Work == "" || o.Target == "" {
		return fmt.Errorf("mount overlay of account %s: incomplete overlay description", o.Account)
	}
	api, fds, err := chooseAPI(o, opts, probeKernelAPI())
	if err != nil {
		return err
	}
	if api == APIOld {
		// Check the limits before touching anything.
		if _, _, err := oldAPIData(o); err != nil {
			return err
		}
	}

	target, err := openMountTarget(o.Target)
	if err != nil {
		return fmt.Errorf("mount overlay of account %s: %w", o.Account, err)
	}
	defer unix.Close(target)

	if api == APINew {
		return mountNew(o, fds, target)
	}
	return mountOld(o, target)
}

// chooseAPI returns the API to use on a kernel that takes k and, for the
// new one, whether layers go as file descriptors.
func chooseAPI(o Overlay, opts MountOptions, k kernelAPI) (MountAPI, bool, error) {
	fds := k.layerFDs && !opts.noLayerFDs
	switch opts.API {
	case APIOld:
		return APIOld, false, nil
	case APINew:
		if !k.lowerdirPlus {
			return 0, false, ErrNoNewMountAPI
		}
		if !fds {
			if err := checkStrings(o); err != nil {
				return 0, false, err
			}
		}
		return APINew, fds, nil
	}
	if k.lowerdirPlus && (fds || checkStrings(o) == nil) {
		return APINew, fds, nil
	}
	return APIOld, false, nil
}

// checkStrings checks every path of o against MaxFsconfigString.
func checkStrings(o Overlay) error {
	for _, p := range append(append([]string{}, o.Lower...), EscapeOption(o.Upper), EscapeOption(o.Work)) {
		if len(p) > MaxFsconfigString {
			return &LimitError{Account: o.Account, Limit: "fsconfig(2) string", Max: MaxFsconfigString,
				Size: len(p), Detail: "path " + p}
		}
	}
	return nil
}

// oldAPIData returns the mount(2) option string of o and the directory it
// must be passed from ("" for the current one): the absolute form if it
// fits in a page, else the lower directories relative to their common
// parent.
func oldAPIData(o Overlay) (data, dir string, err error) {
	data = o.Options()
	if len(data) <= MaxMountData {
		return data, "", nil
	}
	size := len(data)
	detail := "overlay options"
	if dir, rel, ok := relativeLower(o.Lower); ok {
		r := o
		r.Lower = rel
		short := r.Options()
		if len(short) <= MaxMountData {
			return short, dir, nil
		}
		size = len(short)
		detail = fmt.Sprintf("overlay options (%d bytes with absolute layer paths) with layer paths relative to %s", len(data), dir)
	}
	return "", "", &LimitError{Account: o.Account, Limit: "mount(2) options", Max: MaxMountData,
		Size: size, Detail: detail}
}

// openMountTarget opens the mount point: its parent (the account's
// directory, root's) as it is, the target itself without following a
// symbolic link, and refuses a target that already is a mount point.
func openMountTarget(target string) (int, error) {
	parent, err := openDir(filepath.Dir(target))
	if err != nil {
		return -1, err
	}
	defer unix.Close(parent)
	name := filepath.Base(target)
	st, err := statx(parent, name, unix.STATX_TYPE, target)
	if err != nil {
		return -1, err
	}
	if isMountRoot(&st) {
		return -1, &os.PathError{Op: "mount", Path: target, Err: ErrMounted}
	}
	return openDirAt(parent, name, resolveNoFollow, target)
}

// mountNew mounts o with fsopen(2), fsconfig(2), fsmount(2) and
// move_mount(2) (Documentation/filesystems/overlayfs.rst, "lowerdir+":
// each call appends a layer below those given before, so the top-most
// comes first, as in o.Lower).
func mountNew(o Overlay, fds bool, target int) error {
	fail := func(op, data string, fsfd int, err error) error {
		e := &MountError{Op: op, FSType: "overlay", Target: o.Target, Data: data, Err: err}
		if fsfd >= 0 {
			e.Log = fsLog(fsfd)
		}
		return fmt.Errorf("mount overlay of account %s: %w", o.Account, e)
	}

	var fsfd int
	err := ignoringEINTR(func() (err error) {
		fsfd, err = unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
		return err
	})
	if err != nil {
		return fail("fsopen", "", -1, err)
	}
	defer unix.Close(fsfd)

	setString := func(key, value string) error {
		err := ignoringEINTR(func() error { return unix.FsconfigSetString(fsfd, key, value) })
		if err != nil {
			return fail("fsconfig", key+"="+value, fsfd, err)
		}
		return nil
	}
	// Layers as descriptors: no length limit, and the upper and work
	// directories are the ones opened without following a link. The
	// kernel records each layer by its d_path, which mountinfo shows.
	// As strings, a lowerdir+ path is taken as it is, but upperdir and
	// workdir are unescaped like mount(2) options (measured on 6.18).
	setDir := func(key, path string, open func(string) (int, error)) error {
		if !fds {
			if key != "lowerdir+" {
				path = EscapeOption(path)
			}
			return setString(key, path)
		}
		fd, err := open(path)
		if err != nil {
			return fmt.Errorf("mount overlay of account %s: %w", o.Account, err)
		}
		defer unix.Close(fd)
		err = ignoringEINTR(func() error { return unix.FsconfigSetFd(fsfd, key, fd) })
		if err != nil {
			return fail("fsconfig", key+"="+path, fsfd, err)
		}
		return nil
	}

	// "source" is what mountinfo shows as the mount source; mount(2)
	// callers pass "overlay" too.
	if err := setString("source", "overlay"); err != nil {
		return err
	}
	for _, l := range o.Lower {
		if err := setDir("lowerdir+", l, openDir); err != nil {
			return err
		}
	}
	if err := setDir("upperdir", o.Upper, openAccountDir); err != nil {
		return err
	}
	if err := setDir("workdir", o.Work, openAccountDir); err != nil {
		return err
	}
	for _, f := range FixedOptions {
		k, v, _ := strings.Cut(f, "=")
		if err := setString(k, v); err != nil {
			return err
		}
	}
	err = ignoringEINTR(func() error { return unix.FsconfigCreate(fsfd) })
	if err != nil {
		return fail("fsconfig FSCONFIG_CMD_CREATE", "", fsfd, err)
	}

	var mfd int
	err = ignoringEINTR(func() (err error) {
		mfd, err = unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, hostAttrFlags)
		return err
	})
	if err != nil {
		e := &MountError{Op: "fsmount", FSType: "overlay", Target: o.Target, Flags: hostAttrFlags, Log: fsLog(fsfd), Err: err}
		return fmt.Errorf("mount overlay of account %s: %w", o.Account, e)
	}
	defer unix.Close(mfd)

	// Attach onto the target opened without following links.
	err = ignoringEINTR(func() error {
		return unix.MoveMount(mfd, "", target, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH)
	})
	if err != nil {
		return fail("move_mount", "", -1, err)
	}
	return nil
}

// openAccountDir opens the upper or work directory: the account's
// directory as it is (root's, mode 0711), the last part without following
// a symbolic link.
func openAccountDir(path string) (int, error) {
	parent, err := openDir(filepath.Dir(path))
	if err != nil {
		return -1, err
	}
	defer unix.Close(parent)
	return openDirAt(parent, filepath.Base(path), resolveNoFollow, path)
}

// mountOld mounts o with mount(2), the target given as the magic link of
// its descriptor so that no link is followed on the way (runc does the
// same).
func mountOld(o Overlay, target int) error {
	data, dir, err := oldAPIData(o)
	if err != nil {
		return err
	}
	path := fmt.Sprintf("/proc/self/fd/%d", target)
	do := func() error {
		err := ignoringEINTR(func() error {
			return unix.Mount("overlay", path, "overlay", hostMountFlags, data)
		})
		if err != nil {
			e := &MountError{Op: "mount", FSType: "overlay", Target: o.Target, Flags: hostMountFlags, Data: data, Err: err}
			return fmt.Errorf("mount overlay of account %s: %w", o.Account, e)
		}
		return nil
	}
	if dir == "" {
		return do()
	}

	dirfd, err := openDir(dir)
	if err != nil {
		return fmt.Errorf("mount overlay of account %s: %w", o.Account, err)
	}
	defer unix.Close(dirfd)
	return inDir(dirfd, do)
}

// inDir runs fn on a thread whose working directory is dirfd, without
// changing the process's: overlayfs resolves relative layer paths from the
// caller's working directory, and chdir(2) in Go would move every
// goroutine. The thread leaves the process's fs_struct with
// unshare(CLONE_FS) (unshare(2)); it stays locked and ends when the
// goroutine returns, because its state cannot be undone for other
// goroutines (runtime.LockOSThread; containerd's mountAt does the same).
func inDir(dirfd int, fn func() error) error {
	ch := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_FS); err != nil {
			ch <- os.NewSyscallError("unshare CLONE_FS", err)
			return
		}
		if err := unix.Fchdir(dirfd); err != nil {
			ch <- os.NewSyscallError("fchdir", err)
			return
		}
		ch <- fn()
	}()
	return <-ch
}

// Unmount detaches whatever is mounted on target (umount2(2) with
// MNT_DETACH, not following a symbolic link): processes that still use it
// keep it until they let go, and nothing in the upper directory is
// touched. It fails when nothing is mounted there.
func Unmount(target string) error {
	const flags = unix.MNT_DETACH | unix.UMOUNT_NOFOLLOW
	err := ignoringEINTR(func() error { return unix.Unmount(target, flags) })
	if err != nil {
		return &MountError{Op: "umount2", Target: target, Flags: flags, Err: err}
	}
	return nil
}

// isMounted says whether target is the root of a mount.
func isMounted(target string) (bool, error) {
	st, err := statx(unix.AT_FDCWD, target, unix.STATX_TYPE, target)
	if err != nil {
		return false, err
	}
	return isMountRoot(&st), nil
}

// HeldError reports a mount that Remount leaves alone because processes
// hold it.
type HeldError struct {
	Target  string
	Holders []Holder
}

func (e *HeldError) Error() string {
	parts := make([]string, len(e.Holders))
	for i, h := range e.Holders {
		parts[i] = h.String()
	}
	return fmt.Sprintf("remount %s: held by %s", e.Target, strings.Join(parts, ", "))
}

// Remount replaces the mount on o.Target with o, only when no process
// holds the old one as its root or working directory, in any mount
// namespace (else a *HeldError naming them): a process left on the old
// stack would share the upper directory with the new mount, which
// overlayfs leaves undefined. The old mount is detached (Unmount), then o
// is mounted; if that fails the root stays unmounted and the error says
// why. A process that enters between the check and the unmount keeps the
// old, detached mount.
func Remount(o Overlay, opts MountOptions) error {
	holders, err := Holders(o.Target)
	if err != nil {
		return fmt.Errorf("remount %s: %w", o.Target, err)
	}
	if len(holders) > 0 {
		return &HeldError{Target: o.Target, Holders: holders}
	}
	mounted, err := isMounted(o.Target)
	if err != nil {
		return fmt.Errorf("remount %s: %w", o.Target, err)
	}
	if mounted {
		if err := Unmount(o.Target); err != nil {
			return fmt.Errorf("remount %s: %w", o.Target, err)
		}
	}
	return MountOverlay(o, opts)
}
