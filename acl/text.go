package acl

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// NameFunc returns the name of the user (tag User) or group (tag Group)
// with the given id, and false when there is none; Text then prints the
// number, as getfacl does for an id without a name.
type NameFunc func(t Tag, id uint32) (name string, ok bool)

// IDFunc returns the uid (tag User) or gid (tag Group) of a name.
type IDFunc func(t Tag, name string) (id uint32, err error)

// Text returns a in the long text form getfacl prints after its header
// (acl(5), "LONG TEXT FORM"): one entry a line, each line ending in a
// newline, named entries through names (nil prints numbers, as getfacl
// --numeric), and an "#effective:" comment after an entry of the group
// class whose permissions the mask limits. The comment follows a
// single tab: getfacl aligns it to a column only when writing to a
// terminal (TEXT_SMART_INDENT).
func (a ACL) Text(names NameFunc) string {
	mask, hasMask := a.Get(Mask, 0)
	var b strings.Builder
	for _, e := range a {
		b.WriteString(e.Tag.String())
		b.WriteByte(':')
		if e.Tag.named() {
			b.WriteString(qualifier(e, names))
		}
		b.WriteByte(':')
		b.WriteString(e.Perm.String())
		groupClass := e.Tag == User || e.Tag == GroupObj || e.Tag == Group
		if groupClass && hasMask && e.Perm&mask != e.Perm {
			b.WriteString("\t#effective:")
			b.WriteString((e.Perm & mask).String())
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// qualifier returns the name or number of a named entry, quoted as
// libacl quotes it (__acl_quote with ":, \t\n\r"), so that the line
// parses back.
func qualifier(e Entry, names NameFunc) string {
	if names != nil {
		if name, ok := names(e.Tag, e.ID); ok && name != "" {
			return quote(name, ":, \t\n\r")
		}
	}
	return strconv.FormatUint(uint64(e.ID), 10)
}

// quote writes a backslash as two and each byte of special as a
// backslash and three octal digits, as libacl's __acl_quote does.
func quote(s, special string) string {
	if !strings.ContainsAny(s, special+`\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case strings.IndexByte(special, c) >= 0:
			fmt.Fprintf(&b, `\%03o`, c)
		case c == '\\':
			b.WriteString(`\\`)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// unquote reverses quote, as libacl's __acl_unquote does.
func unquote(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	isOctal := func(c byte) bool { return c >= '0' && c <= '7' }
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]):
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
		case s[i] == '\\' && i+1 < len(s) && s[i+1] == '\\':
			b.WriteByte('\\')
			i++
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// ParseText parses an access ACL in the long text form that getfacl
// prints and setfacl --restore and -M read: one entry a line, tags
// spelled out or abbreviated to their first letter (u, g, m, o),
// permissions as "rwx" letters and dashes or one octal digit, blank
// lines and "#" comments ignored (so getfacl's header and #effective
// comments too). A qualifier that is a decimal number is an id; any
// other is a name, unquoted as libacl does and looked up through ids
// (nil accepts only numbers). The entries may come in any order; the
// result is in canonical order. A missing mask is computed from the
// group class, as setfacl does; a given mask is kept.
//
// ParseText reads one ACL: a second "# file:" header is an error, and
// so are default entries ("default:", "d:"), which belong to a
// directory's default ACL, and setfacl's conditional execute "X", which
// depends on the file.
func ParseText(text string, ids IDFunc) (ACL, error) {
	var (
		a     ACL
		lines []int // the line of each entry of a, for messages
		files int
	)
	for n, line := range strings.Split(text, "\n") {
		lineno := n + 1
		line = strings.TrimSpace(line)
		if c, ok := strings.CutPrefix(line, "#"); ok {
			if strings.HasPrefix(strings.TrimSpace(c), "file:") {
				if files++; files > 1 {
					return nil, fmt.Errorf("parse ACL: line %d: a second file header", lineno)
				}
			}
			continue
		}
		if line == "" {
			continue
		}
		e, err := parseEntry(line, ids)
		if err != nil {
			return nil, fmt.Errorf("parse ACL: line %d: %w", lineno, err)
		}
		a = append(a, e)
		lines = append(lines, lineno)
	}

	// Sort into canonical order; a repeat then sits next to its twin.
	order := make([]int, len(a))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(i, j int) int { return compareEntries(a[i], a[j]) })
	sorted := make(ACL, len(a))
	for k, i := range order {
		sorted[k] = a[i]
		if k > 0 && compareEntries(sorted[k-1], a[i]) == 0 {
			return nil, fmt.Errorf("parse ACL: line %d: repeated %s entry", lines[i], a[i].describe())
		}
	}
	a = sorted
	if _, ok := a.Get(Mask, 0); !ok && a.Extended() {
		a = a.RecalcMask()
	}
	if err := a.Valid(); err != nil {
		return nil, fmt.Errorf("parse ACL: %w", err)
	}
	return a, nil
}

// parseEntry parses one "tag:qualifier:perms" entry, which may be
// followed by a comment.
func parseEntry(line string, ids IDFunc) (Entry, error) {
	var e Entry
	tag, rest, ok := strings.Cut(line, ":")
	if !ok {
		return e, fmt.Errorf("entry %q: want tag:qualifier:permissions", line)
	}
	switch strings.TrimSpace(tag) {
	case "user", "u":
		e.Tag = UserObj
	case "group", "g":
		e.Tag = GroupObj
	case "mask", "m":
		e.Tag = Mask
	case "other", "o":
		e.Tag = Other
	case "default", "d":
		return e, errors.New("default ACL entries are not supported")
	default:
		return e, fmt.Errorf("entry %q: unknown tag %q", line, strings.TrimSpace(tag))
	}

	// The qualifier. mask and other may leave out the empty one
	// ("mask:r-x"), which setfacl accepts for compatibility with Solaris.
	if e.Tag == Mask || e.Tag == Other {
		if r, ok := strings.CutPrefix(strings.TrimLeft(rest, " \t"), ":"); ok {
			rest = r
		}
	} else {
		var q string
		if q, rest, ok = strings.Cut(rest, ":"); !ok {
			return e, fmt.Errorf("entry %q: want tag:qualifier:permissions", line)
		}
		if q = strings.TrimSpace(q); q != "" {
			e.Tag = User
			if tag := strings.TrimSpace(tag); tag == "group" || tag == "g" {
				e.Tag = Group
			}
			id, err := parseID(e.Tag, unquote(q), ids)
			if err != nil {
				return e, fmt.Errorf("entry %q: %w", line, err)
			}
			e.ID = id
		}
	}

	// The permissions, then nothing but a comment.
	rest = strings.TrimSpace(rest)
	end := strings.IndexFunc(rest, func(c rune) bool { return !strings.ContainsRune("rwxX-01234567", c) })
	if end < 0 {
		end = len(rest)
	}
	if tail := strings.TrimSpace(rest[end:]); tail != "" && tail[0] != '#' {
		return e, fmt.Errorf("entry %q: unexpected %q after the permissions", line, tail)
	}
	p, err := parsePerm(rest[:end])
	if err != nil {
		return e, fmt.Errorf("entry %q: %w", line, err)
	}
	e.Perm = p
	return e, nil
}

// parseID returns the id a qualifier names.
func parseID(t Tag, q string, ids IDFunc) (uint32, error) {
	if n, err := strconv.ParseUint(q, 10, 32); err == nil {
		return uint32(n), nil
	}
	if ids == nil {
		return 0, fmt.Errorf("%s %q is not a number", t, q)
	}
	id, err := ids(t, q)
	if err != nil {
		return 0, fmt.Errorf("look up %s %q: %w", t, q, err)
	}
	return id, nil
}

// parsePerm parses "rwx" letters and dashes in any order, or one octal
// digit.
func parsePerm(s string) (Perm, error) {
	if len(s) == 1 && s[0] >= '0' && s[0] <= '7' {
		return Perm(s[0] - '0'), nil
	}
	if s == "" {
		return 0, errors.New("missing permissions")
	}
	var p Perm
	for _, c := range s {
		var bit Perm
		switch c {
		case 'r':
			bit = PermRead
		case 'w':
			bit = PermWrite
		case 'x':
			bit = PermExecute
		case '-':
			continue
		case 'X':
			return 0, errors.New("conditional execute X depends on the file and is not supported")
		default:
			return 0, fmt.Errorf("bad permissions %q", s)
		}
		if p&bit != 0 {
			return 0, fmt.Errorf("bad permissions %q: %c repeated", s, c)
		}
		p |= bit
	}
	return p, nil
}
