package apply

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

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

// readState reads the file at real. A missing file is a fileState with
// exists false; anything but a regular file is a *NotRegularError. The
// file is opened with O_NOFOLLOW and checked again on the descriptor, so
// a link swapped in after the Lstat is not read through.
func readState(real string) (fileState, error) {
	fi, err := os.Lstat(real)
	if errors.Is(err, fs.ErrNotExist) {
		return fileState{}, nil
	}
	if err != nil {
		return fileState{}, err
	}
	if !fi.Mode().IsRegular() {
		return fileState{}, &NotRegularError{Path: real, Type: typeName(fi.Mode())}
	}
	f, err := os.OpenFile(real, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if err != nil {
		return fileState{}, fmt.Errorf("read %s: %w", real, err)
	}
	defer f.Close()
	fi, err = f.Stat()
	if err != nil {
		return fileState{}, err
	}
	if !fi.Mode().IsRegular() {
		return fileState{}, &NotRegularError{Path: real, Type: typeName(fi.Mode())}
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize))
	if err != nil {
		return fileState{}, fmt.Errorf("read %s: %w", real, err)
	}
	st := fileState{exists: true, data: data, mode: fi.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)}
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		st.uid, st.gid = int(sys.Uid), int(sys.Gid)
	}
	return st, nil
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

func typeName(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "symbolic link"
	case m.IsDir():
		return "directory"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	}
	return "special file"
}

// writeAtomic replaces the file at real with data, mode and owner: it
// writes a temporary file in the same directory, sets its mode and owner
// on the descriptor, fsyncs it, renames it over real and fsyncs the
// directory, so that a reader (Apache reloading, a crash) sees the old
// file or the new one, never half of one (rename(2): "If newpath already
// exists, it will be atomically replaced"). It refuses a target that
// exists and is not a regular file: rename would replace a symbolic link
// or an empty directory without a word.
func writeAtomic(real string, data []byte, mode fs.FileMode, uid, gid int) error {
	st, err := stageFile(real, data, mode, uid, gid, true)
	if err != nil {
		return err
	}
	if err := st.commit(); err != nil {
		return err
	}
	return syncDir(filepath.Dir(real))
}

// staged is a temporary file holding a target's new content.
type staged struct {
	tmp, real string
}

// stageFile writes data into a new temporary file beside real, with mode
// and owner, and fsyncs it when sync is set. The caller that does not
// sync must make the data durable before commit (syncfs(2)), or a crash
// could leave an empty file in place of the old one.
func stageFile(real string, data []byte, mode fs.FileMode, uid, gid int, sync bool) (_ *staged, err error) {
	if err := checkReplaceable(real); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(real), tempPrefix+"*")
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", real, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return nil, fmt.Errorf("write %s: %w", real, err)
	}
	// fchown before fchmod: chown(2) clears the setuid and setgid bits.
	// Without root the file stays the caller's (tests as a user).
	if err := tmp.Chown(uid, gid); err != nil && !(errors.Is(err, fs.ErrPermission) && os.Geteuid() != 0) {
		return nil, fmt.Errorf("write %s: %w", real, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		return nil, fmt.Errorf("write %s: %w", real, err)
	}
	if sync {
		if err := tmp.Sync(); err != nil {
			return nil, fmt.Errorf("write %s: %w", real, err)
		}
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("write %s: %w", real, err)
	}
	return &staged{tmp: tmp.Name(), real: real}, nil
}

// commit renames the temporary file over the target, checking again
// that the target is a regular file or missing.
func (st *staged) commit() error {
	if err := checkReplaceable(st.real); err != nil {
		st.discard()
		return err
	}
	if err := os.Rename(st.tmp, st.real); err != nil {
		st.discard()
		return fmt.Errorf("write %s: %w", st.real, err)
	}
	return nil
}

// discard removes the temporary file.
func (st *staged) discard() { os.Remove(st.tmp) }

// checkReplaceable refuses a target that exists and is not a regular
// file.
func checkReplaceable(real string) error {
	fi, err := os.Lstat(real)
	if err == nil && !fi.Mode().IsRegular() {
		return &NotRegularError{Path: real, Type: typeName(fi.Mode())}
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// syncFilesystems makes everything written on the filesystems holding
// dirs durable, with one syncfs(2) per filesystem instead of an fsync per
// file and directory: a first apply on a large server writes thousands.
func syncFilesystems(dirs []string) error {
	seen := make(map[uint64]bool)
	for _, dir := range dirs {
		d, err := os.Open(dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("sync %s: %w", dir, err)
		}
		var st unix.Stat_t
		if err := unix.Fstat(int(d.Fd()), &st); err != nil {
			d.Close()
			return fmt.Errorf("sync %s: %w", dir, err)
		}
		if !seen[st.Dev] {
			seen[st.Dev] = true
			if err := unix.Syncfs(int(d.Fd())); err != nil {
				d.Close()
				return fmt.Errorf("sync the filesystem of %s: %w", dir, err)
			}
		}
		d.Close()
	}
	return nil
}

// syncDir fsyncs a directory, which makes a rename or unlink in it
// durable (fsync(2): "Calling fsync() does not necessarily ensure that
// the entry in the directory containing the file has also reached disk").
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// removeFile removes the regular file at real, refusing anything else.
// The caller makes the removal durable (syncFilesystems).
func removeFile(real string) error {
	fi, err := os.Lstat(real)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return &NotRegularError{Path: real, Type: typeName(fi.Mode())}
	}
	return os.Remove(real)
}

// makeDir makes the directory real, root's with dirMode whatever the
// umask. The caller makes it durable (syncFilesystems).
func makeDir(real string) error {
	if err := os.Mkdir(real, dirMode); err != nil {
		return err
	}
	return os.Chmod(real, dirMode)
}

// removeTemps removes the temporary files an interrupted run left in
// dir and returns their names.
func removeTemps(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ENOTDIR) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), tempPrefix) || !e.Type().IsRegular() {
			continue
		}
		name := filepath.Join(dir, e.Name())
		if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return removed, err
		}
		removed = append(removed, name)
	}
	return removed, nil
}
