package rootfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/phpguard/phpguard/policy"
)

// The owners and modes of an account's tree (SPEC 7). All are root's: the
// account cannot rename its upper directory's top, so it cannot replace
// /proc, /dev or /tmp in its root, nor reach the work directory.
const (
	accountDirMode = 0o711 // <accounts>/NAME: others may pass, not list
	upperMode      = 0o755 // the top of the account's root
	workMode       = 0o700 // overlayfs's scratch space
	rootMode       = 0o755 // the mount point
	parentMode     = 0o755 // directories made on the way to a skeleton entry or docroot
	docrootMode    = 0o755 // a new docroot; an existing one keeps the account's mode
)

// AccountSpec is what EnsureAccount makes of one account's tree.
type AccountSpec struct {
	Name     string
	UID, GID int
	Dirs     AccountDirs            // host paths as DirsOf gives them, without --root
	Skeleton []policy.SkeletonEntry // made in the client layer
	Docroots []string               // paths inside the account's root
}

// Change is one change to the host, made or (in a dry run) to be made.
type Change struct {
	Kind    string // "dir"
	Path    string // the host path, without --root
	Action  string // "create" or "update"
	Account string
	Detail  string // for an update: what changed, e.g. "mode 0700 -> 0755"
}

// UnsafePathError reports a path in an account's tree that phpguard
// refuses to act on: a symbolic link, something other than a directory, or
// a mount point on the way. Nothing was changed through it.
type UnsafePathError struct {
	Account string
	Path    string // the real path (under --root)
	Reason  string // "is a symbolic link", "is not a directory", …
	Err     error
}

func (e *UnsafePathError) Error() string {
	return fmt.Sprintf("account %s: %s %s", e.Account, e.Path, e.Reason)
}

func (e *UnsafePathError) Unwrap() error { return e.Err }

// fix says which attributes of an existing directory are enforced.
type fix int

const (
	fixNone  fix = iota // kept as found: a parent on the way
	fixOwner            // the owner: a docroot
	fixAll              // owner and mode: the account's directories, the skeleton
)

type want struct {
	uid, gid int
	mode     uint32 // for a new directory, and for an existing one with fixAll
	fix      fix
}

// EnsureAccount makes the tree of one account: <accounts>/NAME (root,
// 0711) holding upper (root, 0755), work (root, 0700) and root (the mount
// point, root, 0755), then each skeleton entry with its mode and owner,
// then each docroot, owned by the account (mode 0755 when made; an
// existing docroot keeps its mode). Directories made on the way are
// root's, mode 0755, so the account cannot rename them. root is the
// --root directory ("/" or "" for the host itself); the accounts directory
// is made if missing. With dryRun nothing changes and the Changes say what
// would.
//
// Every lookup inside the account's directory is an openat2(2) of one
// component with RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS
// (and RESOLVE_NO_XDEV inside the tree), and every change is made on the
// descriptor it returned (fchown, fchmod), so a symbolic link the account
// planted makes EnsureAccount fail with an *UnsafePathError rather than
// act on what the link names. The whole tree is checked first (a dry
// run), so such a link found there means no change at all.
//
// If the root is mounted, skeleton entries and docroots are made through
// the mounted root, never in upper behind the live mount, which overlayfs
// leaves undefined (Documentation/filesystems/overlayfs.rst, "Changes to
// underlying filesystems"); the top of upper gets its owner and mode
// through the mount too. Through the mount a symbolic link of a lower
// layer on the way (such as /var/run) is refused like a planted one.
func EnsureAccount(root string, spec AccountSpec, dryRun bool) ([]Change, error) {
	if err := checkSpec(spec); err != nil {
		return nil, err
	}
	check := &treeOp{root: root, spec: spec, dry: true}
	if err := check.run(); err != nil || dryRun {
		if err != nil {
			return nil, err
		}
		return check.changes, nil
	}
	op := &treeOp{root: root, spec: spec}
	err := op.run()
	return op.changes, err
}

func checkSpec(spec AccountSpec) error {
	if spec.Name == "" || strings.ContainsAny(spec.Name, "/\x00") || spec.Name == "." || spec.Name == ".." {
		return fmt.Errorf("ensure account tree: bad account name %q", spec.Name)
	}
	if spec.UID <= 0 || spec.GID <= 0 {
		return fmt.Errorf("ensure account tree of %s: uid and gid must be positive", spec.Name)
	}
	if path.Base(spec.Dirs.Dir) != spec.Name {
		return fmt.Errorf("ensure account tree of %s: directory %s is not named after the account", spec.Name, spec.Dirs.Dir)
	}
	return nil
}

// treeOp is one pass over an account's tree.
type treeOp struct {
	root    string
	spec    AccountSpec
	dry     bool
	changes []Change
	planned map[string]bool // in a dry run: directories already reported as made
}

// loc is a directory by its host path (for Changes) and its real path
// (for errors).
type loc struct{ host, real string }

func (l loc) join(name string) loc {
	return loc{path.Join(l.host, name), path.Join(l.real, name)}
}

func (op *treeOp) run() error {
	d := op.spec.Dirs
	accounts := loc{path.Dir(d.Dir), Under(op.root, path.Dir(d.Dir))}

	// The accounts directory is the operator's: open it as it is.
	accFd, err := op.openAccounts(accounts)
	if err != nil {
		return err
	}
	if accFd >= 0 {
		defer unix.Close(accFd)
	}

	// <accounts>/NAME and, beside the mount point, work.
	dir := accounts.join(op.spec.Name)
	dirFd, err := op.ensure(accFd, dir, op.spec.Name, want{0, 0, accountDirMode, fixAll}, resolveNoFollow)
	if err != nil {
		return err
	}
	if dirFd >= 0 {
		defer unix.Close(dirFd)
	}
	mounted, err := op.mounted(dirFd, dir.join("root"))
	if err != nil {
		return err
	}
	upperTop := want{0, 0, upperMode, fixAll}
	if mounted {
		upperTop.fix = fixNone // set through the mount below
	}
	upperFd, err := op.ensure(dirFd, dir.join("upper"), "upper", upperTop, resolveNoFollow)
	if err != nil {
		return err
	}
	if upperFd >= 0 {
		defer unix.Close(upperFd)
	}
	if err := op.ensureClose(dirFd, dir.join("work"), "work", want{0, 0, workMode, fixAll}, resolveNoFollow); err != nil {
		return err
	}

	// The top of the tree: upper itself, or the mounted root.
	top := upperFd
	if mounted {
		rootFd, err := op.openMountedRoot(dirFd, dir.join("root"), dir.join("upper"))
		if err != nil {
			return err
		}
		defer unix.Close(rootFd)
		top = rootFd
	} else if err := op.ensureClose(dirFd, dir.join("root"), "root", want{0, 0, rootMode, fixAll}, resolveNoFollow); err != nil {
		return err
	}

	// The skeleton, then the docroots.
	for _, e := range op.entries() {
		if err := op.walk(top, dir.join("upper"), e.path, e.want); err != nil {
			return err
		}
	}
	return nil
}

// openAccounts opens the accounts directory, making it (root, 0755) if
// missing. It returns -1 in a dry run where it is missing.
func (op *treeOp) openAccounts(accounts loc) (int, error) {
	fd, err := openDir(accounts.real)
	if err == nil || !errors.Is(err, unix.ENOENT) {
		return fd, err
	}
	op.record(accounts, "create", "")
	if op.dry {
		return -1, nil
	}
	if err := os.MkdirAll(accounts.real, parentMode); err != nil {
		return -1, fmt.Errorf("make accounts directory: %w", err)
	}
	return openDir(accounts.real)
}

// mounted says whether something is mounted on the account's root.
func (op *treeOp) mounted(dirFd int, root loc) (bool, error) {
	if dirFd < 0 {
		return false, nil
	}
	st, err := statx(dirFd, "root", unix.STATX_TYPE, root.real)
	if errors.Is(err, unix.ENOENT) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return isMountRoot(&st), nil
}

// openMountedRoot opens the root of the overlay mounted on root, refusing
// anything but an overlay, and gives it the owner and mode of upper's top.
func (op *treeOp) openMountedRoot(dirFd int, root, upper loc) (int, error) {
	// No RESOLVE_NO_XDEV: this lookup is meant to cross into the mount.
	fd, err := openDirAt(dirFd, "root", resolveNoFollow, root.real)
	if err != nil {
		return -1, op.unsafe(dirFd, "root", root, err)
	}
	sfs, err := fstatfs(fd, root.real)
	if err != nil {
		unix.Close(fd)
		return -1, err
	}
	if sfs.Type != unix.OVERLAYFS_SUPER_MAGIC {
		unix.Close(fd)
		return -1, &UnsafePathError{Account: op.spec.Name, Path: root.real,
			Reason: fmt.Sprintf("has a filesystem of type %#x mounted, not overlay", sfs.Type)}
	}
	if err := op.fixExisting(fd, upper, want{0, 0, upperMode, fixAll}); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// entry is a directory to make inside the account's root.
type entry struct {
	path string
	want want
}

// entries lists the skeleton, then the docroots not in it. A docroot
// that is also a skeleton entry keeps the entry's mode and is owned by
// the account.
func (op *treeOp) entries() []entry {
	uid, gid := op.spec.UID, op.spec.GID
	var out []entry
	index := map[string]int{}
	for _, s := range op.spec.Skeleton {
		w := want{0, 0, s.Mode, fixAll}
		if s.Owner == policy.OwnerAccount {
			w.uid, w.gid = uid, gid
		}
		index[path.Clean(s.Path)] = len(out)
		out = append(out, entry{s.Path, w})
	}
	for _, d := range op.spec.Docroots {
		if i, ok := index[path.Clean(d)]; ok {
			out[i].want.uid, out[i].want.gid = uid, gid
			continue
		}
		index[path.Clean(d)] = len(out)
		out = append(out, entry{d, want{uid, gid, docrootMode, fixOwner}})
	}
	return out
}

// walk makes the directory inside (a path inside the account's root)
// under top, one component at a time.
func (op *treeOp) walk(top int, topLoc loc, inside string, final want) error {
	parts := strings.Split(strings.Trim(inside, "/"), "/")
	for _, p := range parts {
		if p == "" || p == "." || p == ".." {
			return fmt.Errorf("account %s: bad path %q inside the root", op.spec.Name, inside)
		}
	}
	fd, at := top, topLoc
	defer func() {
		if fd != top && fd >= 0 {
			unix.Close(fd)
		}
	}()
	for i, p := range parts {
		w := want{0, 0, parentMode, fixNone}
		if i == len(parts)-1 {
			w = final
		}
		at = at.join(p)
		next, err := op.ensure(fd, at, p, w, resolveNoFollow|unix.RESOLVE_NO_XDEV)
		if fd != top && fd >= 0 {
			unix.Close(fd)
		}
		fd = next
		if err != nil {
			return err
		}
	}
	return nil
}

// ensureClose is ensure for a directory nothing is made in.
func (op *treeOp) ensureClose(parent int, at loc, name string, w want, resolve uint64) error {
	fd, err := op.ensure(parent, at, name, w, resolve)
	if fd >= 0 {
		unix.Close(fd)
	}
	return err
}

// ensure makes sure the directory name under parent exists with what w
// enforces, and returns it opened (-1 in a dry run where it does not
// exist yet). parent -1 means the parent is still to be made.
func (op *treeOp) ensure(parent int, at loc, name string, w want, resolve uint64) (int, error) {
	if parent < 0 {
		op.plan(at)
		return -1, nil
	}
	fd, err := openDirAt(parent, name, resolve, at.real)
	if err == nil {
		if err := op.fixExisting(fd, at, w); err != nil {
			unix.Close(fd)
			return -1, err
		}
		return fd, nil
	}
	if !errors.Is(err, unix.ENOENT) {
		return -1, op.unsafe(parent, name, at, err)
	}

	if op.dry {
		op.plan(at)
		return -1, nil
	}
	op.record(at, "create", "")
	// Made 0700 and root's, then given away: never briefly open to others
	// with the wrong owner. EEXIST: made meanwhile, checked on open.
	if err := mkdirat(parent, name, 0o700, at.real); err != nil && !errors.Is(err, unix.EEXIST) {
		return -1, err
	}
	fd, err = openDirAt(parent, name, resolve, at.real)
	if err != nil {
		return -1, op.unsafe(parent, name, at, err)
	}
	if err := fchown(fd, w.uid, w.gid, at.real); err != nil {
		unix.Close(fd)
		return -1, err
	}
	if err := fchmod(fd, w.mode, at.real); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// fixExisting gives the open directory fd what w enforces.
func (op *treeOp) fixExisting(fd int, at loc, w want) error {
	if w.fix == fixNone {
		return nil
	}
	st, err := fstat(fd, at.real)
	if err != nil {
		return err
	}
	var details []string
	chown := int(st.Uid) != w.uid || int(st.Gid) != w.gid
	if chown {
		details = append(details, fmt.Sprintf("owner %d:%d -> %d:%d", st.Uid, st.Gid, w.uid, w.gid))
	}
	chmod := w.fix == fixAll && st.Mode&0o7777 != w.mode
	if chmod {
		details = append(details, fmt.Sprintf("mode %04o -> %04o", st.Mode&0o7777, w.mode))
	}
	if len(details) == 0 {
		return nil
	}
	op.record(at, "update", strings.Join(details, ", "))
	if op.dry {
		return nil
	}
	if chown {
		if err := fchown(fd, w.uid, w.gid, at.real); err != nil {
			return err
		}
	}
	// After fchown: a chown may clear the set-group-ID bit (chown(2)).
	if chmod || (chown && st.Mode&0o7000 != 0) {
		mode := w.mode
		if w.fix != fixAll {
			mode = st.Mode & 0o7777
		}
		if err := fchmod(fd, mode, at.real); err != nil {
			return err
		}
	}
	return nil
}

// plan records, in a dry run, a directory that would be made, once.
func (op *treeOp) plan(at loc) {
	if op.planned == nil {
		op.planned = map[string]bool{}
	}
	if !op.planned[at.real] {
		op.planned[at.real] = true
		op.record(at, "create", "")
	}
}

// unsafe turns a failed lookup of name under parent into an
// *UnsafePathError where it means a link, a non-directory or a mount
// point. O_NOFOLLOW|O_DIRECTORY makes a link fail with ENOTDIR or ELOOP,
// so the type is looked up (without following) to say which.
func (op *treeOp) unsafe(parent int, name string, at loc, err error) error {
	var reason string
	switch {
	case errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR):
		reason = "is not a directory"
		var st unix.Stat_t
		serr := ignoringEINTR(func() error { return unix.Fstatat(parent, name, &st, unix.AT_SYMLINK_NOFOLLOW) })
		if serr == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
			reason = "is a symbolic link"
		}
	case errors.Is(err, unix.EXDEV):
		reason = "is a mount point or crosses one"
	default:
		return fmt.Errorf("account %s: %w", op.spec.Name, err)
	}
	return &UnsafePathError{Account: op.spec.Name, Path: at.real, Reason: reason, Err: err}
}

func (op *treeOp) record(at loc, action, detail string) {
	op.changes = append(op.changes, Change{Kind: "dir", Path: at.host, Action: action, Account: op.spec.Name, Detail: detail})
}

// HostError is a problem of the host that keeps an account from being
// converged, found by CheckAccount before any change.
type HostError struct {
	Account string
	Path    string
	Problem string
}

func (e *HostError) Error() string {
	return fmt.Sprintf("account %s: %s: %s", e.Account, e.Path, e.Problem)
}

// CheckAccount checks, without changing anything, that o (with real
// paths, see Overlay.Under) can be mounted: every layer is a directory;
// the account's directory, upper, work and root are directories where
// they exist (not links, not files); upper lies on a filesystem overlayfs
// takes as an upper layer (not an overlay, not read-only); work lies on
// the same mount as upper; and the options fit the kernel's limits for
// the API opts chooses. It returns every problem found, joined; each is a
// *HostError or a *LimitError.
func CheckAccount(o Overlay, opts MountOptions) error {
	var errs []error
	bad := func(p, problem string, args ...any) {
		errs = append(errs, &HostError{Account: o.Account, Path: p, Problem: fmt.Sprintf(problem, args...)})
	}

	// Layers, which are the operator's: links are fine.
	for i, l := range o.Lower {
		name := l
		if i < len(o.Layers) {
			name = o.Layers[i]
		}
		fi, err := os.Stat(l)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			bad(l, "layer %s is missing", name)
		case err != nil:
			bad(l, "layer %s: %v", name, err)
		case !fi.IsDir():
			bad(l, "layer %s is not a directory", name)
		}
	}

	// The account's directories: each a directory, if it exists.
	for _, p := range []string{filepath.Dir(o.Target), o.Upper, o.Work, o.Target} {
		fi, err := os.Lstat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			bad(p, "%v", err)
		case fi.Mode()&fs.ModeSymlink != 0:
			bad(p, "is a symbolic link, not a directory")
		case !fi.IsDir():
			bad(p, "is a %s, not a directory", typeName(fi.Mode()))
		}
	}

	// Where upper and work are or will be made.
	upperAt, err := existingAncestor(o.Upper)
	if err != nil {
		bad(o.Upper, "%v", err)
	}
	workAt, err := existingAncestor(o.Work)
	if err != nil {
		bad(o.Work, "%v", err)
	}
	if upperAt != "" {
		var sfs unix.Statfs_t
		if err := unix.Statfs(upperAt, &sfs); err != nil {
			bad(o.Upper, "statfs %s: %v", upperAt, err)
		} else if problem := upperProblem(sfs); problem != "" {
			bad(o.Upper, "%s", problem)
		}
	}
	if upperAt != "" && workAt != "" {
		// overlayfs wants both on one mount, not just one filesystem
		// ("workdir and upperdir must reside under the same mount").
		u, uerr := statx(unix.AT_FDCWD, upperAt, unix.STATX_MNT_ID, upperAt)
		w, werr := statx(unix.AT_FDCWD, workAt, unix.STATX_MNT_ID, workAt)
		switch {
		case uerr != nil:
			bad(o.Upper, "%v", uerr)
		case werr != nil:
			bad(o.Work, "%v", werr)
		case u.Mask&unix.STATX_MNT_ID != 0 && w.Mask&unix.STATX_MNT_ID != 0 && u.Mnt_id != w.Mnt_id:
			bad(o.Work, "is on another mount than upper %s; overlayfs needs both on one mount", o.Upper)
		}
	}

	// The limits of the API that will be used.
	if api, _, err := chooseAPI(o, opts, probeKernelAPI()); err != nil {
		errs = append(errs, err)
	} else if api == APIOld {
		if _, _, err := oldAPIData(o); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// upperProblem says why overlayfs would refuse an upper directory on the
// filesystem sfs describes, or "". An overlay is refused outright
// ("filesystem on ... not supported as upperdir": its dentries have
// DCACHE_OP_REAL), a read-only mount too (fs/overlayfs/params.c,
// ovl_mount_dir_check).
func upperProblem(sfs unix.Statfs_t) string {
	switch {
	case sfs.Type == unix.OVERLAYFS_SUPER_MAGIC:
		return "upper is on an overlay filesystem, which overlayfs refuses as an upper layer"
	case sfs.Flags&unix.ST_RDONLY != 0:
		return "upper is on a read-only mount"
	}
	return ""
}

// existingAncestor returns p or its nearest ancestor that exists.
func existingAncestor(p string) (string, error) {
	for {
		_, err := os.Lstat(p)
		if err == nil {
			return p, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		if p == "/" || p == "." {
			return "", err
		}
		p = filepath.Dir(p)
	}
}

func typeName(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "regular file"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	}
	return "non-directory"
}
