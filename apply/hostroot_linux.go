package apply

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// hostRoot is the directory that stands for the host's / (--root R, or /
// itself). Every path of a generated file, of its parent directories and
// of the record and lock is resolved through it, never as a plain path.
//
// Under --root each lookup is an openat2(2) from an O_PATH descriptor of R
// with RESOLVE_IN_ROOT: an absolute symbolic link, or a ".." that climbs
// above R, resolves inside R, as it would for a process chrooted into R,
// so no write lands outside R whatever links R holds (a link at
// R/etc/apache2/phpguard/site1 to /srv/x names R/srv/x). Magic links
// (/proc/self/root and the like) are refused: they lead anywhere.
// Without --root the lookups are plain openat2 from /, which resolve as
// open(2) always did.
//
// Every change is then made relative to the parent directory's
// descriptor (mkdirat, openat of the temporary file, renameat, unlinkat),
// with O_NOFOLLOW or AT_SYMLINK_NOFOLLOW on the last component.
type hostRoot struct {
	dir     string // R, "" for the host itself: for messages
	fd      int    // O_PATH of R, or of /
	resolve uint64
}

// openHostRoot opens root ("" or "/" for the host itself).
func openHostRoot(root string) (*hostRoot, error) {
	r := &hostRoot{dir: root}
	if root == "/" {
		r.dir = ""
	}
	name := "/"
	if r.dir != "" {
		name = r.dir
		r.resolve = unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS
	}
	fd, err := openat2(unix.AT_FDCWD, name, unix.O_PATH|unix.O_DIRECTORY, 0, 0)
	if err != nil {
		return nil, fmt.Errorf("open root %s: %w", name, err)
	}
	r.fd = fd
	return r, nil
}

func (r *hostRoot) close() { unix.Close(r.fd) }

// real returns the path under R of the host path p, for messages.
func (r *hostRoot) real(p string) string { return under(r.dir, p) }

// open opens the host path p inside the root with flags (O_CLOEXEC is
// added) and mode.
func (r *hostRoot) open(p string, flags int, mode uint32) (int, error) {
	fd, err := openat2(r.fd, relative(p), flags, mode, r.resolve)
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: r.real(p), Err: err}
	}
	return fd, nil
}

// openDir opens the directory at the host path p for reading, following
// symbolic links inside the root.
func (r *hostRoot) openDir(p string) (int, error) {
	return r.open(p, unix.O_RDONLY|unix.O_DIRECTORY, 0)
}

// openParent opens the directory holding the host path p and returns it
// with p's last component.
func (r *hostRoot) openParent(p string) (int, string, error) {
	fd, err := r.openDir(path.Dir(p))
	if err != nil {
		return -1, "", err
	}
	return fd, path.Base(p), nil
}

// stat returns the file at the host path p, following symbolic links
// inside the root.
func (r *hostRoot) stat(p string) (unix.Stat_t, error) {
	return r.fstatPath(p, 0)
}

// lstat returns the file at the host path p itself, a symbolic link as
// one.
func (r *hostRoot) lstat(p string) (unix.Stat_t, error) {
	return r.fstatPath(p, unix.O_NOFOLLOW)
}

func (r *hostRoot) fstatPath(p string, flags int) (unix.Stat_t, error) {
	var st unix.Stat_t
	fd, err := r.open(p, unix.O_PATH|flags, 0)
	if err != nil {
		return st, err
	}
	defer unix.Close(fd)
	if err := unix.Fstat(fd, &st); err != nil {
		return st, &os.PathError{Op: "fstat", Path: r.real(p), Err: err}
	}
	return st, nil
}

// mkdirAll makes the directory at the host path p and its missing
// parents, root's with dirMode. A symbolic link on the way is followed
// inside the root; one that leads nowhere is an error, as mkdir -p in a
// chroot would find.
func (r *hostRoot) mkdirAll(p string) error {
	st, err := r.stat(p)
	if err == nil {
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			return &os.PathError{Op: "mkdir", Path: r.real(p), Err: unix.ENOTDIR}
		}
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) || p == "/" {
		return err
	}
	if err := r.mkdirAll(path.Dir(p)); err != nil {
		return err
	}
	if err := r.makeDir(p); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return nil
}

// makeDir makes the directory at the host path p, root's with dirMode
// whatever the umask. An existing entry is an error satisfying
// errors.Is(err, fs.ErrExist). The caller makes it durable.
func (r *hostRoot) makeDir(p string) error {
	dirfd, base, err := r.openParent(p)
	if err != nil {
		return err
	}
	defer unix.Close(dirfd)
	if err := ignoringEINTR(func() error { return unix.Mkdirat(dirfd, base, dirMode) }); err != nil {
		return &os.PathError{Op: "mkdir", Path: r.real(p), Err: err}
	}
	fd, err := openat2(dirfd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: r.real(p), Err: err}
	}
	defer unix.Close(fd)
	if err := unix.Fchmod(fd, dirMode); err != nil {
		return &os.PathError{Op: "chmod", Path: r.real(p), Err: err}
	}
	return nil
}

// removeDir removes the empty directory at the host path p (rmdir(2)
// refuses one that is not empty).
func (r *hostRoot) removeDir(p string) error {
	dirfd, base, err := r.openParent(p)
	if err != nil {
		return err
	}
	defer unix.Close(dirfd)
	if err := ignoringEINTR(func() error { return unix.Unlinkat(dirfd, base, unix.AT_REMOVEDIR) }); err != nil {
		return &os.PathError{Op: "rmdir", Path: r.real(p), Err: err}
	}
	return nil
}

// readDir returns the names in the directory at the host path p.
func (r *hostRoot) readDir(p string) ([]fs.DirEntry, error) {
	fd, err := r.openDir(p)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), r.real(p))
	defer f.Close()
	return f.ReadDir(-1)
}

// createTemp makes a new temporary file in the directory dirfd (host
// path dir), for writing, mode 0600, and returns it with its name.
// O_EXCL|O_NOFOLLOW: a name that exists, a link among them, is never
// opened; another name is tried.
func (r *hostRoot) createTemp(dirfd int, dir string) (*os.File, string, error) {
	for range 100 {
		var b [8]byte
		rand.Read(b[:])
		name := tempPrefix + hex.EncodeToString(b[:])
		fd, err := openat2(dirfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW, 0o600, 0)
		if errors.Is(err, unix.EEXIST) {
			continue
		}
		if err != nil {
			return nil, "", &os.PathError{Op: "open", Path: r.real(path.Join(dir, name)), Err: err}
		}
		return os.NewFile(uintptr(fd), r.real(path.Join(dir, name))), name, nil
	}
	return nil, "", &os.PathError{Op: "open", Path: r.real(path.Join(dir, tempPrefix+"*")), Err: unix.EEXIST}
}

// relative turns the host path p into a path for openat2 from the root's
// descriptor.
func relative(p string) string {
	p = strings.TrimLeft(p, "/")
	if p == "" {
		return "."
	}
	return p
}

// openat2 is openat2(2) with O_CLOEXEC, retried on EINTR, and on EAGAIN,
// which RESOLVE_IN_ROOT returns when a rename anywhere on the system
// raced with a ".." of the path: the kernel asks to try again rather than
// risk an escape (openat2(2), ERRORS).
func openat2(dirfd int, name string, flags int, mode uint32, resolve uint64) (int, error) {
	how := unix.OpenHow{Flags: uint64(flags | unix.O_CLOEXEC), Mode: uint64(mode), Resolve: resolve}
	var err error
	for range 64 {
		var fd int
		fd, err = unix.Openat2(dirfd, name, &how)
		if err != unix.EINTR && err != unix.EAGAIN {
			return fd, err
		}
	}
	return -1, err
}

// ignoringEINTR retries fn while it fails with EINTR.
func ignoringEINTR(fn func() error) error {
	for {
		err := fn()
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}
