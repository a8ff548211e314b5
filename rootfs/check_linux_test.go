package rootfs

import (
	"errors"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestCheckAccount covers bad host state: each problem is reported before
// any change, and where the kernel is the judge the test shows that it
// would refuse the mount too.
func TestCheckAccount(t *testing.T) {
	if !inMountNS(t) {
		return
	}
	tests := []struct {
		name string
		// setup breaks the host after the account's tree is made.
		setup func(t *testing.T, f *fixture, o Overlay)
		want  string // in the error; "" for no error
		// kernelRefuses: MountOverlay fails as well.
		kernelRefuses bool
	}{
		{name: "good", setup: func(*testing.T, *fixture, Overlay) {}},
		{
			name:  "missing layer",
			setup: func(t *testing.T, f *fixture, o Overlay) { mustDo(t, os.RemoveAll(o.Lower[0])) },
			want:  "layer terminal is missing", kernelRefuses: true,
		},
		{
			name: "root is a regular file",
			setup: func(t *testing.T, f *fixture, o Overlay) {
				mustDo(t, os.Remove(o.Target))
				mustDo(t, os.WriteFile(o.Target, []byte("x"), 0o644))
			},
			want: "root: is a regular file, not a directory", kernelRefuses: true,
		},
		{
			name: "work on another filesystem than upper",
			setup: func(t *testing.T, f *fixture, o Overlay) {
				mustDo(t, unix.Mount("tmpfs", o.Work, "tmpfs", 0, "mode=0700"))
				t.Cleanup(func() { unmountAll(o.Work) })
			},
			want: "work: is on another mount than upper", kernelRefuses: true,
		},
		{
			name: "upper on an overlay",
			setup: func(t *testing.T, f *fixture, o Overlay) {
				// The accounts directory itself lies on an overlay.
				other := newFixture(t, "layers", "accounts")
				other.layer(t, "base", nil)
				under := other.overlay("host", "base")
				other.tree(t, "host")
				mountT(t, under, MountOptions{})
				mustDo(t, os.MkdirAll(under.Target+"/accounts/site1/upper", 0o755))
				mustDo(t, os.MkdirAll(under.Target+"/accounts/site1/work", 0o700))
				mustDo(t, os.MkdirAll(under.Target+"/accounts/site1/root", 0o755))
				mustDo(t, os.Remove(f.accounts+"/site1/root"))
				mustDo(t, os.RemoveAll(f.accounts))
				mustDo(t, os.Symlink(under.Target+"/accounts", f.accounts))
			},
			want: "upper is on an overlay filesystem", kernelRefuses: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, "layers", "accounts")
			f.layer(t, "base", nil)
			f.layer(t, "terminal", nil)
			o := f.overlay("site1", "terminal", "base")
			f.tree(t, "site1")
			tt.setup(t, f, o)
			before := snapshot(t, f.dir)

			err := CheckAccount(o, MountOptions{})
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("CheckAccount = %v, want no error", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("CheckAccount = %v, want %q", err, tt.want)
			}
			var he *HostError
			if tt.want != "" && (!errors.As(err, &he) || he.Account != "site1") {
				t.Errorf("error %v is not a *HostError of site1", err)
			}
			if tt.want != "" {
				t.Logf("CheckAccount: %v", err)
			}
			if after := snapshot(t, f.dir); len(after) != len(before) {
				t.Errorf("CheckAccount changed the tree: %d entries, was %d", len(after), len(before))
			}

			if tt.want == "" {
				return
			}
			// The kernel's view: a mount with this state fails.
			err = MountOverlay(o, MountOptions{})
			if tt.kernelRefuses && err == nil {
				unmountAll(o.Target)
				t.Errorf("MountOverlay succeeded: the check refuses what the kernel takes")
			}
			t.Logf("MountOverlay: %v", err)
		})
	}
}
