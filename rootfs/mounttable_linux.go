package rootfs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/moby/sys/mountinfo"
)

// ReadMountTable reads the mount table of the calling thread's mount
// namespace (/proc/thread-self/mountinfo) and overlayfs's defaults, once:
// ask it about every account with State.
func ReadMountTable() (*MountTable, error) {
	d, err := ReadOverlayDefaults()
	if err != nil {
		return nil, err
	}
	mounts, err := mountinfo.GetMounts(nil)
	if err != nil {
		return nil, fmt.Errorf("read mount table: %w", err)
	}
	return NewMountTable(mounts, d), nil
}

// ParseMountTable reads a mount table in the format of
// /proc/self/mountinfo from r (proc(5)).
func ParseMountTable(r io.Reader, d OverlayDefaults) (*MountTable, error) {
	mounts, err := mountinfo.GetMountsFromReader(r, nil)
	if err != nil {
		return nil, fmt.Errorf("read mount table: %w", err)
	}
	return NewMountTable(mounts, d), nil
}

// overlayParams is where the overlay module shows its defaults.
const overlayParams = "/sys/module/overlay/parameters/"

// ReadOverlayDefaults reads overlayfs's defaults from its module
// parameters (Documentation/filesystems/overlayfs.rst): the default
// redirect_dir is "on" with redirect_dir=Y, else "follow" with
// redirect_always_follow=Y, else "nofollow". Before the module is loaded
// there are no overlay mounts, and the kernel's built-in defaults are
// returned.
func ReadOverlayDefaults() (OverlayDefaults, error) {
	param := func(name string) (bool, error) {
		b, err := os.ReadFile(overlayParams + name)
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("read overlay defaults: %w", err)
		}
		return bytes.HasPrefix(b, []byte("Y")), nil
	}
	var d OverlayDefaults
	redirect, err := param("redirect_dir")
	if err != nil {
		return d, err
	}
	follow, err := param("redirect_always_follow")
	if err != nil {
		return d, err
	}
	d.Metacopy, err = param("metacopy")
	if err != nil {
		return d, err
	}
	switch {
	case redirect:
		d.RedirectDir = "on"
	case follow:
		d.RedirectDir = "follow"
	default:
		d.RedirectDir = "nofollow"
	}
	return d, nil
}

// Canonical returns o with symbolic links resolved in the paths that are
// the operator's: each layer directory and the directory that holds the
// account's directory. The account's own directories are not resolved
// (they are opened without following links). The kernel reports mounts by
// their real paths, so MountTable.State needs these. Paths that do not
// exist yet are kept as they are.
func Canonical(o Overlay) (Overlay, error) {
	c := o
	c.Lower = make([]string, len(o.Lower))
	for i, l := range o.Lower {
		r, err := realPath(l)
		if err != nil {
			return o, err
		}
		c.Lower[i] = r
	}
	accounts := filepath.Dir(filepath.Dir(o.Target))
	r, err := realPath(accounts)
	if err != nil {
		return o, err
	}
	move := func(p string) string {
		rel, err := filepath.Rel(accounts, p)
		if err != nil {
			return p
		}
		return filepath.Join(r, rel)
	}
	c.Target, c.Upper, c.Work = move(o.Target), move(o.Upper), move(o.Work)
	return c, nil
}

func realPath(p string) (string, error) {
	r, err := filepath.EvalSymlinks(p)
	if errors.Is(err, fs.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", p, err)
	}
	return r, nil
}
