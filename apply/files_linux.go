package apply

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// tempPrefix starts the name of every temporary file apply makes. Apache
// includes *.conf and PHP reads *.ini, so a leftover is never loaded; the
// next Apply removes it.
const tempPrefix = ".phpguard-"

// fileMode is the mode of every generated file (SPEC 7: root, 0644).
const fileMode = 0o644

// dirMode is the mode of the directories apply makes for generated files.
const dirMode = 0o755

// maxFileSize bounds what apply reads of an existing target. A generated
// file is a few KiB; anything larger differs anyway.
const maxFileSize = 16 << 20

// fileState is a file as found on the host.
type fileState struct {
	exists   bool
	data     []byte
	mode     fs.FileMode // permission bits with setuid, setgid and sticky
	uid, gid int
	dev, ino uint64 // which file it was, for a removal
}

// NotRegularError reports a target that apply refuses to replace or
// remove because it is not a regular file (a symbolic link, a directory).
type NotRegularError struct {
	Path string // the real path, under --root
	Type string
}

func (e *NotRegularError) Error() string {
	return fmt.Sprintf("refuse to replace %s: it is a %s, not a regular file", e.Path, e.Type)
}

// readState reads the file at the host path p. A missing file is a
// fileState with exists false; anything but a regular file is a
// *NotRegularError. The file is looked at with O_PATH|O_NOFOLLOW first,
// so that a device or a FIFO is never opened, then opened with
// O_NOFOLLOW and checked again on the descriptor, so that a link swapped
// in between is not read through.
func readState(r *hostRoot, p string) (fileState, error) {
	st, err := r.lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return fileState{}, nil
	}
	if err != nil {
		return fileState{}, err
	}
	if !isRegular(&st) {
		return fileState{}, &NotRegularError{Path: r.real(p), Type: statType(&st)}
	}
	fd, err := r.open(p, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if err != nil {
		return fileState{}, fmt.Errorf("read %s: %w", r.real(p), err)
	}
	f := os.NewFile(uintptr(fd), r.real(p))
	defer f.Close()
	if err := unix.Fstat(fd, &st); err != nil {
		return fileState{}, fmt.Errorf("read %s: %w", r.real(p), err)
	}
	if !isRegular(&st) {
		return fileState{}, &NotRegularError{Path: r.real(p), Type: statType(&st)}
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize))
	if err != nil {
		return fileState{}, fmt.Errorf("read %s: %w", r.real(p), err)
	}
	return fileState{
		exists: true, data: data,
		mode: fs.FileMode(st.Mode&0o777) | goModeBits(st.Mode),
		uid:  int(st.Uid), gid: int(st.Gid),
		dev: st.Dev, ino: st.Ino,
	}, nil
}

// goModeBits turns the setuid, setgid and sticky bits of chmod(2) into
// Go's.
func goModeBits(m uint32) fs.FileMode {
	var out fs.FileMode
	if m&unix.S_ISUID != 0 {
		out |= fs.ModeSetuid
	}
	if m&unix.S_ISGID != 0 {
		out |= fs.ModeSetgid
	}
	if m&unix.S_ISVTX != 0 {
		out |= fs.ModeSticky
	}
	return out
}

func isRegular(st *unix.Stat_t) bool { return st.Mode&unix.S_IFMT == unix.S_IFREG }

func isDir(st *unix.Stat_t) bool { return st.Mode&unix.S_IFMT == unix.S_IFDIR }

// statType names the type of a file: "symbolic link", "directory", …
func statType(st *unix.Stat_t) string {
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFLNK:
		return "symbolic link"
	case unix.S_IFDIR:
		return "directory"
	case unix.S_IFIFO:
		return "named pipe"
	case unix.S_IFSOCK:
		return "socket"
	case unix.S_IFBLK, unix.S_IFCHR:
		return "device"
	}
	return "special file"
}

// wants reports whether the file holds data with the owner and mode of a
// generated file.
func (s fileState) wants(data []byte) bool {
	return s.exists && bytes.Equal(s.data, data) && s.mode == fileMode && s.uid == 0 && s.gid == 0
}

// detail says what differs besides the content, such as "mode 0600 ->
// 0644, owner 1000:1000 -> 0:0", or "".
func (s fileState) detail() string {
	if !s.exists {
		return ""
	}
	var parts []string
	if s.mode != fileMode {
		parts = append(parts, fmt.Sprintf("mode %04o -> %04o", unixMode(s.mode), fileMode))
	}
	if s.uid != 0 || s.gid != 0 {
		parts = append(parts, fmt.Sprintf("owner %d:%d -> 0:0", s.uid, s.gid))
	}
	return strings.Join(parts, ", ")
}

// unixMode turns Go's mode bits into the octal ones of chmod(2).
func unixMode(m fs.FileMode) uint32 {
	u := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		u |= unix.S_ISUID
	}
	if m&fs.ModeSetgid != 0 {
		u |= unix.S_ISGID
	}
	if m&fs.ModeSticky != 0 {
		u |= unix.S_ISVTX
	}
	return u
}

// writeAtomic replaces the file at the host path p with data, mode and
// owner: it writes a temporary file in the same directory, sets its mode
// and owner on the descriptor, fsyncs it, renames it over p and fsyncs
// the directory, so that a reader (Apache reloading, a crash) sees the
// old file or the new one, never half of one (rename(2): "If newpath
// already exists, it will be atomically replaced"). It refuses a target
// that exists and is not a regular file: rename would replace a symbolic
// link or an empty directory without a word.
func writeAtomic(r *hostRoot, p string, data []byte, mode fs.FileMode, uid, gid int) error {
	st, err := stageFile(r, p, data, mode, uid, gid, true)
	if err != nil {
		return err
	}
	if err := st.commit(); err != nil {
		return err
	}
	return syncDir(r, path.Dir(p))
}

// staged is a temporary file holding a target's new content.
type staged struct {
	r   *hostRoot
	p   string // the target's host path
	tmp string // the temporary file's name in p's directory
}

// stageFile writes data into a new temporary file beside the host path
// p, with mode and owner, and fsyncs it when sync is set. The caller that
// does not sync must make the data durable before commit (syncfs(2)), or
// a crash could leave an empty file in place of the old one.
func stageFile(r *hostRoot, p string, data []byte, mode fs.FileMode, uid, gid int, sync bool) (_ *staged, err error) {
	dirfd, base, err := r.openParent(p)
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", r.real(p), err)
	}
	defer unix.Close(dirfd)
	if err := checkReplaceable(r, dirfd, base, p); err != nil {
		return nil, err
	}
	tmp, name, err := r.createTemp(dirfd, path.Dir(p))
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", r.real(p), err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			unix.Unlinkat(dirfd, name, 0)
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return nil, fmt.Errorf("write %s: %w", r.real(p), err)
	}
	// fchown before fchmod: chown(2) clears the setuid and setgid bits.
	// Without root the file stays the caller's (tests as a user).
	if err := tmp.Chown(uid, gid); err != nil && !(errors.Is(err, fs.ErrPermission) && os.Geteuid() != 0) {
		return nil, fmt.Errorf("write %s: %w", r.real(p), err)
	}
	if err := tmp.Chmod(mode); err != nil {
		return nil, fmt.Errorf("write %s: %w", r.real(p), err)
	}
	if sync {
		if err := tmp.Sync(); err != nil {
			return nil, fmt.Errorf("write %s: %w", r.real(p), err)
		}
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("write %s: %w", r.real(p), err)
	}
	return &staged{r: r, p: p, tmp: name}, nil
}

// commit renames the temporary file over the target, checking again
// that the target is a regular file or missing. The directory is looked
// up again rather than kept open: a first apply on a large server stages
// thousands of files, more than the descriptors a process may hold.
func (st *staged) commit() error {
	dirfd, base, err := st.r.openParent(st.p)
	if err != nil {
		return fmt.Errorf("write %s: %w", st.r.real(st.p), err)
	}
	defer unix.Close(dirfd)
	if err := checkReplaceable(st.r, dirfd, base, st.p); err != nil {
		unix.Unlinkat(dirfd, st.tmp, 0)
		return err
	}
	if err := ignoringEINTR(func() error { return unix.Renameat(dirfd, st.tmp, dirfd, base) }); err != nil {
		unix.Unlinkat(dirfd, st.tmp, 0)
		return fmt.Errorf("write %s: %w", st.r.real(st.p), err)
	}
	return nil
}

// discard removes the temporary file.
func (st *staged) discard() {
	if dirfd, _, err := st.r.openParent(st.p); err == nil {
		unix.Unlinkat(dirfd, st.tmp, 0)
		unix.Close(dirfd)
	}
}

// checkReplaceable refuses a target (name in the directory dirfd, host
// path p) that exists and is not a regular file.
func checkReplaceable(r *hostRoot, dirfd int, name, p string) error {
	var st unix.Stat_t
	err := ignoringEINTR(func() error { return unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) })
	if err == nil && !isRegular(&st) {
		return &NotRegularError{Path: r.real(p), Type: statType(&st)}
	}
	if err != nil && !errors.Is(err, unix.ENOENT) {
		return &os.PathError{Op: "fstatat", Path: r.real(p), Err: err}
	}
	return nil
}

// syncFilesystems makes everything written on the filesystems holding
// the host directories dirs durable, with one syncfs(2) per filesystem
// instead of an fsync per file and directory: a first apply on a large
// server writes thousands.
func syncFilesystems(r *hostRoot, dirs []string) error {
	seen := make(map[uint64]bool)
	done := make(map[string]bool)
	for _, dir := range dirs {
		if done[dir] {
			continue
		}
		done[dir] = true
		fd, err := r.openDir(dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("sync %s: %w", r.real(dir), err)
		}
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			unix.Close(fd)
			return fmt.Errorf("sync %s: %w", r.real(dir), err)
		}
		if !seen[st.Dev] {
			seen[st.Dev] = true
			if err := unix.Syncfs(fd); err != nil {
				unix.Close(fd)
				return fmt.Errorf("sync the filesystem of %s: %w", r.real(dir), err)
			}
		}
		unix.Close(fd)
	}
	return nil
}

// syncDir fsyncs a directory, which makes a rename or unlink in it
// durable (fsync(2): "Calling fsync() does not necessarily ensure that
// the entry in the directory containing the file has also reached disk").
func syncDir(r *hostRoot, dir string) error {
	fd, err := r.openDir(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", r.real(dir), err)
	}
	defer unix.Close(fd)
	if err := ignoringEINTR(func() error { return unix.Fsync(fd) }); err != nil {
		return fmt.Errorf("sync %s: %w", r.real(dir), err)
	}
	return nil
}

// removeFile removes the regular file at the host path p, refusing
// anything else. When was is a file read before, it also refuses a file
// that is not that one any more (another inode), since what was checked
// is what gets removed. The caller makes the removal durable
// (syncFilesystems).
func removeFile(r *hostRoot, p string, was *fileState) error {
	dirfd, base, err := r.openParent(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer unix.Close(dirfd)
	var st unix.Stat_t
	err = ignoringEINTR(func() error { return unix.Fstatat(dirfd, base, &st, unix.AT_SYMLINK_NOFOLLOW) })
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return &os.PathError{Op: "fstatat", Path: r.real(p), Err: err}
	}
	if !isRegular(&st) {
		return &NotRegularError{Path: r.real(p), Type: statType(&st)}
	}
	if was != nil && was.exists && (st.Dev != was.dev || st.Ino != was.ino) {
		return fmt.Errorf("%s was replaced since it was read: left alone", r.real(p))
	}
	if err := ignoringEINTR(func() error { return unix.Unlinkat(dirfd, base, 0) }); err != nil {
		return &os.PathError{Op: "unlink", Path: r.real(p), Err: err}
	}
	return nil
}

// removeTemps removes the temporary files an interrupted run left in the
// host directory dir and returns their real paths.
func removeTemps(r *hostRoot, dir string) ([]string, error) {
	fd, err := r.openDir(dir)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ENOTDIR) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), r.real(dir))
	defer f.Close()
	entries, err := f.ReadDir(-1)
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), tempPrefix) || !e.Type().IsRegular() {
			continue
		}
		name := e.Name()
		if err := ignoringEINTR(func() error { return unix.Unlinkat(fd, name, 0) }); err != nil && !errors.Is(err, unix.ENOENT) {
			return removed, &os.PathError{Op: "unlink", Path: r.real(path.Join(dir, name)), Err: err}
		}
		removed = append(removed, r.real(path.Join(dir, name)))
	}
	return removed, nil
}
