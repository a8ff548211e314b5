package rootfs

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/moby/sys/mountinfo"
)

func TestParseOverlayOptions(t *testing.T) {
	tests := []struct {
		name string
		vfs  string
		want overlayOptions
	}{
		{
			name: "mount(2), escaped layer names",
			vfs:  `rw,lowerdir=/l/we\134\054ird\134:la\134\134yer:/l/base,upperdir=/a/up\134\054per,workdir=/a/work,redirect_dir=nofollow,uuid=on`,
			want: overlayOptions{lower: []string{`/l/we,ird:la\yer`, "/l/base"}, upper: `/a/up\,per`, work: "/a/work", redirect: "nofollow"},
		},
		{
			name: "lowerdir+, plain names",
			vfs:  `rw,lowerdir+=/l/we\054ird:la\134yer,lowerdir+=/l/base,upperdir=/a/upper,workdir=/a/work,redirect_dir=nofollow,metacopy=on`,
			want: overlayOptions{lower: []string{`/l/we,ird:la\yer`, "/l/base"}, upper: "/a/upper", work: "/a/work", redirect: "nofollow", metacopy: "on"},
		},
		{
			name: "relative, no upper",
			vfs:  `ro,lowerdir=ruby:base`,
			want: overlayOptions{lower: []string{"ruby", "base"}},
		},
		{
			name: "data-only layer",
			vfs:  `rw,lowerdir+=/l/a,datadir+=/l/d,upperdir=/u,workdir=/w`,
			want: overlayOptions{lower: []string{"/l/a"}, upper: "/u", work: "/w", data: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseOverlayOptions(tt.vfs)
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(overlayOptions{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestRelativeLower(t *testing.T) {
	tests := []struct {
		name  string
		lower []string
		dir   string
		rel   []string
		ok    bool
	}{
		{"one layers directory", []string{"/srv/layers/ruby", "/srv/layers/base"}, "/srv/layers", []string{"ruby", "base"}, true},
		{"nested", []string{"/srv/layers/a/x", "/srv/layers/b"}, "/srv/layers", []string{"a/x", "b"}, true},
		{"common name prefix is not a directory", []string{"/srv/lay1/a", "/srv/lay2/b"}, "/srv", []string{"lay1/a", "lay2/b"}, true},
		{"one layer", []string{"/srv/layers/base"}, "/srv/layers", []string{"base"}, true},
		{"only / in common", []string{"/a/x", "/b/y"}, "", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, rel, ok := relativeLower(tt.lower)
			if dir != tt.dir || ok != tt.ok || !cmp.Equal(rel, tt.rel) {
				t.Errorf("relativeLower(%q) = %q, %q, %v; want %q, %q, %v", tt.lower, dir, rel, ok, tt.dir, tt.rel, tt.ok)
			}
		})
	}
}

func TestMountTableState(t *testing.T) {
	o := Overlay{Account: "site1", Target: "/acc/site1/root", Upper: "/acc/site1/upper", Work: "/acc/site1/work",
		Lower: []string{"/srv/layers/ruby", "/srv/layers/base"}, Layers: []string{"ruby", "base"}}
	const (
		flags = "rw,nosuid,nodev,noexec,relatime"
		dirs  = "upperdir=/acc/site1/upper,workdir=/acc/site1/work"
	)
	follow := OverlayDefaults{RedirectDir: "follow"}
	nofollow := OverlayDefaults{RedirectDir: "nofollow"}
	mount := func(id, parent int, opts, fstype, vfs string) *mountinfo.Info {
		return &mountinfo.Info{ID: id, Parent: parent, Root: "/", Mountpoint: o.Target, Options: opts, FSType: fstype, Source: "overlay", VFSOptions: vfs}
	}
	tests := []struct {
		name     string
		mounts   []*mountinfo.Info
		defaults OverlayDefaults
		want     MountState
		why      string
	}{
		{"nothing mounted", nil, follow, MountMissing, ""},
		{"mount(2)", []*mountinfo.Info{mount(10, 1, flags, "overlay",
			"rw,lowerdir=/srv/layers/ruby:/srv/layers/base,"+dirs+",redirect_dir=nofollow")}, follow, MountCorrect, ""},
		{"lowerdir+", []*mountinfo.Info{mount(10, 1, flags, "overlay",
			"rw,lowerdir+=/srv/layers/ruby,lowerdir+=/srv/layers/base,"+dirs+",redirect_dir=nofollow,uuid=on")}, follow, MountCorrect, ""},
		{"relative layers", []*mountinfo.Info{mount(10, 1, flags, "overlay",
			"rw,lowerdir=ruby:base,"+dirs+",redirect_dir=nofollow")}, follow, MountCorrect, ""},
		{"nofollow is the default, so not shown", []*mountinfo.Info{mount(10, 1, flags, "overlay",
			"rw,lowerdir=/srv/layers/ruby:/srv/layers/base,"+dirs)}, nofollow, MountCorrect, ""},
		{"redirect_dir left to a follow default", []*mountinfo.Info{mount(10, 1, flags, "overlay",
			"rw,lowerdir=/srv/layers/ruby:/srv/layers/base,"+dirs)}, follow, MountDifferent, `redirect_dir is "follow", want "nofollow"`},
		{"metacopy on", []*mountinfo.Info{mount(10, 1, flags, "overlay",
			"rw,lowerdir=/srv/layers/ruby:/srv/layers/base,"+dirs+",redirect_dir=nofollow,metacopy=on")}, follow, MountDifferent, "metacopy is on, want off"},
		{"older stack", []*mountinfo.Info{mount(10, 1, flags, "overlay",
			"rw,lowerdir=/srv/layers/base,"+dirs+",redirect_dir=nofollow")}, follow, MountDifferent,
			"lowerdir is /srv/layers/base, want /srv/layers/ruby:/srv/layers/base"},
		{"layers in another order", []*mountinfo.Info{mount(10, 1, flags, "overlay",
			"rw,lowerdir=/srv/layers/base:/srv/layers/ruby,"+dirs+",redirect_dir=nofollow")}, follow, MountDifferent,
			"lowerdir is /srv/layers/base:/srv/layers/ruby, want /srv/layers/ruby:/srv/layers/base"},
		{"another upper", []*mountinfo.Info{mount(10, 1, flags, "overlay",
			"rw,lowerdir=/srv/layers/ruby:/srv/layers/base,upperdir=/acc/site2/upper,workdir=/acc/site1/work,redirect_dir=nofollow")}, follow, MountDifferent,
			`upperdir is "/acc/site2/upper", want "/acc/site1/upper"`},
		{"exec allowed", []*mountinfo.Info{mount(10, 1, "rw,nosuid,nodev,relatime", "overlay",
			"rw,lowerdir=/srv/layers/ruby:/srv/layers/base,"+dirs+",redirect_dir=nofollow")}, follow, MountDifferent,
			"mounted without noexec (has rw,nosuid,nodev,relatime)"},
		{"not an overlay", []*mountinfo.Info{mount(10, 1, flags, "tmpfs", "rw")}, follow, MountDifferent,
			"a tmpfs filesystem is mounted, not overlay"},
		{"the top of two stacked mounts counts", []*mountinfo.Info{
			mount(11, 10, flags, "overlay", "rw,lowerdir=/srv/layers/ruby:/srv/layers/base,"+dirs+",redirect_dir=nofollow"),
			mount(10, 1, flags, "tmpfs", "rw"),
		}, follow, MountCorrect, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := NewMountTable(tt.mounts, tt.defaults).State(o)
			if st.State != tt.want || st.Why != tt.why {
				t.Errorf("State = %v %q, want %v %q", st.State, st.Why, tt.want, tt.why)
			}
			if (st.Info == nil) != (tt.want == MountMissing) {
				t.Errorf("Info = %v for state %v", st.Info, st.State)
			}
		})
	}
}

func TestUnder(t *testing.T) {
	o := Overlay{Account: "a", Target: "/acc/a/root", Upper: "/acc/a/upper", Work: "/acc/a/work",
		Lower: []string{"/l/ruby", "/l/base"}, Layers: []string{"ruby", "base"}}
	tests := []struct {
		root string
		want Overlay
	}{
		{"", o},
		{"/", o},
		{"/tmp/r", Overlay{Account: "a", Target: "/tmp/r/acc/a/root", Upper: "/tmp/r/acc/a/upper", Work: "/tmp/r/acc/a/work",
			Lower: []string{"/tmp/r/l/ruby", "/tmp/r/l/base"}, Layers: []string{"ruby", "base"}}},
	}
	for _, tt := range tests {
		t.Run("root="+tt.root, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, o.Under(tt.root)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if got, want := DirsOf("/acc", "a").Under(tt.root).Upper, tt.want.Upper; got != want {
				t.Errorf("AccountDirs.Under: upper %s, want %s", got, want)
			}
		})
	}
	if o.Under("/tmp/r"); o.Lower[0] != "/l/ruby" {
		t.Error("Under changed its receiver's layers")
	}
}
