package acl

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// testNames knows a few users and groups, with names that need quoting.
var names = map[Tag]map[uint32]string{
	User:  {33: "www-data", 65534: "nobody", 7: "odd:name, with\ttab", 8: `back\slash`},
	Group: {33: "www-data", 65534: "nogroup"},
}

func testNames(t Tag, id uint32) (string, bool) {
	n, ok := names[t][id]
	return n, ok
}

func testIDs(t Tag, name string) (uint32, error) {
	for id, n := range names[t] {
		if n == name {
			return id, nil
		}
	}
	return 0, errors.New("no such name")
}

func TestText(t *testing.T) {
	tests := []struct {
		name  string
		acl   ACL
		names NameFunc
		want  string
	}{
		{"minimal", FromMode(0o754), nil, "user::rwx\ngroup::r-x\nother::r--\n"},
		{"deny, numeric", FromMode(0o755).SetUser(33, PermNone), nil,
			"user::rwx\nuser:33:---\ngroup::r-x\nmask::r-x\nother::r-x\n"},
		{"deny, named", FromMode(0o755).SetUser(33, PermNone), testNames,
			"user::rwx\nuser:www-data:---\ngroup::r-x\nmask::r-x\nother::r-x\n"},
		{"effective where the mask limits", FromMode(0o754).SetUser(33, PermNone).SetUser(65534, PermRead|PermWrite).
			SetGroup(65534, PermRead|PermWrite|PermExecute).SetMask(PermRead), testNames,
			"user::rwx\nuser:www-data:---\nuser:nobody:rw-\t#effective:r--\ngroup::r-x\t#effective:r--\n" +
				"group:nogroup:rwx\t#effective:r--\nmask::r--\nother::r--\n"},
		{"unknown id printed as a number", FromMode(0o700).SetGroup(4242, PermRead), testNames,
			"user::rwx\ngroup::---\ngroup:4242:r--\nmask::r--\nother::---\n"},
		{"names quoted as libacl does", FromMode(0o700).SetUser(7, PermRead).SetUser(8, PermNone), testNames,
			"user::rwx\nuser:odd\\072name\\054\\040with\\011tab:r--\nuser:back\\\\slash:---\ngroup::---\nmask::r--\nother::---\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.acl.Text(tt.names)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Text (-want +got):\n%s", diff)
			}
			back, err := ParseText(got, testIDs)
			if err != nil {
				t.Fatalf("ParseText(Text): %v", err)
			}
			if diff := cmp.Diff(tt.acl, back); diff != "" {
				t.Errorf("ParseText(Text) (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseText(t *testing.T) {
	deny := FromMode(0o755).SetUser(33, PermNone)
	tests := []struct {
		name, in string
		want     ACL
	}{
		{"getfacl output with header", "# file: usr/bin/rm\n# owner: root\n# group: root\n" +
			"user::rwx\nuser:www-data:---\ngroup::r-x\nmask::r-x\nother::r-x\n\n", deny},
		{"abbreviated, any order, spaces, CRLF", " o::r-x\r\n m::r-x \r\ng::r-x\r\nu:33:---\r\nu::rwx\r\n", deny},
		{"octal digits and letters in any order", "user::7\nuser:33:0\ngroup::xr\nmask::5\nother::x-r\n", deny},
		{"mask and other without the empty qualifier", "user::rwx\nuser:33:---\ngroup::r-x\nmask:r-x\nother:r-x\n", deny},
		{"missing mask computed", "user::rwx\nuser:www-data:---\ngroup::r-x\nother::r-x\n", deny},
		{"given mask kept", "user::rwx\nuser:nobody:rwx\ngroup::r-x\nmask::r--\nother::r-x\n",
			FromMode(0o755).SetUser(65534, PermRead|PermWrite|PermExecute).SetMask(PermRead)},
		{"effective comments ignored", "user::rwx\nuser:nobody:rwx\t#effective:r--\ngroup::r-x\t#effective:r--\nmask::r--\nother::r-x\n",
			FromMode(0o755).SetUser(65534, PermRead|PermWrite|PermExecute).SetMask(PermRead)},
		{"numeric qualifier not looked up", "user::rwx\nuser:65534:r--\ngroup::---\nother::---\n",
			FromMode(0o700).SetUser(65534, PermRead)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseText(tt.in, testIDs)
			if err != nil {
				t.Fatalf("ParseText: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseText (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseTextRejects(t *testing.T) {
	const base = "user::rwx\ngroup::r-x\nother::r-x\n"
	tests := []struct {
		name, in, wantErr string
		ids               IDFunc
	}{
		{"empty", "", "missing user:: entry", testIDs},
		{"missing other", "user::rwx\ngroup::r-x\n", "missing other:: entry", testIDs},
		{"repeated entry", base + "user::r--\n", "line 4: repeated user:: entry", testIDs},
		{"repeated named entry", base + "user:33:r--\nuser:www-data:---\n", "line 5: repeated user:33: entry", testIDs},
		{"unknown tag", base + "people::r--\n", `unknown tag "people"`, testIDs},
		{"default entries", base + "default:user::rwx\n", "default ACL entries are not supported", testIDs},
		{"abbreviated default", base + "d:u::rwx\n", "default ACL entries are not supported", testIDs},
		{"conditional execute", "user::rwX\ngroup::r-x\nother::r-x\n", "conditional execute", testIDs},
		{"bad permission letter", "user::rwz\ngroup::r-x\nother::r-x\n", `unexpected "z"`, testIDs},
		{"repeated permission letter", "user::rr\ngroup::r-x\nother::r-x\n", "r repeated", testIDs},
		{"two octal digits", "user::77\ngroup::r-x\nother::r-x\n", `bad permissions "77"`, testIDs},
		{"octal digit 8", "user::8\ngroup::r-x\nother::r-x\n", `unexpected "8"`, testIDs},
		{"missing permissions", "user::\ngroup::r-x\nother::r-x\n", "missing permissions", testIDs},
		{"missing qualifier field", "user:rwx\ngroup::r-x\nother::r-x\n", "want tag:qualifier:permissions", testIDs},
		{"qualifier on mask", base + "mask:bob:rwx\n", `unexpected "bob:rwx"`, testIDs},
		{"unknown name", base + "user:nosuchuser:r--\n", `look up user "nosuchuser": no such name`, testIDs},
		{"name without lookup", base + "user:www-data:r--\n", `user "www-data" is not a number`, nil},
		{"uid too large", base + "user:4294967296:r--\n", `user "4294967296" is not a number`, nil},
		{"two file headers", "# file: a\n" + base + "# file: b\n" + base, "line 5: a second file header", testIDs},
		{"trailing text", "user::rwx junk\ngroup::r-x\nother::r-x\n", `unexpected "junk"`, testIDs},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseText(tt.in, tt.ids)
			if err == nil {
				t.Fatalf("ParseText = %v, want an error with %q", got, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseText error = %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestQuote(t *testing.T) {
	for _, s := range []string{"", "plain", "a:b", `a\b`, `\\`, "\t\n\r ,:", `\072`, "é"} {
		q := quote(s, ":, \t\n\r")
		if strings.ContainsAny(q, ":, \t\n\r") {
			t.Errorf("quote(%q) = %q still holds a special character", s, q)
		}
		if got := unquote(q); got != s {
			t.Errorf("unquote(quote(%q)) = %q (quoted %q)", s, got, q)
		}
	}
}
