package rootfs

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/srv/layers/base", "/srv/layers/base"},
		{"/srv/a:b", `/srv/a\:b`},
		{"/srv/a,b", `/srv/a\,b`},
		{`/srv/a\b`, `/srv/a\\b`},
		{`/srv/x,y:z\w`, `/srv/x\,y\:z\\w`},
	}
	for _, tt := range tests {
		if got := EscapeLower(tt.in); got != tt.want {
			t.Errorf("EscapeLower(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestOptions(t *testing.T) {
	o := Overlay{
		Target: "/home/virtual/a/root",
		Lower:  []string{"/srv/l/ruby", "/srv/l,x/base"},
		Upper:  "/home/virtual/a/upper",
		Work:   "/home/virtual/a/work",
	}
	want := `lowerdir=/srv/l/ruby:/srv/l\,x/base,upperdir=/home/virtual/a/upper,workdir=/home/virtual/a/work,redirect_dir=nofollow,metacopy=off`
	if got := o.Options(); got != want {
		t.Errorf("Options:\n got %s\nwant %s", got, want)
	}
	line := o.FstabLine()
	if want := `overlay /home/virtual/a/root overlay nosuid,nodev,noexec,lowerdir=/srv/l/ruby:/srv/l\134,x/base,`; !strings.HasPrefix(line, want) {
		t.Errorf("FstabLine:\n got %s\nwant prefix %s", line, want)
	}
	if f := strings.Fields(line); len(f) != 6 {
		t.Errorf("FstabLine has %d fields, want 6: %q", len(f), line)
	}
}

func TestDirsOf(t *testing.T) {
	got := DirsOf("/home/virtual/", "site1")
	want := AccountDirs{Dir: "/home/virtual/site1", Upper: "/home/virtual/site1/upper", Work: "/home/virtual/site1/work", Root: "/home/virtual/site1/root"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestLayoutString(t *testing.T) {
	s := DefaultLayout().String()
	for _, want := range []string{
		"proc /proc proc nosuid,nodev,noexec,hidepid=invisible\n",
		"/dev/null /dev/null bind bind,nosuid,noexec\n",
		"symlink /dev/ptmx -> pts/ptmx\n",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("layout lacks %q:\n%s", want, s)
		}
	}
}
