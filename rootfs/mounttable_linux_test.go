package rootfs

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// syntheticMountinfo returns a mount table of n accounts, all mounted with
// the right stack, among the usual system mounts.
func syntheticMountinfo(n int) ([]byte, []Overlay) {
	var b bytes.Buffer
	b.WriteString("22 27 0:21 / /proc rw,relatime - proc proc rw\n")
	b.WriteString("27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n")
	var all []Overlay
	for i := range n {
		name := fmt.Sprintf("site%04d", i)
		d := DirsOf("/home/virtual", name)
		o := Overlay{Account: name, Target: d.Root, Upper: d.Upper, Work: d.Work,
			Lower: []string{"/srv/phpguard/layers/terminal", "/srv/phpguard/layers/base"}, Layers: []string{"terminal", "base"}}
		fmt.Fprintf(&b, "%d 27 0:%d / %s rw,nosuid,nodev,noexec,relatime shared:%d - overlay overlay rw,lowerdir+=%s,lowerdir+=%s,upperdir=%s,workdir=%s,redirect_dir=nofollow,uuid=on\n",
			100+i, 40+i, o.Target, 100+i, o.Lower[0], o.Lower[1], o.Upper, o.Work)
		all = append(all, o)
	}
	return b.Bytes(), all
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// BenchmarkCheck reads a mount table of 1,000 correct accounts once and
// asks it about each.
func BenchmarkCheck(b *testing.B) {
	data, all := syntheticMountinfo(1000)
	defaults := OverlayDefaults{RedirectDir: "follow"}
	b.ReportAllocs()
	for b.Loop() {
		r := &countingReader{r: bytes.NewReader(data)}
		table, err := ParseMountTable(r, defaults)
		if err != nil {
			b.Fatal(err)
		}
		for _, o := range all {
			if st := table.State(o); st.State != MountCorrect {
				b.Fatalf("%s: %v %s", o.Account, st.State, st.Why)
			}
		}
		// The table was read once: exactly its bytes, not once per account.
		if r.n != len(data) {
			b.Fatalf("read %d bytes of a %d-byte table", r.n, len(data))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/account")
}

func TestCanonical(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real")
	for _, d := range []string{real + "/layers/base", real + "/accounts/site1"} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(real, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	o := Overlay{Account: "site1", Target: link + "/accounts/site1/root", Upper: link + "/accounts/site1/upper",
		Work: link + "/accounts/site1/work", Lower: []string{link + "/layers/base", link + "/layers/missing"}}
	got, err := Canonical(o)
	if err != nil {
		t.Fatal(err)
	}
	want := Overlay{Account: "site1", Target: real + "/accounts/site1/root", Upper: real + "/accounts/site1/upper",
		Work: real + "/accounts/site1/work", Lower: []string{real + "/layers/base", link + "/layers/missing"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
