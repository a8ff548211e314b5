package acl

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// The extended attributes that hold a file's ACLs (acl(5), xattr(7)).
const (
	AccessXattr  = "system.posix_acl_access"
	DefaultXattr = "system.posix_acl_default"
)

// Layout of the attribute value, from linux/posix_acl_xattr.h: a
// little-endian 32-bit version, then 8-byte entries of a 16-bit tag, a
// 16-bit permission set and a 32-bit id.
const (
	xattrVersion = 2
	headerSize   = 4
	entrySize    = 8

	// undefinedID is ACL_UNDEFINED_ID, the id the kernel writes for
	// entries that carry none (posix_acl_to_xattr).
	undefinedID = ^uint32(0)
)

// Tag is the kind of an ACL entry, with the values of linux/posix_acl.h.
type Tag uint16

// The entry tags, in the order the kernel requires them.
const (
	UserObj  Tag = 0x01 // the file's owner: user::
	User     Tag = 0x02 // a named user: user:NAME:
	GroupObj Tag = 0x04 // the file's group: group::
	Group    Tag = 0x08 // a named group: group:NAME:
	Mask     Tag = 0x10 // the upper bound of the group class: mask::
	Other    Tag = 0x20 // everyone else: other::
)

// String returns the tag as getfacl spells it.
func (t Tag) String() string {
	switch t {
	case UserObj, User:
		return "user"
	case GroupObj, Group:
		return "group"
	case Mask:
		return "mask"
	case Other:
		return "other"
	}
	return fmt.Sprintf("tag(%#x)", uint16(t))
}

// named reports whether entries with this tag carry a uid or gid.
func (t Tag) named() bool { return t == User || t == Group }

// Perm is a set of the read, write and execute permissions.
type Perm uint16

// The permissions, with the values of linux/posix_acl.h (ACL_READ …).
const (
	PermExecute Perm = 0x01
	PermWrite   Perm = 0x02
	PermRead    Perm = 0x04

	// PermNone is the empty set, the permissions of a deny entry.
	PermNone Perm = 0
	all      Perm = PermRead | PermWrite | PermExecute
)

// String returns the permissions as getfacl prints them, such as "r-x".
func (p Perm) String() string {
	b := []byte("---")
	if p&PermRead != 0 {
		b[0] = 'r'
	}
	if p&PermWrite != 0 {
		b[1] = 'w'
	}
	if p&PermExecute != 0 {
		b[2] = 'x'
	}
	if p&^all != 0 {
		return fmt.Sprintf("%s+%#x", b, uint16(p&^all))
	}
	return string(b)
}

// Entry is one entry of an ACL. ID is the uid of a User entry or the gid
// of a Group entry; it is zero for the other tags.
type Entry struct {
	Tag  Tag
	Perm Perm
	ID   uint32
}

// ACL is a POSIX access control list, its entries in the kernel's
// canonical order: UserObj, User entries by increasing uid, GroupObj,
// Group entries by increasing gid, Mask, Other. The methods that change
// an ACL return a new one and keep that order; they never modify the
// receiver's backing array.
type ACL []Entry

// FromMode returns the minimal ACL equivalent to the permission bits of
// mode, as the kernel and getfacl do for a file without an ACL
// attribute (acl_from_mode(3)).
func FromMode(mode uint32) ACL {
	return ACL{
		{Tag: UserObj, Perm: Perm(mode>>6) & all},
		{Tag: GroupObj, Perm: Perm(mode>>3) & all},
		{Tag: Other, Perm: Perm(mode) & all},
	}
}

// Decode parses the value of a system.posix_acl_access or
// system.posix_acl_default attribute. It rejects what the kernel's
// posix_acl_valid rejects (a wrong version, a size that is not a whole
// number of entries, an unknown tag or permission bit, a missing or
// repeated base entry, named entries without a mask, entries out of
// order) and, like libacl's acl_check(3), named entries that repeat an
// id or are not sorted by id. Ids of entries other than User and Group
// are ignored, as the kernel ignores them.
func Decode(b []byte) (ACL, error) {
	if len(b) < headerSize {
		return nil, fmt.Errorf("decode ACL: %d bytes, shorter than the header", len(b))
	}
	if v := binary.LittleEndian.Uint32(b); v != xattrVersion {
		return nil, fmt.Errorf("decode ACL: version %d, want %d", v, xattrVersion)
	}
	body := b[headerSize:]
	if len(body)%entrySize != 0 {
		return nil, fmt.Errorf("decode ACL: truncated entry: %d bytes after the header", len(body))
	}
	a := make(ACL, 0, len(body)/entrySize)
	for off := 0; off < len(body); off += entrySize {
		e := Entry{
			Tag:  Tag(binary.LittleEndian.Uint16(body[off:])),
			Perm: Perm(binary.LittleEndian.Uint16(body[off+2:])),
		}
		if e.Tag.named() {
			e.ID = binary.LittleEndian.Uint32(body[off+4:])
		}
		a = append(a, e)
	}
	if err := a.Valid(); err != nil {
		return nil, fmt.Errorf("decode ACL: %w", err)
	}
	return a, nil
}

// Encode returns the attribute value for a, in the layout of
// linux/posix_acl_xattr.h. It writes the entries in a's order and does
// not check them: call Valid first on an ACL that was not built by this
// package.
func (a ACL) Encode() []byte {
	b := make([]byte, headerSize, headerSize+entrySize*len(a))
	binary.LittleEndian.PutUint32(b, xattrVersion)
	for _, e := range a {
		id := undefinedID
		if e.Tag.named() {
			id = e.ID
		}
		b = binary.LittleEndian.AppendUint16(b, uint16(e.Tag))
		b = binary.LittleEndian.AppendUint16(b, uint16(e.Perm))
		b = binary.LittleEndian.AppendUint32(b, id)
	}
	return b
}

// tagRank is the position of a tag in the canonical order.
func tagRank(t Tag) int {
	switch t {
	case UserObj:
		return 0
	case User:
		return 1
	case GroupObj:
		return 2
	case Group:
		return 3
	case Mask:
		return 4
	case Other:
		return 5
	}
	return -1
}

// Valid reports whether a is a well-formed access ACL in canonical order:
// exactly one UserObj, GroupObj and Other entry, at most one Mask, which
// is required when there are named entries, named entries sorted by id
// without repeats, and no permission bit outside rwx.
func (a ACL) Valid() error {
	var (
		prev     Entry
		seen     [6]int
		hasNamed bool
	)
	for i, e := range a {
		r := tagRank(e.Tag)
		if r < 0 {
			return fmt.Errorf("entry %d: unknown tag %#x", i, uint16(e.Tag))
		}
		if e.Perm&^all != 0 {
			return fmt.Errorf("entry %d: unknown permission bits %#x", i, uint16(e.Perm))
		}
		if i > 0 {
			pr := tagRank(prev.Tag)
			switch {
			case r < pr:
				return fmt.Errorf("entry %d: %s entry after %s entry", i, e.describe(), prev.describe())
			case r == pr && !e.Tag.named():
				return fmt.Errorf("entry %d: repeated %s entry", i, e.describe())
			case r == pr && e.ID == prev.ID:
				return fmt.Errorf("entry %d: repeated %s entry", i, e.describe())
			case r == pr && e.ID < prev.ID:
				return fmt.Errorf("entry %d: %s entry after %s entry, not sorted by id",
					i, e.describe(), prev.describe())
			}
		}
		seen[r]++
		hasNamed = hasNamed || e.Tag.named()
		prev = e
	}
	for _, t := range []Tag{UserObj, GroupObj, Other} {
		if seen[tagRank(t)] == 0 {
			return fmt.Errorf("missing %s entry", Entry{Tag: t}.describe())
		}
	}
	if hasNamed && seen[tagRank(Mask)] == 0 {
		return errors.New("named entries without a mask entry")
	}
	return nil
}

// describe names an entry in messages, in getfacl's syntax with a
// numeric id: "user::", "group:33:".
func (e Entry) describe() string {
	if e.Tag.named() {
		return fmt.Sprintf("%s:%d:", e.Tag, e.ID)
	}
	if tagRank(e.Tag) < 0 {
		return e.Tag.String()
	}
	return e.Tag.String() + "::"
}

// Equal reports whether a and b hold the same entries in the same order.
func (a ACL) Equal(b ACL) bool { return slices.Equal(a, b) }

// Get returns the permissions of the entry with tag t (and, for User and
// Group, id), and whether there is one.
func (a ACL) Get(t Tag, id uint32) (Perm, bool) {
	if i, ok := a.find(t, id); ok {
		return a[i].Perm, true
	}
	return 0, false
}

// find returns the index of the entry (t, id), or where it would go in
// the canonical order.
func (a ACL) find(t Tag, id uint32) (int, bool) {
	if !t.named() {
		id = 0
	}
	return slices.BinarySearchFunc(a, Entry{Tag: t, ID: id}, compareEntries)
}

// compareEntries orders entries canonically: by tag, then by id.
func compareEntries(e, f Entry) int {
	if c := tagRank(e.Tag) - tagRank(f.Tag); c != 0 {
		return c
	}
	return cmp.Compare(e.ID, f.ID)
}

// set returns a copy of a with the entry e added or its permissions
// replaced.
func (a ACL) set(e Entry) ACL {
	if !e.Tag.named() {
		e.ID = 0
	}
	out := slices.Clone(a)
	if i, ok := out.find(e.Tag, e.ID); ok {
		out[i].Perm = e.Perm
	} else {
		out = slices.Insert(out, i, e)
	}
	return out
}

// SetUser returns a copy of a in which the named user uid has the
// permissions p, the entry added or replaced, and the mask recomputed as
// setfacl -m does (see RecalcMask).
func (a ACL) SetUser(uid uint32, p Perm) ACL {
	return a.set(Entry{Tag: User, Perm: p & all, ID: uid}).RecalcMask()
}

// SetGroup is SetUser for the named group gid.
func (a ACL) SetGroup(gid uint32, p Perm) ACL {
	return a.set(Entry{Tag: Group, Perm: p & all, ID: gid}).RecalcMask()
}

// SetMask returns a copy of a whose mask is p, added if missing and not
// recomputed, as setfacl -m m::p does.
func (a ACL) SetMask(p Perm) ACL {
	return a.set(Entry{Tag: Mask, Perm: p & all})
}

// RecalcMask returns a copy of a with the mask set to the union of the
// group class (named users, the owning group and named groups), which
// is what setfacl does after a change unless told -n or given a mask.
// Like setfacl, it leaves an ACL with only the three base entries alone
// and adds a mask to one with named entries. The mask can widen: a mask
// set narrower on purpose is replaced.
func (a ACL) RecalcMask() ACL {
	var union Perm
	extended := false
	for _, e := range a {
		switch e.Tag {
		case User, Group:
			union |= e.Perm
			extended = true
		case GroupObj:
			union |= e.Perm
		case Mask:
			extended = true
		}
	}
	if !extended {
		return slices.Clone(a)
	}
	return a.set(Entry{Tag: Mask, Perm: union & all})
}

// Extended reports whether a holds more than the three base entries, so
// that it cannot be expressed as mode bits and the kernel keeps it as an
// attribute (posix_acl_equiv_mode).
func (a ACL) Extended() bool {
	for _, e := range a {
		if e.Tag.named() || e.Tag == Mask {
			return true
		}
	}
	return false
}

// Mode returns the permission bits (0777) the kernel shows in st_mode
// for a file with this ACL: owner from UserObj, group from Mask when
// there is one and from GroupObj otherwise, others from Other. This is
// why a chmod of the group bits changes the mask, not the owning
// group's entry (acl(5), "Correspondence between ACL entries and file
// permission bits").
func (a ACL) Mode() uint32 {
	var user, group, other Perm
	hasMask := false
	for _, e := range a {
		switch e.Tag {
		case UserObj:
			user = e.Perm
		case GroupObj:
			if !hasMask {
				group = e.Perm
			}
		case Mask:
			group, hasMask = e.Perm, true
		case Other:
			other = e.Perm
		}
	}
	return uint32(user&all)<<6 | uint32(group&all)<<3 | uint32(other&all)
}

// Effective returns the permissions a process with effective uid and
// group list gids has on a file owned by fileUID and fileGID that carries
// a, following the access check algorithm of acl(5) and the kernel's
// posix_acl_permission. Capabilities (CAP_DAC_OVERRIDE, root) are not
// considered. When several group entries match, the result is their
// union, masked; the kernel grants a request only when one matching
// entry holds all of it, which Permits checks.
func (a ACL) Effective(fileUID, fileGID, uid uint32, gids []uint32) Perm {
	m, ok := a.Get(Mask, 0)
	if !ok {
		m = all
	}
	if uid == fileUID {
		p, _ := a.Get(UserObj, 0)
		return p & all
	}
	if p, ok := a.Get(User, uid); ok {
		return p & m & all
	}
	var union Perm
	found := false
	for _, e := range a.matchingGroups(fileGID, gids) {
		union |= e.Perm
		found = true
	}
	if found {
		return union & m & all
	}
	p, _ := a.Get(Other, 0)
	return p & all
}

// Permits reports whether the kernel grants want to such a process, as
// posix_acl_permission decides it.
func (a ACL) Permits(fileUID, fileGID, uid uint32, gids []uint32, want Perm) bool {
	m, ok := a.Get(Mask, 0)
	if !ok {
		m = all
	}
	if uid == fileUID {
		p, _ := a.Get(UserObj, 0)
		return p&want == want
	}
	if p, ok := a.Get(User, uid); ok {
		return p&m&want == want
	}
	groups := a.matchingGroups(fileGID, gids)
	for _, e := range groups {
		if e.Perm&want == want {
			return e.Perm&m&want == want
		}
	}
	if len(groups) > 0 {
		return false
	}
	p, _ := a.Get(Other, 0)
	return p&want == want
}

// matchingGroups returns the GroupObj and Group entries that apply to a
// process in gids.
func (a ACL) matchingGroups(fileGID uint32, gids []uint32) []Entry {
	var out []Entry
	for _, e := range a {
		switch {
		case e.Tag == GroupObj && slices.Contains(gids, fileGID):
			out = append(out, e)
		case e.Tag == Group && slices.Contains(gids, e.ID):
			out = append(out, e)
		}
	}
	return out
}

// String returns a in getfacl's short form with numeric ids, entries
// separated by commas, such as "user::rwx,user:33:---,group::r-x,mask::r-x,other::r-x".
func (a ACL) String() string {
	parts := make([]string, len(a))
	for i, e := range a {
		parts[i] = e.describe() + e.Perm.String()
	}
	return strings.Join(parts, ",")
}
