package rootfs

import "strings"

// Mount is one mount made inside a root when a process enters it. Target
// is a path inside the root. FSType "bind" means a bind mount of Source,
// a path of the host.
type Mount struct {
	Source string
	Target string
	FSType string
	Flags  []string // mount flags by name: nosuid, nodev, noexec, ro
	Data   string   // filesystem options
}

// Link is a symbolic link made inside a root, after the mounts.
type Link struct {
	Path   string // inside the root
	Target string // the link's content
}

// Layout is what a process entering a root needs besides the root itself:
// the mounts, in order, and the links made after them. The account's /tmp
// is not in it: it stays the client layer's own.
type Layout struct {
	Mounts []Mount
	Links  []Link
}

// DefaultLayout returns the layout made inside every root.
//
// /proc is a new instance with hidepid=invisible: the account sees its own
// processes (its cron jobs and daemons, each entered on its own) and no
// other account's. /dev is a small tmpfs holding binds of the harmless
// character devices only, so no disk or other device of the host appears
// in a root; /dev/pts is a new devpts instance so that ptys of the host
// and of other accounts are not visible.
func DefaultLayout() Layout {
	dev := func(name string) Mount {
		return Mount{Source: "/dev/" + name, Target: "/dev/" + name, FSType: "bind", Flags: []string{"nosuid", "noexec"}}
	}
	return Layout{
		Mounts: []Mount{
			{Source: "proc", Target: "/proc", FSType: "proc", Flags: []string{"nosuid", "nodev", "noexec"}, Data: "hidepid=invisible"},
			{Source: "tmpfs", Target: "/dev", FSType: "tmpfs", Flags: []string{"nosuid", "noexec"}, Data: "mode=0755,size=64k"},
			dev("null"), dev("zero"), dev("full"), dev("random"), dev("urandom"), dev("tty"),
			{Source: "devpts", Target: "/dev/pts", FSType: "devpts", Flags: []string{"nosuid", "noexec"}, Data: "newinstance,ptmxmode=0666,mode=0620"},
			{Source: "tmpfs", Target: "/dev/shm", FSType: "tmpfs", Flags: []string{"nosuid", "nodev", "noexec"}, Data: "mode=1777,size=64m"},
		},
		Links: []Link{
			{Path: "/dev/ptmx", Target: "pts/ptmx"},
			{Path: "/dev/fd", Target: "/proc/self/fd"},
			{Path: "/dev/stdin", Target: "/proc/self/fd/0"},
			{Path: "/dev/stdout", Target: "/proc/self/fd/1"},
			{Path: "/dev/stderr", Target: "/proc/self/fd/2"},
		},
	}
}

// String renders the layout in an fstab-like form, one mount or link a
// line, for review.
func (l Layout) String() string {
	var b strings.Builder
	for _, m := range l.Mounts {
		opts := strings.Join(m.Flags, ",")
		if m.FSType == "bind" {
			opts = "bind," + opts
		}
		if m.Data != "" {
			opts += "," + m.Data
		}
		b.WriteString(fstabEscape(m.Source) + " " + fstabEscape(m.Target) + " " + m.FSType + " " + fstabEscape(opts) + "\n")
	}
	for _, k := range l.Links {
		b.WriteString("symlink " + fstabEscape(k.Path) + " -> " + fstabEscape(k.Target) + "\n")
	}
	return b.String()
}
