package rootfs

import (
	"path"
	"strings"

	"github.com/phpguard/phpguard/policy"
)

// HostFlags are the mount flags of the host's view of every root, by name.
// nosuid and nodev: no local user runs a layer's setuid binary or opens a
// device node through the host view. noexec: a binary an account drops into
// its client layer does not run from the host (enter makes its own copy
// executable inside its namespace).
var HostFlags = []string{"nosuid", "nodev", "noexec"}

// Overlay describes the overlay mount of one account's root.
type Overlay struct {
	Account string
	Target  string   // <accounts>/NAME/root
	Lower   []string // layer directories, top-most first (overlayfs order)
	Layers  []string // layer names, the same order as Lower
	Upper   string   // <accounts>/NAME/upper
	Work    string   // <accounts>/NAME/work
}

// AccountDirs are the directories of one account's tree on the host.
type AccountDirs struct {
	Dir, Upper, Work, Root string
}

// DirsOf returns the paths of an account's tree under the accounts directory.
func DirsOf(accounts, name string) AccountDirs {
	dir := path.Join(accounts, name)
	return AccountDirs{
		Dir:   dir,
		Upper: path.Join(dir, "upper"),
		Work:  path.Join(dir, "work"),
		Root:  path.Join(dir, "root"),
	}
}

// OverlayOf returns the overlay of an account of a validated policy.
func OverlayOf(p *policy.Policy, a *policy.Account) (Overlay, error) {
	names, err := Stack(p.Server.Layers, a.Services)
	if err != nil {
		return Overlay{}, err
	}
	d := DirsOf(p.Server.Paths.Accounts, a.Name)
	o := Overlay{Account: a.Name, Target: d.Root, Upper: d.Upper, Work: d.Work}
	for i := len(names) - 1; i >= 0; i-- {
		o.Layers = append(o.Layers, names[i])
		o.Lower = append(o.Lower, path.Join(p.Server.Paths.Layers, names[i]))
	}
	return o, nil
}

// FixedOptions are the overlay options that follow the directories. With
// redirect_dir=nofollow a redirect xattr planted in a client layer is not
// followed into a lower layer, and with metacopy=off a metacopy xattr in a
// client layer cannot point a file at lower data it should not reach
// (Documentation/filesystems/overlayfs.rst, "Permission model" and
// "Redirect dir" / "Metadata only copy up").
var FixedOptions = []string{"redirect_dir=nofollow", "metacopy=off"}

// Options returns the overlay option string for mount(2), with the lower
// directories given as they are in o.Lower (see Relative).
func (o Overlay) Options() string {
	var b strings.Builder
	b.WriteString("lowerdir=")
	for i, l := range o.Lower {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(EscapeLower(l))
	}
	b.WriteString(",upperdir=")
	b.WriteString(EscapeOption(o.Upper))
	b.WriteString(",workdir=")
	b.WriteString(EscapeOption(o.Work))
	for _, f := range FixedOptions {
		b.WriteByte(',')
		b.WriteString(f)
	}
	return b.String()
}

// EscapeLower escapes a path for a lowerdir list of the mount(2) option
// string: overlayfs splits options at ',' and lower directories at ':',
// and takes '\' as the escape for both and for itself.
func EscapeLower(p string) string {
	return escape(p, `\,:`)
}

// EscapeOption escapes a path for upperdir= or workdir= in the mount(2)
// option string.
func EscapeOption(p string) string {
	return escape(p, `\,:`)
}

func escape(s, special string) string {
	if !strings.ContainsAny(s, special) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(special, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// FstabLine returns the fstab(5) line of the overlay.
func (o Overlay) FstabLine() string {
	opts := strings.Join(HostFlags, ",") + "," + o.Options()
	return "overlay " + fstabEscape(o.Target) + " overlay " + fstabEscape(opts) + " 0 0"
}

// fstabEscape writes white space and backslashes as the octal escapes
// that fstab(5) and libmount read.
func fstabEscape(s string) string {
	if !strings.ContainsAny(s, " \t\n\\") {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch r {
		case ' ':
			b.WriteString(`\040`)
		case '\t':
			b.WriteString(`\011`)
		case '\n':
			b.WriteString(`\012`)
		case '\\':
			b.WriteString(`\134`)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
