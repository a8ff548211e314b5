package acl

import (
	"bytes"
	"testing"
)

// FuzzDecode checks that Decode never panics, that what it accepts is
// valid and survives Encode and Decode again unchanged, and that the
// text form of it parses back to the same ACL. The seeds below and in
// testdata/fuzz/FuzzDecode cover each rule Decode enforces.
func FuzzDecode(f *testing.F) {
	for _, seed := range [][]byte{
		nil,
		{2, 0, 0, 0},
		raw(2, rUO, rGO, rO),
		raw(2, rUO, rGO, rM, rO),
		raw(2, rUO, rU(33, 0), rGO, rM, rO),
		raw(2, rUO, rU(33, 0), rU(65534, 6), rGO, rG(0, 7), rG(50, 1), rM, rO),
		raw(2, rUO, rU(0xfffffffe, 7), rGO, rM, rO),
		raw(1, rUO, rGO, rO),
		raw(2, rUO, rGO, rO)[:27],
		raw(2, rUO, [3]uint32{0x40, 0, u}, rGO, rO),
		raw(2, rUO, rU(33, 0), rGO, rO),
		raw(2, rUO, rU(40, 0), rU(33, 0), rGO, rM, rO),
		raw(2, rUO, rU(33, 0), rU(33, 0), rGO, rM, rO),
		raw(2, rUO, rGO, rO, rM),
		raw(2, [3]uint32{0x01, 0xffff, u}, rGO, rO),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		a, err := Decode(in)
		if err != nil {
			if a != nil {
				t.Fatalf("Decode returned %v with error %v", a, err)
			}
			return
		}
		if err := a.Valid(); err != nil {
			t.Fatalf("Decode accepted an invalid ACL %v: %v", a, err)
		}

		// Encode is canonical: same length as the input, and stable.
		enc := a.Encode()
		if len(enc) != len(in) {
			t.Fatalf("Encode gave %d bytes for %d decoded", len(enc), len(in))
		}
		b, err := Decode(enc)
		if err != nil {
			t.Fatalf("Decode(Encode(%v)): %v", a, err)
		}
		if !a.Equal(b) {
			t.Fatalf("Decode(Encode(a)) = %v, want %v", b, a)
		}
		if !bytes.Equal(b.Encode(), enc) {
			t.Fatalf("Encode not stable: %x then %x", enc, b.Encode())
		}

		// The text form, numeric and named, parses back.
		for _, names := range []NameFunc{nil, testNames} {
			c, err := ParseText(a.Text(names), testIDs)
			if err != nil {
				t.Fatalf("ParseText(%q): %v", a.Text(names), err)
			}
			if !a.Equal(c) {
				t.Fatalf("ParseText(Text(a)) = %v, want %v", c, a)
			}
		}

		// Changing it keeps it valid, and the deny entry is what it says.
		d := a.SetUser(33, PermNone)
		if err := d.Valid(); err != nil {
			t.Fatalf("SetUser made %v invalid: %v", d, err)
		}
		if p, ok := d.Get(User, 33); !ok || p != PermNone {
			t.Fatalf("SetUser(33, ---) = %v", d)
		}
		if len(d) < len(a) || len(d) > len(a)+2 {
			t.Fatalf("SetUser changed %d entries into %d", len(a), len(d))
		}
		if d.Effective(0, 0, 33, []uint32{0}) != PermNone && d.Effective(0, 0, 33, nil) != PermNone {
			t.Fatalf("uid 33 keeps permissions after the deny: %v", d)
		}
	})
}
