package rootfs

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Holder is a process whose root or working directory lies on a mount.
type Holder struct {
	PID   int
	Comm  string // the process's name, from /proc/PID/comm
	Which string // "root" or "cwd"
}

func (h Holder) String() string {
	return fmt.Sprintf("pid %d (%s) as %s", h.PID, h.Comm, h.Which)
}

// Holders returns the processes whose root or working directory (of any
// of their threads) lies on the filesystem mounted at target, in any mount
// namespace, sorted by PID. Nothing mounted at target means no holders.
//
// A process in another mount namespace holds a copy of the mount, not the
// mount itself, so mount IDs do not match; but every copy shares the
// overlay's superblock, and with it the device number that stat(2) shows
// for its directories. So Holders compares the st_dev of
// /proc/PID/task/TID/root and cwd, followed as the magic links they are
// (proc(5)), with the target's. It does not look at open files: a process
// that only has a file open keeps a detached mount alive, which is safe.
func Holders(target string) ([]Holder, error) {
	st, err := statx(unix.AT_FDCWD, target, unix.STATX_TYPE, target)
	if err != nil {
		return nil, fmt.Errorf("find holders of %s: %w", target, err)
	}
	if !isMountRoot(&st) {
		return nil, nil
	}
	dev := unix.Mkdev(st.Dev_major, st.Dev_minor)

	procs, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("find holders of %s: %w", target, err)
	}
	var out []Holder
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		for _, which := range procHolds(pid, dev) {
			out = append(out, Holder{PID: pid, Comm: comm(pid), Which: which})
		}
	}
	slices.SortFunc(out, func(a, b Holder) int {
		if a.PID != b.PID {
			return a.PID - b.PID
		}
		return strings.Compare(a.Which, b.Which)
	})
	return out, nil
}

// procHolds returns "root" and/or "cwd" when a thread of pid has them on
// the device dev. Threads may differ: one that called unshare(CLONE_FS)
// has its own root and working directory. A process that ends meanwhile
// is skipped.
func procHolds(pid int, dev uint64) []string {
	dir := "/proc/" + strconv.Itoa(pid) + "/task"
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var root, cwd bool
	for _, t := range tasks {
		for _, which := range []string{"root", "cwd"} {
			var st unix.Stat_t
			err := ignoringEINTR(func() error { return unix.Stat(dir+"/"+t.Name()+"/"+which, &st) })
			if err != nil || st.Dev != dev {
				continue
			}
			if which == "root" {
				root = true
			} else {
				cwd = true
			}
		}
	}
	var out []string
	if root {
		out = append(out, "root")
	}
	if cwd {
		out = append(out, "cwd")
	}
	return out
}

func comm(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(b))
}
