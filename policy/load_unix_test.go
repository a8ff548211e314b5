//go:build unix

package policy

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// loadSoon runs Load, and fails the test instead of hanging if Load
// blocks, as an open(2) of a FIFO without O_NONBLOCK does (fifo(7)).
// The blocked goroutine is then left behind.
func loadSoon(t *testing.T, name string) (*Policy, List, error) {
	t.Helper()
	type result struct {
		p     *Policy
		warns List
		err   error
	}
	done := make(chan result, 1)
	go func() {
		p, warns, err := Load(name)
		done <- result{p, warns, err}
	}()
	select {
	case r := <-done:
		return r.p, r.warns, r.err
	case <-time.After(5 * time.Second):
		t.Fatalf("Load(%s) blocked", name)
		return nil, nil, nil
	}
}

func mkfifo(t *testing.T, name string) {
	t.Helper()
	if err := unix.Mkfifo(name, 0o644); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, name string) {
	t.Helper()
	if err := os.Symlink(target, name); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, name, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestLoadNotRegular checks that a policy file that is not a regular
// file is refused at once, without reading it: a FIFO would block
// validate for ever, and a device could be read without end.
func TestLoadNotRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.yaml")
	mkfifo(t, fifo)
	sock := filepath.Join(dir, "sock.yaml")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	linkFifo := filepath.Join(dir, "link.yaml")
	symlink(t, fifo, linkFifo)
	good := filepath.Join(dir, "real.yaml")
	writeFile(t, good, "version: 1\n")
	linkGood := filepath.Join(dir, "good.yaml")
	symlink(t, good, linkGood)

	for _, tc := range []struct {
		name, file, want string
	}{
		{"FIFO", fifo, "read policy " + fifo + ": a named pipe (FIFO), not a regular file"},
		{"link to a FIFO", linkFifo, "read policy " + linkFifo + ": a named pipe (FIFO), not a regular file"},
		{"socket", sock, "read policy: open " + sock + ": no such device or address"},
		{"character device", "/dev/null", "read policy /dev/null: a character device, not a regular file"},
		{"link to a regular file", linkGood, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, _, err := loadSoon(t, tc.file)
			if diff := cmp.Diff(tc.want, errString(err)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			var l List
			if errors.As(err, &l) {
				t.Errorf("Load returned a List, want an I/O error")
			}
			if (p != nil) != (tc.want == "") {
				t.Errorf("Load returned policy %v with error %v", p, err)
			}
		})
	}
}

// TestLoadDirEntries checks that a policy directory reports what it
// would not read, rather than lose the accounts in it.
func TestLoadDirEntries(t *testing.T) {
	const server = "version: 1\n"
	const account = "name: site1\nuid: 10001\ngid: 10001\n"
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  []string // messages, with dir replaced by DIR
	}{
		{"plain", func(t *testing.T, dir string) {}, nil},
		{"hidden files are skipped", func(t *testing.T, dir string) {
			writeFile(t, dir+"/.site1.yaml.swp", "\x00")
			writeFile(t, dir+"/accounts/.#site1.yaml", "name: [")
			mkfifo(t, dir+"/accounts/.fifo.yaml")
			writeFile(t, dir+"/.git/HEAD", "ref: refs/heads/main\n")
		}, nil},
		{"other regular files in accounts/", func(t *testing.T, dir string) {
			writeFile(t, dir+"/accounts/README", "notes\n")
		}, nil},
		{"link to an account file", func(t *testing.T, dir string) {
			writeFile(t, dir+"/elsewhere/site2.yaml", "name: site2\nuid: 10002\ngid: 10002\n")
			symlink(t, "../elsewhere/site2.yaml", dir+"/accounts/site2.yaml")
		}, []string{"DIR/elsewhere/: not part of the policy: a policy directory holds only server.yaml and accounts/ (and hidden files, which are skipped), so accounts anywhere else would be left out; move or remove it"}},
		{"misnamed accounts directory", func(t *testing.T, dir string) {
			writeFile(t, dir+"/account/site2.yaml", account)
			writeFile(t, dir+"/site3.yaml", account)
		}, []string{
			"DIR/account/: not part of the policy: a policy directory holds only server.yaml and accounts/ (and hidden files, which are skipped), so accounts anywhere else would be left out; move or remove it",
			"DIR/site3.yaml: not part of the policy: a policy directory holds only server.yaml and accounts/ (and hidden files, which are skipped), so accounts anywhere else would be left out; move or remove it",
		}},
		{"subdirectory", func(t *testing.T, dir string) {
			writeFile(t, dir+"/accounts/more/site2.yaml", account)
		}, []string{"DIR/accounts/more/: a directory, not an account file: accounts/ is not searched recursively, so the accounts in it would be left out; move them up or remove it"}},
		{"link to a directory", func(t *testing.T, dir string) {
			writeFile(t, dir+"/.more/site2.yaml", account)
			symlink(t, "../.more", dir+"/accounts/more.yaml")
		}, []string{"DIR/accounts/more.yaml: a symbolic link to a directory, not an account file: accounts/ is not searched recursively, so the accounts in it would be left out; move them up or remove it"}},
		{"FIFO", func(t *testing.T, dir string) {
			mkfifo(t, dir+"/accounts/site2.yaml")
		}, []string{"DIR/accounts/site2.yaml: a named pipe (FIFO), not an account file: account files are regular files named *.yaml; remove it"}},
		{"link to a device", func(t *testing.T, dir string) {
			symlink(t, "/dev/zero", dir+"/accounts/zero")
		}, []string{"DIR/accounts/zero: a symbolic link to a character device, not an account file: account files are regular files named *.yaml; remove it"}},
		{"dangling link", func(t *testing.T, dir string) {
			symlink(t, "nowhere.yaml", dir+"/accounts/site2.yaml")
		}, []string{"DIR/accounts/site2.yaml: a symbolic link that cannot be followed (no such file or directory): fix or remove it"}},
		{".yml", func(t *testing.T, dir string) {
			writeFile(t, dir+"/accounts/site2.yml", account)
		}, []string{"DIR/accounts/site2.yml: account files end in .yaml: this file is not read; rename it"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir+"/server.yaml", server)
			writeFile(t, dir+"/accounts/site1.yaml", account)
			tc.setup(t, dir)
			p, _, err := loadSoon(t, dir)
			var got []string
			if err != nil {
				var l List
				if !errors.As(err, &l) {
					t.Fatalf("Load: %v", err)
				}
				for _, d := range l {
					got = append(got, strings.ReplaceAll(d.Error(), dir, "DIR"))
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if err == nil && len(p.Accounts) == 0 {
				t.Error("Load lost the accounts")
			}
		})
	}
}
