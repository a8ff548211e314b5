package acl

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// toolCases are the same change made with setfacl and with this package.
var toolCases = []struct {
	name    string
	mode    uint32
	setfacl [][]string    // successive setfacl runs, each with its arguments
	build   func(ACL) ACL // the same change, applied to FromMode(mode)
}{
	{"deny on 0755", 0o755, [][]string{{"-m", "u:www-data:---"}},
		func(a ACL) ACL { return a.SetUser(33, PermNone) }},
	{"deny on 0700", 0o700, [][]string{{"-m", "u:www-data:---"}},
		func(a ACL) ACL { return a.SetUser(33, PermNone) }},
	{"deny on 0644", 0o644, [][]string{{"-m", "u:www-data:---"}},
		func(a ACL) ACL { return a.SetUser(33, PermNone) }},
	{"deny on 0751", 0o751, [][]string{{"-m", "u:www-data:---"}},
		func(a ACL) ACL { return a.SetUser(33, PermNone) }},
	{"deny on 0000", 0o000, [][]string{{"-m", "u:www-data:---"}},
		func(a ACL) ACL { return a.SetUser(33, PermNone) }},
	{"deny on 0777", 0o777, [][]string{{"-m", "u:www-data:---"}},
		func(a ACL) ACL { return a.SetUser(33, PermNone) }},
	{"deny on setuid 4755", 0o4755, [][]string{{"-m", "u:www-data:---"}},
		func(a ACL) ACL { return a.SetUser(33, PermNone) }},
	{"deny on setgid 2711", 0o2711, [][]string{{"-m", "u:www-data:---"}},
		func(a ACL) ACL { return a.SetUser(33, PermNone) }},
	{"deny on sticky 1755", 0o1755, [][]string{{"-m", "u:www-data:---"}},
		func(a ACL) ACL { return a.SetUser(33, PermNone) }},
	{"named user rw", 0o640, [][]string{{"-m", "u:nobody:rw-"}},
		func(a ACL) ACL { return a.SetUser(65534, PermRead|PermWrite) }},
	{"named group r-x", 0o640, [][]string{{"-m", "g:nogroup:r-x"}},
		func(a ACL) ACL { return a.SetGroup(65534, PermRead|PermExecute) }},
	{"existing named entries, then deny", 0o755,
		[][]string{{"-m", "u:nobody:rwx,g:nogroup:rw-"}, {"-m", "u:www-data:---"}},
		func(a ACL) ACL {
			return a.SetUser(65534, PermRead|PermWrite|PermExecute).SetGroup(65534, PermRead|PermWrite).SetUser(33, PermNone)
		}},
	{"explicit narrow mask", 0o755, [][]string{{"-m", "u:nobody:rwx"}, {"-m", "m::r--"}},
		func(a ACL) ACL { return a.SetUser(65534, PermRead|PermWrite|PermExecute).SetMask(PermRead) }},
	{"narrow mask, then deny recomputes it", 0o755,
		[][]string{{"-m", "u:nobody:rwx"}, {"-m", "m::r--"}, {"-m", "u:www-data:---"}},
		func(a ACL) ACL {
			return a.SetUser(65534, PermRead|PermWrite|PermExecute).SetMask(PermRead).SetUser(33, PermNone)
		}},
	{"mask given with the entry", 0o755, [][]string{{"-m", "u:www-data:---,m::--x"}},
		func(a ACL) ACL { return a.SetUser(33, PermNone).SetMask(PermExecute) }},
	{"several users in one run, unsorted", 0o750, [][]string{{"-m", "u:65534:r,u:33:---,u:1000:rw"}},
		func(a ACL) ACL {
			return a.SetUser(65534, PermRead).SetUser(33, PermNone).SetUser(1000, PermRead|PermWrite)
		}},
	{"owning group widened alone", 0o710, [][]string{{"-m", "g::rwx"}},
		func(ACL) ACL { return FromMode(0o770) }},
	{"deny twice", 0o755, [][]string{{"-m", "u:www-data:---"}, {"-m", "u:www-data:---"}},
		func(a ACL) ACL { return a.SetUser(33, PermNone).SetUser(33, PermNone) }},
	{"r-x replaced by the deny", 0o755, [][]string{{"-m", "u:www-data:r-x"}, {"-m", "u:www-data:---"}},
		func(a ACL) ACL { return a.SetUser(33, PermRead|PermExecute).SetUser(33, PermNone) }},
	{"named group root rwx", 0o600, [][]string{{"-m", "g:0:rwx"}},
		func(a ACL) ACL { return a.SetGroup(0, PermRead|PermWrite|PermExecute) }},
	{"uid without a name", 0o555, [][]string{{"-m", "u:4000000000:r--"}},
		func(a ACL) ACL { return a.SetUser(4000000000, PermRead) }},
	{"no mask recalculation (-n)", 0o755, [][]string{{"-n", "-m", "u:nobody:rwx"}},
		func(a ACL) ACL {
			return a.SetUser(65534, PermRead|PermWrite|PermExecute).SetMask(PermRead | PermExecute)
		}},
	{"deny user and group www-data", 0o711, [][]string{{"-m", "u:www-data:---,g:www-data:---"}},
		func(a ACL) ACL { return a.SetUser(33, PermNone).SetGroup(33, PermNone) }},
	{"three named groups", 0o750, [][]string{{"-m", "g:65534:r,g:33:x,g:100:w"}},
		func(a ACL) ACL {
			return a.SetGroup(65534, PermRead).SetGroup(33, PermExecute).SetGroup(100, PermWrite)
		}},
}

// TestAgainstTools writes each case with this package and reads it with
// getfacl, writes it with setfacl and reads it with this package, and
// checks that both sides agree: the same ACL, the same attribute bytes,
// the same getfacl text (numeric and named), the same mode bits.
func TestAgainstTools(t *testing.T) {
	requireRoot(t)
	requireTool(t, "getfacl")
	requireTool(t, "setfacl")
	if uid := requireUser(t, "www-data"); uid != 33 {
		skipOrFail(t, fmt.Sprintf("the cases assume www-data is uid 33, not %d", uid))
	}
	requireUser(t, "nobody")
	dir := t.TempDir()
	requireACLs(t, dir)

	if len(toolCases) < 20 {
		t.Fatalf("%d cases, want at least 20", len(toolCases))
	}
	for i, tc := range toolCases {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.build(FromMode(tc.mode))
			if err := want.Valid(); err != nil {
				t.Fatalf("case builds an invalid ACL %v: %v", want, err)
			}

			// This package writes, getfacl reads.
			ours := filepath.Join(dir, fmt.Sprintf("%02d-ours", i))
			writeFile(t, ours, nil, tc.mode)
			changed, err := Apply(openRead(t, ours), want)
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if wantChanged := !FromMode(tc.mode).Equal(want); changed != wantChanged {
				t.Errorf("Apply reported changed=%v, want %v", changed, wantChanged)
			}
			if got, wantText := getfacl(t, ours, "-c", "-n"), want.Text(nil)+"\n"; got != wantText {
				t.Errorf("getfacl -n of what Apply wrote:\n%s\nwant Text:\n%s", got, wantText)
			}
			if got, wantText := getfacl(t, ours, "-c"), want.Text(sysNames)+"\n"; got != wantText {
				t.Errorf("getfacl of what Apply wrote:\n%s\nwant Text:\n%s", got, wantText)
			}

			// setfacl writes, this package reads.
			theirs := filepath.Join(dir, fmt.Sprintf("%02d-setfacl", i))
			writeFile(t, theirs, nil, tc.mode)
			for _, args := range tc.setfacl {
				setfacl(t, theirs, args...)
			}
			got, err := Read(openRead(t, theirs))
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Read of what setfacl wrote (-want +got):\n%s", diff)
			}

			// The kernel's bytes are Encode's bytes.
			wantRaw := want.Encode()
			if !want.Extended() {
				wantRaw = nil // the kernel keeps a minimal ACL as mode bits
			}
			for _, name := range []string{ours, theirs} {
				if raw := rawXattr(t, name); !bytes.Equal(raw, wantRaw) {
					t.Errorf("attribute of %s = %x, want %x", filepath.Base(name), raw, wantRaw)
				}
			}

			// Both files read the same in getfacl, and ParseText reads
			// getfacl's output, header included, back.
			for _, args := range [][]string{{"-c", "-n"}, {"-c"}} {
				a, b := getfacl(t, ours, args...), getfacl(t, theirs, args...)
				if diff := cmp.Diff(a, b); diff != "" {
					t.Errorf("getfacl %v differs (-ours +setfacl):\n%s", args, diff)
				}
			}
			for _, args := range [][]string{{"-n"}, {}} {
				b := getfacl(t, theirs, args...)
				if parsed, err := ParseText(b, sysIDs); err != nil {
					t.Errorf("ParseText(getfacl %v): %v", args, err)
				} else if diff := cmp.Diff(want, parsed); diff != "" {
					t.Errorf("ParseText(getfacl %v) (-want +got):\n%s", args, diff)
				}
			}

			// The mode bits: the group bits show the mask; setuid,
			// setgid and sticky survive.
			for _, name := range []string{ours, theirs} {
				var st unix.Stat_t
				if err := unix.Stat(name, &st); err != nil {
					t.Fatal(err)
				}
				if got, wantMode := st.Mode&0o7777, tc.mode&0o7000|want.Mode(); got != wantMode {
					t.Errorf("mode of %s = %o, want %o", filepath.Base(name), got, wantMode)
				}
			}

			// Applying the same ACL again writes nothing.
			before := ctime(t, theirs)
			if changed, err := Apply(openRead(t, theirs), want); err != nil || changed {
				t.Errorf("Apply on a file that has the ACL = %v, %v; want false, nil", changed, err)
			}
			if after := ctime(t, theirs); after != before {
				t.Errorf("ctime changed from %d to %d by an Apply with nothing to do", before, after)
			}
		})
	}
}
