package acl

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// raw builds an attribute value: a version, then (tag, perm, id) triples.
func raw(version uint32, entries ...[3]uint32) []byte {
	b := binary.LittleEndian.AppendUint32(nil, version)
	for _, e := range entries {
		b = binary.LittleEndian.AppendUint16(b, uint16(e[0]))
		b = binary.LittleEndian.AppendUint16(b, uint16(e[1]))
		b = binary.LittleEndian.AppendUint32(b, e[2])
	}
	return b
}

const u = 0xffffffff // ACL_UNDEFINED_ID

var (
	rUO = [3]uint32{0x01, 7, u}
	rGO = [3]uint32{0x04, 5, u}
	rM  = [3]uint32{0x10, 5, u}
	rO  = [3]uint32{0x20, 5, u}
)

func rU(id uint32, p uint32) [3]uint32 { return [3]uint32{0x02, p, id} }
func rG(id uint32, p uint32) [3]uint32 { return [3]uint32{0x08, p, id} }

func TestDecode(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want ACL
	}{
		{"minimal", raw(2, rUO, rGO, rO), ACL{{UserObj, 7, 0}, {GroupObj, 5, 0}, {Other, 5, 0}}},
		{"mask without named entries", raw(2, rUO, rGO, rM, rO),
			ACL{{UserObj, 7, 0}, {GroupObj, 5, 0}, {Mask, 5, 0}, {Other, 5, 0}}},
		{"named", raw(2, rUO, rU(33, 0), rU(65534, 6), rGO, rG(33, 7), rM, rO),
			ACL{{UserObj, 7, 0}, {User, 0, 33}, {User, 6, 65534}, {GroupObj, 5, 0}, {Group, 7, 33}, {Mask, 5, 0}, {Other, 5, 0}}},
		{"ids of unnamed entries ignored", raw(2, [3]uint32{0x01, 7, 0}, [3]uint32{0x04, 5, 12}, [3]uint32{0x20, 0, 99}),
			ACL{{UserObj, 7, 0}, {GroupObj, 5, 0}, {Other, 0, 0}}},
		{"uid 0 and the largest uid", raw(2, rUO, rU(0, 1), rU(0xfffffffe, 2), rGO, rM, rO),
			ACL{{UserObj, 7, 0}, {User, 1, 0}, {User, 2, 0xfffffffe}, {GroupObj, 5, 0}, {Mask, 5, 0}, {Other, 5, 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode(tt.in)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Decode (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	tests := []struct {
		name, in, wantErr string
	}{
		{"empty", "", "shorter than the header"},
		{"short header", "\x02\x00\x00", "shorter than the header"},
		{"version 1", string(raw(1, rUO, rGO, rO)), "version 1, want 2"},
		{"version 3", string(raw(3, rUO, rGO, rO)), "version 3, want 2"},
		{"no entries", string(raw(2)), "missing user:: entry"},
		{"truncated entry", string(raw(2, rUO, rGO, rO)[:4+8*3-1]), "truncated entry"},
		{"extra bytes", string(append(raw(2, rUO, rGO, rO), 0)), "truncated entry"},
		{"unknown tag", string(raw(2, rUO, [3]uint32{0x40, 0, u}, rGO, rO)), "unknown tag 0x40"},
		{"zero tag", string(raw(2, rUO, [3]uint32{0, 0, u}, rGO, rO)), "unknown tag 0x0"},
		{"two tag bits", string(raw(2, [3]uint32{0x03, 7, u}, rGO, rO)), "unknown tag 0x3"},
		{"permission bit 8", string(raw(2, [3]uint32{0x01, 8, u}, rGO, rO)), "unknown permission bits 0x8"},
		{"missing user obj", string(raw(2, rGO, rO)), "missing user:: entry"},
		{"missing group obj", string(raw(2, rUO, rO)), "missing group:: entry"},
		{"missing other", string(raw(2, rUO, rGO)), "missing other:: entry"},
		{"repeated user obj", string(raw(2, rUO, rUO, rGO, rO)), "repeated user:: entry"},
		{"repeated other", string(raw(2, rUO, rGO, rO, rO)), "repeated other:: entry"},
		{"repeated mask", string(raw(2, rUO, rGO, rM, rM, rO)), "repeated mask:: entry"},
		{"repeated named user", string(raw(2, rUO, rU(33, 0), rU(33, 7), rGO, rM, rO)), "repeated user:33: entry"},
		{"repeated named group", string(raw(2, rUO, rGO, rG(5, 0), rG(5, 0), rM, rO)), "repeated group:5: entry"},
		{"named users not sorted", string(raw(2, rUO, rU(40, 0), rU(33, 0), rGO, rM, rO)), "not sorted by id"},
		{"named groups not sorted", string(raw(2, rUO, rGO, rG(40, 0), rG(33, 0), rM, rO)), "not sorted by id"},
		{"named user without mask", string(raw(2, rUO, rU(33, 0), rGO, rO)), "named entries without a mask"},
		{"named group without mask", string(raw(2, rUO, rGO, rG(33, 0), rO)), "named entries without a mask"},
		{"other before group", string(raw(2, rUO, rO, rGO)), "group:: entry after other:: entry"},
		{"mask after other", string(raw(2, rUO, rGO, rO, rM)), "mask:: entry after other:: entry"},
		{"named user after group obj", string(raw(2, rUO, rGO, rU(33, 0), rM, rO)), "user:33: entry after group:: entry"},
		{"user obj last", string(raw(2, rGO, rO, rUO)), "user:: entry after other:: entry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode([]byte(tt.in))
			if err == nil {
				t.Fatalf("Decode = %v, want an error with %q", got, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "decode ACL: ") {
				t.Errorf("Decode error = %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestEncode(t *testing.T) {
	a := ACL{{UserObj, 7, 0}, {User, 0, 33}, {GroupObj, 5, 0}, {Group, 6, 1000}, {Mask, 7, 0}, {Other, 4, 0}}
	want := raw(2, rUO, rU(33, 0), rGO, rG(1000, 6), [3]uint32{0x10, 7, u}, [3]uint32{0x20, 4, u})
	if got := a.Encode(); !bytes.Equal(want, got) {
		t.Errorf("Encode = %x, want %x", got, want)
	}
	// The literal bytes of the header and of user:33:---, written out
	// once so that the helper above is checked too.
	got := a.Encode()
	if !bytes.HasPrefix(got, []byte{2, 0, 0, 0, 1, 0, 7, 0, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 33, 0, 0, 0}) {
		t.Errorf("Encode = % x, want the version 2 header, user::rwx, user:33:---", got)
	}
}

func TestFromModeAndMode(t *testing.T) {
	tests := []struct {
		mode uint32
		want string
	}{
		{0o755, "user::rwx,group::r-x,other::r-x"},
		{0o4750, "user::rwx,group::r-x,other::---"},
		{0o000, "user::---,group::---,other::---"},
		{0o642, "user::rw-,group::r--,other::-w-"},
		{0o100711, "user::rwx,group::--x,other::--x"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%o", tt.mode), func(t *testing.T) {
			a := FromMode(tt.mode)
			if got := a.String(); got != tt.want {
				t.Errorf("FromMode(%o) = %s, want %s", tt.mode, got, tt.want)
			}
			if got, want := a.Mode(), tt.mode&0o777; got != want {
				t.Errorf("Mode() = %o, want %o", got, want)
			}
			if a.Extended() {
				t.Errorf("Extended() = true for a minimal ACL")
			}
		})
	}
}

func TestSet(t *testing.T) {
	tests := []struct {
		name string
		got  ACL
		want string
		mode uint32
	}{
		{"deny on 0755 keeps the group bits",
			FromMode(0o755).SetUser(33, PermNone),
			"user::rwx,user:33:---,group::r-x,mask::r-x,other::r-x", 0o755},
		{"deny on 0700",
			FromMode(0o700).SetUser(33, PermNone),
			"user::rwx,user:33:---,group::---,mask::---,other::---", 0o700},
		{"named users sorted",
			FromMode(0o750).SetUser(1000, PermRead).SetUser(33, PermNone).SetUser(500, PermWrite),
			"user::rwx,user:33:---,user:500:-w-,user:1000:r--,group::r-x,mask::rwx,other::---", 0o770},
		{"replace keeps one entry",
			FromMode(0o644).SetUser(33, PermRead|PermWrite|PermExecute).SetUser(33, PermNone),
			"user::rw-,user:33:---,group::r--,mask::r--,other::r--", 0o644},
		{"named group widens the mask",
			FromMode(0o640).SetGroup(33, PermRead|PermWrite),
			"user::rw-,group::r--,group:33:rw-,mask::rw-,other::---", 0o660},
		{"explicit mask kept until the next change",
			FromMode(0o755).SetUser(65534, PermRead|PermWrite|PermExecute).SetMask(PermRead),
			"user::rwx,user:65534:rwx,group::r-x,mask::r--,other::r-x", 0o745},
		{"the next change recomputes the mask, as setfacl -m does",
			FromMode(0o755).SetUser(65534, PermRead|PermWrite|PermExecute).SetMask(PermRead).SetUser(33, PermNone),
			"user::rwx,user:33:---,user:65534:rwx,group::r-x,mask::rwx,other::r-x", 0o775},
		{"mask alone, recomputed",
			FromMode(0o751).SetMask(PermNone).RecalcMask(),
			"user::rwx,group::r-x,mask::r-x,other::--x", 0o751},
		{"minimal ACL gets no mask",
			FromMode(0o751).RecalcMask(),
			"user::rwx,group::r-x,other::--x", 0o751},
		{"permission bits outside rwx dropped",
			FromMode(0o700).SetUser(7, 0xff),
			"user::rwx,user:7:rwx,group::---,mask::rwx,other::---", 0o770},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.got.String(); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			if err := tt.got.Valid(); err != nil {
				t.Errorf("Valid: %v", err)
			}
			if got := tt.got.Mode(); got != tt.mode {
				t.Errorf("Mode() = %o, want %o", got, tt.mode)
			}
		})
	}
}

func TestSetDoesNotModifyReceiver(t *testing.T) {
	base := FromMode(0o755).SetUser(100, PermRead)
	base = slices.Grow(base, 4) // spare capacity, which append would reuse
	before := base.String()
	_ = base.SetUser(50, PermNone)
	_ = base.SetUser(100, PermNone)
	_ = base.SetMask(PermNone)
	_ = base.RecalcMask()
	if got := base.String(); got != before {
		t.Errorf("receiver changed: %s, was %s", got, before)
	}
}

func TestEffective(t *testing.T) {
	// Owner 0, group 0; www-data 33 named ---, 1000 named rw-, group 50
	// named rwx, owning group r-x, mask r-x, other r-x.
	a := FromMode(0o755).SetUser(33, PermNone).SetUser(1000, PermRead|PermWrite).
		SetGroup(50, PermRead|PermWrite|PermExecute).SetMask(PermRead | PermExecute)
	const rwx, rx, r, x, none = PermRead | PermWrite | PermExecute, PermRead | PermExecute, PermRead, PermExecute, PermNone
	tests := []struct {
		name string
		uid  uint32
		gids []uint32
		want Perm
		// the requests Permits must grant and refuse
		grant, refuse []Perm
	}{
		{"owner", 0, nil, rwx, []Perm{rwx}, nil},
		{"denied named user, even in the owning group", 33, []uint32{0, 33}, none, nil, []Perm{r, x}},
		{"named user, masked", 1000, nil, r, []Perm{r}, []Perm{PermWrite}},
		{"named group, masked", 2000, []uint32{50}, rx, []Perm{rx}, []Perm{PermWrite}},
		{"owning group", 2000, []uint32{0}, rx, []Perm{rx}, []Perm{PermWrite}},
		{"other", 2000, []uint32{2000}, rx, []Perm{rx}, []Perm{PermWrite}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := a.Effective(0, 0, tt.uid, tt.gids); got != tt.want {
				t.Errorf("Effective = %s, want %s", got, tt.want)
			}
			for _, p := range tt.grant {
				if !a.Permits(0, 0, tt.uid, tt.gids, p) {
					t.Errorf("Permits(%s) = false, want true", p)
				}
			}
			for _, p := range tt.refuse {
				if a.Permits(0, 0, tt.uid, tt.gids, p) {
					t.Errorf("Permits(%s) = true, want false", p)
				}
			}
		})
	}

	// Two group entries that each grant part of a request: Effective is
	// the union, the kernel (and Permits) grants neither in full.
	b := FromMode(0o700).SetGroup(10, PermRead).SetGroup(11, PermWrite)
	if got := b.Effective(0, 0, 5, []uint32{10, 11}); got != PermRead|PermWrite {
		t.Errorf("Effective over two groups = %s, want rw-", got)
	}
	if b.Permits(0, 0, 5, []uint32{10, 11}, PermRead|PermWrite) {
		t.Errorf("Permits(rw-) over r-- and -w- group entries = true, want false")
	}
	// A matching group entry without the request refuses, even when
	// other would grant it.
	c := FromMode(0o704)
	if c.Permits(0, 0, 5, []uint32{0}, PermRead) {
		t.Errorf("Permits(r--) for the owning group with --- = true, want false")
	}
	if !c.Permits(0, 0, 5, nil, PermRead) {
		t.Errorf("Permits(r--) for other with r-- = false, want true")
	}
}
