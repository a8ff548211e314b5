package rootfs

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/moby/sys/mountinfo"
)

// MountState says how the mount on an account's root compares with its
// overlay.
type MountState int

const (
	// MountMissing: nothing is mounted on the root.
	MountMissing MountState = iota
	// MountCorrect: the overlay is mounted with the right stack, upper and
	// work directories, flags and options.
	MountCorrect
	// MountDifferent: something else is mounted there, most often the
	// account's overlay with an older stack.
	MountDifferent
)

func (s MountState) String() string {
	switch s {
	case MountMissing:
		return "missing"
	case MountCorrect:
		return "correct"
	case MountDifferent:
		return "different"
	}
	return fmt.Sprintf("MountState(%d)", int(s))
}

// MountStatus is the state of one account's root.
type MountStatus struct {
	State MountState
	Why   string          // for MountDifferent: the first difference found
	Info  *mountinfo.Info // the top-most mount on the root, nil when missing
}

// OverlayDefaults are what overlayfs uses for an option a mount does not
// give. mountinfo shows redirect_dir and metacopy only where they differ
// from these (ovl_show_options in fs/overlayfs/params.c), so they are
// needed to read a mount's effective options.
type OverlayDefaults struct {
	RedirectDir string // "on", "follow", "nofollow" or "off"
	Metacopy    bool
}

// MountTable is the kernel's mount table, read once and then asked about
// every account.
type MountTable struct {
	byTarget map[string][]*mountinfo.Info // the mounts on each mount point
	defaults OverlayDefaults
}

// NewMountTable indexes mounts (as mountinfo returns them) by mount point.
func NewMountTable(mounts []*mountinfo.Info, d OverlayDefaults) *MountTable {
	t := &MountTable{byTarget: make(map[string][]*mountinfo.Info, len(mounts)), defaults: d}
	for _, m := range mounts {
		t.byTarget[m.Mountpoint] = append(t.byTarget[m.Mountpoint], m)
	}
	return t
}

// State compares the mount on o.Target with o. The paths of o must be
// the real ones (Overlay.Under) and free of symbolic links, because the
// kernel reports mounts by their real paths (see Canonical).
func (t *MountTable) State(o Overlay) MountStatus {
	m := topMount(t.byTarget[path.Clean(o.Target)])
	if m == nil {
		return MountStatus{State: MountMissing}
	}
	if why := t.differs(m, o); why != "" {
		return MountStatus{State: MountDifferent, Why: why, Info: m}
	}
	return MountStatus{State: MountCorrect, Info: m}
}

// topMount returns the mount that is visible at a mount point: the one
// that is not the parent of another mount on the same point.
func topMount(ms []*mountinfo.Info) *mountinfo.Info {
	if len(ms) <= 1 {
		if len(ms) == 1 {
			return ms[0]
		}
		return nil
	}
	for _, m := range ms {
		covered := false
		for _, n := range ms {
			if n.Parent == m.ID && n != m {
				covered = true
			}
		}
		if !covered {
			return m
		}
	}
	return ms[len(ms)-1]
}

// differs returns what differs between mount m and overlay o, or "".
func (t *MountTable) differs(m *mountinfo.Info, o Overlay) string {
	if m.FSType != "overlay" {
		return fmt.Sprintf("a %s filesystem is mounted, not overlay", m.FSType)
	}
	if m.Root != "/" {
		return fmt.Sprintf("a bind mount of overlay directory %s is mounted", m.Root)
	}
	flags := strings.Split(m.Options, ",")
	for _, f := range HostFlags {
		if !slices.Contains(flags, f) {
			return fmt.Sprintf("mounted without %s (has %s)", f, m.Options)
		}
	}

	have := parseOverlayOptions(m.VFSOptions)
	if have.data {
		return "the mount has data-only layers (datadir+)"
	}
	// Relative layer paths are the form MountOverlay uses on mount(2)
	// when the absolute one does not fit a page.
	if dir, _, ok := relativeLower(o.Lower); ok {
		for i, l := range have.lower {
			if !path.IsAbs(l) {
				have.lower[i] = path.Join(dir, l)
			}
		}
	}
	if !slices.Equal(have.lower, o.Lower) {
		return fmt.Sprintf("lowerdir is %s, want %s", strings.Join(have.lower, ":"), strings.Join(o.Lower, ":"))
	}
	// upperdir and workdir show as given: escaped when given as strings,
	// plain when given as file descriptors.
	if have.upper != o.Upper && have.upper != EscapeOption(o.Upper) {
		return fmt.Sprintf("upperdir is %q, want %q", have.upper, o.Upper)
	}
	if have.work != o.Work && have.work != EscapeOption(o.Work) {
		return fmt.Sprintf("workdir is %q, want %q", have.work, o.Work)
	}
	redirect := have.redirect
	if redirect == "" {
		redirect = t.defaults.RedirectDir
	}
	if redirect != "nofollow" {
		return fmt.Sprintf("redirect_dir is %q, want \"nofollow\"", redirect)
	}
	metacopy := t.defaults.Metacopy
	if have.metacopy != "" {
		metacopy = have.metacopy == "on"
	}
	if metacopy {
		return "metacopy is on, want off"
	}
	return ""
}

// overlayOptions are the options of an overlay mount as mountinfo shows
// them, unescaped.
type overlayOptions struct {
	lower       []string
	upper, work string
	redirect    string // "" when not shown
	metacopy    string // "" when not shown
	data        bool   // datadir+ present
}

// parseOverlayOptions reads the super options of an overlay mount. The
// kernel writes each value with seq_show_option, which escapes ',', ' ',
// tab, newline and '\' as octal (\054 …), so splitting at ',' is safe.
// A mount(2) lowerdir= value then keeps the overlayfs escapes it was given
// ('\' before ',', ':' and '\'), while each lowerdir+ value is a plain
// path (measured on 6.18).
func parseOverlayOptions(vfs string) overlayOptions {
	var o overlayOptions
	for _, opt := range strings.Split(vfs, ",") {
		k, v, _ := strings.Cut(opt, "=")
		v = unescapeOctal(v)
		switch k {
		case "lowerdir":
			o.lower = append(o.lower, splitLower(v)...)
		case "lowerdir+":
			o.lower = append(o.lower, v)
		case "datadir+":
			o.data = true
		case "upperdir":
			o.upper = v
		case "workdir":
			o.work = v
		case "redirect_dir":
			o.redirect = v
		case "metacopy":
			o.metacopy = v
		}
	}
	return o
}

// splitLower splits an overlayfs lowerdir list at unescaped ':' and
// removes the escapes (fs/overlayfs/params.c, ovl_parse_param_split_lowerdirs).
func splitLower(s string) []string {
	var out []string
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && i+1 < len(s):
			i++
			b.WriteByte(s[i])
		case c == ':':
			out = append(out, b.String())
			b.Reset()
		default:
			b.WriteByte(c)
		}
	}
	return append(out, b.String())
}

// unescapeOctal turns the \NNN escapes of /proc/self/mountinfo back into
// bytes.
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

// relativeLower returns the longest directory that holds every layer of
// lower and the layers relative to it, or false when there is none below
// "/" (for a single layer, its parent).
func relativeLower(lower []string) (dir string, rel []string, ok bool) {
	if len(lower) == 0 {
		return "", nil, false
	}
	dir = path.Dir(lower[0])
	for _, l := range lower[1:] {
		for dir != "/" && !strings.HasPrefix(l, dir+"/") {
			dir = path.Dir(dir)
		}
	}
	if dir == "/" || dir == "." {
		return "", nil, false
	}
	rel = make([]string, len(lower))
	for i, l := range lower {
		rel[i] = l[len(dir)+1:]
	}
	return dir, rel, true
}
