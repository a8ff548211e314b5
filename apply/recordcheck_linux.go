package apply

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/sys/unix"

	"github.com/phpguard/phpguard/emit"
)

// The record is trusted no further than these checks go; the package
// documentation ("What apply writes outside the account trees") says
// which, and why removal is not limited to the directories the current
// policy writes to.

// devIno identifies a directory.
type devIno struct{ dev, ino uint64 }

// recordGuard holds the accounts and layers directories as found inside
// the root, by identity, for checkRecordedFile and checkRecordedDir.
type recordGuard struct {
	root devIno            // the root itself: a walk up stops there
	dirs map[devIno]string // what each protected directory is, for messages
}

// newRecordGuard looks up the accounts and layers directories. One that
// is missing holds nothing to protect.
func (e *engine) newRecordGuard() *recordGuard {
	g := &recordGuard{dirs: make(map[devIno]string)}
	var st unix.Stat_t
	if err := unix.Fstat(e.r.fd, &st); err == nil {
		g.root = devIno{st.Dev, st.Ino}
	}
	for _, d := range e.protectedDirs() {
		if st, err := e.r.stat(d.path); err == nil && isDir(&st) {
			g.dirs[devIno{st.Dev, st.Ino}] = d.what
		}
	}
	return g
}

// protectedDir is a directory no recorded path may lie in.
type protectedDir struct {
	what string // "the accounts directory /home/virtual"
	path string
}

// protectedDirs returns the accounts and the layers directory.
func (e *engine) protectedDirs() []protectedDir {
	accounts := path.Clean(e.p.Server.Paths.Accounts)
	layers := path.Clean(e.p.Server.Paths.Layers)
	return []protectedDir{
		{"the accounts directory " + accounts, accounts},
		{"the layers directory " + layers, layers},
	}
}

// unsafeRecordedPath says why the recorded unsafePath may not be removed by
// its spelling alone ("is not an absolute, clean path", "lies in the
// accounts directory /home/virtual"), or "".
func (e *engine) unsafeRecordedPath(unsafePath string) string {
	if !path.IsAbs(unsafePath) || path.Clean(unsafePath) != unsafePath || unsafePath == "/" {
		return "is not an absolute, clean path"
	}
	for _, d := range e.protectedDirs() {
		if unsafePath == d.path || strings.HasPrefix(unsafePath, d.path+"/") || d.path == "/" {
			return "lies in " + d.what
		}
	}
	return ""
}

// checkRecordedFile decides about the recorded file p that the policy no
// longer generates. It returns the file as read, whether p stays in the
// record and whether the file is to be removed.
func (e *engine) checkRecordedFile(g *recordGuard, p string) (st fileState, keep, remove bool) {
	drop := func(why string) (fileState, bool, bool) {
		e.warn("recorded file %s %s: left in place and dropped from the record", shownPath(p), why)
		return fileState{}, false, false
	}
	if why := e.unsafeRecordedPath(p); why != "" {
		return drop(why)
	}
	st, err := readState(e.r, p)
	var nr *NotRegularError
	switch {
	case errors.As(err, &nr):
		return drop("is a " + nr.Type + ", not a regular file")
	case err != nil:
		e.res.Errors = append(e.res.Errors, err)
		return fileState{}, true, false
	case !st.exists:
		return fileState{}, true, false // gone: the record narrows itself
	case !generated(st.data):
		return drop("does not start with phpguard's header")
	}
	dirfd, _, err := e.r.openParent(p)
	if err != nil {
		e.res.Errors = append(e.res.Errors, fmt.Errorf("check recorded file %s: %w", e.r.real(p), err))
		return fileState{}, true, false
	}
	defer unix.Close(dirfd)
	what, err := g.within(dirfd)
	if err != nil {
		e.res.Errors = append(e.res.Errors, fmt.Errorf("check recorded file %s: %w", e.r.real(p), err))
		return fileState{}, true, false
	}
	if what != "" {
		return drop("lies in " + what + " through a symbolic link")
	}
	return st, true, true
}

// checkRecordedDir says whether the recorded directory d may be removed
// when empty; when not, it warns and d leaves the record.
func (e *engine) checkRecordedDir(g *recordGuard, d string) bool {
	drop := func(why string) bool {
		e.warn("recorded directory %s %s: left in place and dropped from the record", shownPath(d), why)
		return false
	}
	if why := e.unsafeRecordedPath(d); why != "" {
		return drop(why)
	}
	fd, err := e.r.openDir(d)
	if err != nil {
		return true // missing, or not a directory: nothing to remove, and the record narrows itself
	}
	defer unix.Close(fd)
	what, err := g.within(fd)
	if err != nil {
		e.res.Errors = append(e.res.Errors, fmt.Errorf("check recorded directory %s: %w", e.r.real(d), err))
		return true
	}
	if what != "" {
		return drop("lies in " + what + " through a symbolic link")
	}
	return true
}

// within walks up from the directory fd through ".." (which crosses
// mount points as path lookup does, path_resolution(7)) to the root, and
// returns what protected directory it passes, or "".
func (g *recordGuard) within(fd int) (string, error) {
	cur := fd
	defer func() {
		if cur != fd {
			unix.Close(cur)
		}
	}()
	var prev devIno
	for i := 0; i < 4096; i++ {
		var st unix.Stat_t
		if err := unix.Fstat(cur, &st); err != nil {
			return "", &fs.PathError{Op: "fstat", Path: "..", Err: err}
		}
		id := devIno{st.Dev, st.Ino}
		if what, ok := g.dirs[id]; ok {
			return what, nil
		}
		if id == g.root || (i > 0 && id == prev) {
			return "", nil // the root, or the real / whose ".." is itself
		}
		prev = id
		parent, err := openat2(cur, "..", unix.O_PATH|unix.O_DIRECTORY, 0, 0)
		if err != nil {
			return "", &fs.PathError{Op: "open", Path: "..", Err: err}
		}
		if cur != fd {
			unix.Close(cur)
		}
		cur = parent
	}
	return "", errors.New("directory more than 4096 levels deep")
}

// generated says whether data starts with the first line of a file
// phpguard generates: emit.Header after "# " (Apache) or "; " (PHP).
func generated(data []byte) bool {
	line, _, ok := bytes.Cut(data, []byte("\n"))
	return ok && (string(line) == "# "+emit.Header || string(line) == "; "+emit.Header)
}

// shownPath quotes a recorded path that is not plain text, or not
// absolute and clean, so that a warning shows it as it is.
func shownPath(p string) string {
	if !path.IsAbs(p) || path.Clean(p) != p || strings.ContainsFunc(p, func(r rune) bool { return !unicode.IsPrint(r) }) {
		return strconv.Quote(p)
	}
	return p
}
