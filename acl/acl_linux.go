package acl

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/pkg/xattr"
	"golang.org/x/sys/unix"
)

// Read returns the access ACL of the open file f, or the minimal ACL of
// its mode bits when it carries none, as getfacl shows it. f must be
// opened for reading or writing: xattr calls refuse O_PATH handles.
func Read(f *os.File) (ACL, error) {
	var st unix.Stat_t
	if err := fstat(int(f.Fd()), &st); err != nil {
		return nil, &os.PathError{Op: "fstat", Path: f.Name(), Err: err}
	}
	return read(f, st.Mode)
}

// read is Read for a file whose st_mode the caller already has.
func read(f *os.File, mode uint32) (ACL, error) {
	b, err := xattr.FGet(f, AccessXattr)
	switch {
	case errors.Is(err, unix.ENODATA):
		// No attribute: the mode bits are the whole ACL. The kernel
		// removes the attribute itself when an ACL it is given is
		// equivalent to a mode (posix_acl_update_mode).
		return FromMode(mode), nil
	case errors.Is(err, unix.EOPNOTSUPP):
		// A file system without ACLs: getfacl shows the mode bits too.
		return FromMode(mode), nil
	case err != nil:
		return nil, err
	}
	a, err := Decode(b)
	if err != nil {
		return nil, fmt.Errorf("read ACL of %s: %w", f.Name(), err)
	}
	return a, nil
}

// Apply sets the access ACL of the open file f to a, unless f carries
// it already, and reports whether it wrote. Setting an ACL also sets the
// group bits of st_mode to its mask (or to the owning group's entry when
// there is no mask); the kernel does that in the same call, and turns a
// minimal ACL into mode bits instead of an attribute.
func Apply(f *os.File, a ACL) (bool, error) {
	if err := a.Valid(); err != nil {
		return false, fmt.Errorf("apply ACL to %s: %w", f.Name(), err)
	}
	cur, err := Read(f)
	if err != nil {
		return false, err
	}
	if cur.Equal(a) {
		return false, nil
	}
	if err := xattr.FSet(f, AccessXattr, a.Encode()); err != nil {
		return false, err
	}
	return true, nil
}

// DenyTarget is one path to deny: Path resolved inside Tree.
type DenyTarget struct {
	// Tree is the directory the path resolves in: the host's root ("/",
	// or the --root directory) or a layer directory. It is trusted and
	// opened as given.
	Tree string
	// Path is the absolute path inside Tree, such as /usr/bin/rm. It is
	// resolved inside Tree only: symbolic links in it, absolute or not,
	// and ".." never lead out of Tree.
	Path string
}

// Status is what Deny found or did at one target.
type Status int

// The outcomes of Deny. The zero Status goes with a non-nil Result.Err.
const (
	Changed   Status = iota + 1 // the entry was written (or, in a dry run, would be)
	Unchanged                   // the entry was there already; nothing was written
	Absent                      // the path does not exist in the tree
)

// String returns the status in lower case: "changed", "unchanged",
// "absent", or "failed" for the zero Status.
func (s Status) String() string {
	switch s {
	case Changed:
		return "changed"
	case Unchanged:
		return "unchanged"
	case Absent:
		return "absent"
	case 0:
		return "failed"
	}
	return "Status(" + strconv.Itoa(int(s)) + ")"
}

// Result is the outcome of Deny at one target.
type Result struct {
	Target DenyTarget
	Status Status
	// Before and After are the file's ACL as found and as Deny leaves it
	// (or, in a dry run, would leave it); nil when the path is absent or
	// on error.
	Before, After ACL
	Err           error
}

// Deny gives uid the entry user:UID:--- in the access ACL of every
// target's file, keeping every other entry and recomputing the mask as
// setfacl -m does. A file whose entry is --- already is left as it is,
// even when its mask differs from what setfacl would compute (after a
// chmod, say). A symbolic link is followed inside its tree, and the
// entry lands on the regular file it leads to. A target whose path does
// not exist in its tree is Absent, not an error. A file that is not a
// regular file, is owned by uid (its owner entry, not the named one,
// would apply), or carries an ACL that does not decode is an error.
// Errors are per target and do not stop the others. With dryRun, Deny
// reports what it would change and writes nothing. A file that already
// carries the entry gets no write at all, so a second run leaves every
// ctime alone.
func Deny(targets []DenyTarget, uid uint32, dryRun bool) []Result {
	results := make([]Result, len(targets))
	fds, err := openProcFds()
	if err != nil {
		for i, target := range targets {
			results[i] = Result{Target: target, Err: fmt.Errorf("deny %s in %s: %w", target.Path, target.Tree, err)}
		}
		return results
	}
	defer unix.Close(fds)
	trees := make(map[string]tree)
	defer func() {
		for _, t := range trees {
			if t.err == nil {
				unix.Close(t.fd)
			}
		}
	}()

	for i, target := range targets {
		r := &results[i]
		r.Target = target
		t, ok := trees[target.Tree]
		if !ok {
			t = openTree(target.Tree)
			trees[target.Tree] = t
		}
		if t.err != nil {
			r.Err = fmt.Errorf("deny %s in %s: %w", target.Path, target.Tree, t.err)
			continue
		}
		r.Status, r.Before, r.After, r.Err = deny(fds, t.fd, target.Path, uid, dryRun)
		if r.Err != nil {
			r.Status = 0
			r.Err = fmt.Errorf("deny %s in %s: %w", target.Path, target.Tree, r.Err)
		}
	}
	return results
}

// tree is an O_PATH handle on a tree's root, or why there is none.
type tree struct {
	fd  int
	err error
}

// openTree opens the root of a tree. The tree's own path comes from the
// policy and the operator, so it is followed like any trusted path.
func openTree(dir string) tree {
	fd, err := retryEINTR(func() (int, error) {
		return unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	})
	if err != nil {
		return tree{err: &os.PathError{Op: "open tree", Path: dir, Err: err}}
	}
	return tree{fd: fd}
}

// deny does Deny's work at one path inside the tree rootFd; fds is a
// handle on /proc/self/fd.
func deny(fds, rootFd int, unsafePath string, uid uint32, dryRun bool) (Status, ACL, ACL, error) {
	if unsafePath == "" {
		return 0, nil, nil, errors.New("empty path")
	}

	// Resolve the path inside the tree, to an O_PATH handle that opens
	// nothing: a device node or FIFO put there in place of a binary is
	// never opened for real.
	pathFd, err := openInRoot(rootFd, unsafePath)
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
		return Absent, nil, nil, nil
	}
	if err != nil {
		return 0, nil, nil, err
	}
	defer unix.Close(pathFd)

	// Check what it is before opening it.
	var st unix.Stat_t
	if err := fstat(pathFd, &st); err != nil {
		return 0, nil, nil, os.NewSyscallError("fstat", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return 0, nil, nil, fmt.Errorf("not a regular file (mode %#o)", st.Mode)
	}
	if st.Uid == uid {
		return 0, nil, nil, fmt.Errorf("owned by uid %d, whom the user:: entry governs, not a named entry", uid)
	}

	// Reopen the very inode for reading, for the xattr calls.
	f, err := reopen(fds, pathFd, &st)
	if err != nil {
		return 0, nil, nil, err
	}
	defer f.Close()

	// Read, change, and write only when different.
	before, err := read(f, st.Mode)
	if err != nil {
		return 0, nil, nil, err
	}
	// An entry that is --- already is left alone, mask and all: a
	// chmod of the group bits since the last run changed the mask, not
	// the entry, and recomputing the mask now would undo that chmod on
	// every run without denying anything more.
	if p, ok := before.Get(User, uid); ok && p == PermNone {
		return Unchanged, before, before, nil
	}
	after := before.SetUser(uid, PermNone)
	if dryRun {
		return Changed, before, after, nil
	}
	if err := xattr.FSet(f, AccessXattr, after.Encode()); err != nil {
		return 0, nil, nil, err
	}
	return Changed, before, after, nil
}

// openInRoot opens unsafePath as an O_PATH handle, resolved inside the
// directory rootFd as if it were the root: absolute symbolic links and
// ".." stay inside it (openat2(2), RESOLVE_IN_ROOT, Linux 5.6). Magic
// links such as /proc/self/root are refused, since they lead anywhere.
func openInRoot(rootFd int, unsafePath string) (int, error) {
	how := unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	}
	for range 64 {
		fd, err := unix.Openat2(rootFd, unsafePath, &how)
		switch err {
		case nil:
			return fd, nil
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			// A rename anywhere on the system raced with a ".."
			// in the path; the kernel asks to try again rather
			// than risk an escape (openat2(2), EAGAIN).
			continue
		}
		return -1, os.NewSyscallError("openat2", err)
	}
	return -1, os.NewSyscallError("openat2", unix.EAGAIN)
}

// openProcFds opens /proc/self/fd, through which reopen turns O_PATH
// handles into readable files, and checks that it is the kernel's
// procfs: anything else mounted there could hand back another file.
// One handle, checked once, serves a whole Deny.
//
// TODO(acl): on Linux 6.13 and later, getxattrat(2) and setxattrat(2)
// take the O_PATH handle itself (AT_EMPTY_PATH), which would spare the
// reopen, about a third of the cost of a run with nothing to change;
// keep this path for older kernels such as Debian 12's 6.1.
func openProcFds() (int, error) {
	fd, err := retryEINTR(func() (int, error) {
		return unix.Open("/proc/self/fd", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	})
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: "/proc/self/fd", Err: err}
	}
	var fs unix.Statfs_t
	if _, err := retryEINTR(func() (int, error) { return 0, unix.Fstatfs(fd, &fs) }); err != nil {
		unix.Close(fd)
		return -1, &os.PathError{Op: "fstatfs", Path: "/proc/self/fd", Err: err}
	}
	if fs.Type != unix.PROC_SUPER_MAGIC {
		unix.Close(fd)
		return -1, fmt.Errorf("/proc/self/fd is not on procfs (file system type %#x)", fs.Type)
	}
	return fd, nil
}

// reopen opens the inode behind an O_PATH handle for reading, through
// its entry in /proc/self/fd (the handle fds), and checks that it got
// the same inode. Opening that magic link reopens the very file the
// handle holds, without resolving any path again (proc(5),
// /proc/pid/fd).
func reopen(fds, pathFd int, want *unix.Stat_t) (*os.File, error) {
	name := strconv.Itoa(pathFd)
	fd, err := retryEINTR(func() (int, error) {
		return unix.Openat(fds, name, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	})
	if err != nil {
		return nil, &os.PathError{Op: "reopen", Path: "/proc/self/fd/" + name, Err: err}
	}
	f := os.NewFile(uintptr(fd), "/proc/self/fd/"+name)
	var st unix.Stat_t
	if err := fstat(fd, &st); err != nil {
		f.Close()
		return nil, os.NewSyscallError("fstat", err)
	}
	if st.Dev != want.Dev || st.Ino != want.Ino {
		f.Close()
		return nil, fmt.Errorf("reopen /proc/self/fd/%s: got another inode", name)
	}
	return f, nil
}

// fstat is unix.Fstat, retried on EINTR.
func fstat(fd int, st *unix.Stat_t) error {
	_, err := retryEINTR(func() (int, error) { return 0, unix.Fstat(fd, st) })
	return err
}

// retryEINTR calls fn until it fails with something other than EINTR,
// which network and FUSE file systems can return (signal(7)).
func retryEINTR(fn func() (int, error)) (int, error) {
	for {
		n, err := fn()
		if err != unix.EINTR {
			return n, err
		}
	}
}
