package rootfs

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// The tests of Enter run it for real: a helper process (this test binary
// again, in a mount namespace of its own) makes / shared as systemd does,
// mounts an overlay of busybox layers as apply would, and calls Enter,
// which starts this binary once more as its child (InitEnter).

// enterHelperEnv holds the helperSpec of a helper process.
const enterHelperEnv = "PHPGUARD_TEST_ENTER_HELPER"

func init() {
	// Enter's child: runs the in-namespace part and execs, or exits.
	InitEnter()
	if spec := os.Getenv(enterHelperEnv); spec != "" {
		os.Exit(enterHelper(spec))
	}
}

// helperSpec is what a helper process does.
type helperSpec struct {
	Mount   string // "overlay", "tmpfs" or "" (nothing mounted on Root)
	Lower   []string
	Upper   string
	Work    string
	Root    string
	Account string
	UID     int
	Command []string
	Term    string
	Plain   bool // call Enter only: no namespace set-up (the non-root test)
}

// enterHelper runs in a new mount namespace: it mounts, enters, checks
// that no mount of the entry reached its own namespace, and exits with the
// command's status. Enter's error goes to stderr after "enter error: ".
func enterHelper(js string) int {
	var s helperSpec
	if err := json.Unmarshal([]byte(js), &s); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 90
	}
	var before map[string]bool
	if !s.Plain {
		// Shared propagation, as systemd sets it up on every host: Enter
		// must not let its mounts propagate back here.
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_SHARED, ""); err != nil {
			fmt.Fprintln(os.Stderr, "helper: make / rshared:", err)
			return 90
		}
		if err := helperMount(s); err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			return 90
		}
		before = mountPoints()
	}
	status, err := Enter(Entry{
		Account: s.Account, Root: s.Root, UID: s.UID, GID: s.UID,
		Command: s.Command, Term: s.Term, Layout: DefaultLayout(),
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "enter error:", err)
	}
	if !s.Plain {
		for m := range mountPoints() {
			if !before[m] {
				fmt.Fprintln(os.Stderr, "helper: a mount of the entry reached the caller's namespace:", m)
				return 91
			}
		}
	}
	return status
}

func helperMount(s helperSpec) error {
	const hostFlags = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC
	switch s.Mount {
	case "overlay":
		o := Overlay{Lower: s.Lower, Upper: s.Upper, Work: s.Work}
		return unix.Mount("overlay", s.Root, "overlay", hostFlags, o.Options())
	case "tmpfs":
		return unix.Mount("tmpfs", s.Root, "tmpfs", hostFlags, "size=1m")
	}
	return nil
}

func mountPoints() map[string]bool {
	ms, err := mountinfo.GetMounts(nil)
	if err != nil {
		panic(err)
	}
	out := make(map[string]bool, len(ms))
	for _, m := range ms {
		out[m.Mountpoint] = true
	}
	return out
}

// enterRequire skips the test when it cannot run here, or fails it when
// PHPGUARD_REQUIRE_ALL=1 (CI).
func enterRequire(t *testing.T) {
	t.Helper()
	why := ""
	if os.Geteuid() != 0 {
		why = "needs root"
	} else if _, err := os.Stat("/bin/busybox"); err != nil {
		why = "needs /bin/busybox (Debian: busybox-static)"
	}
	if why != "" {
		skipOrFail(t, "%s", why)
	}
}

const (
	testUID     = 10001
	testAccount = "site1"
)

// enterSandbox is a host tree for one account: a base layer with busybox
// and a passwd file, a top layer, the account's upper, work and root
// directories, and a directory of the host outside all of them.
type enterSandbox struct {
	dir, base, top, upper, work, root, host string
}

// busyboxApplets are linked into the base layer's /bin.
var busyboxApplets = []string{"sh", "id", "cat", "ls", "echo", "touch", "env", "pwd", "sleep", "stat", "grep", "test", "mkdir"}

func newEnterSandbox(t *testing.T) *enterSandbox {
	t.Helper()
	dir := t.TempDir()
	s := &enterSandbox{
		dir:   dir,
		base:  filepath.Join(dir, "layers", "base"),
		top:   filepath.Join(dir, "layers", "top"),
		upper: filepath.Join(dir, "accounts", testAccount, "upper"),
		work:  filepath.Join(dir, "accounts", testAccount, "work"),
		root:  filepath.Join(dir, "accounts", testAccount, "root"),
		host:  filepath.Join(dir, "host"),
	}
	for _, d := range []string{
		s.base + "/bin", s.base + "/etc", s.base + "/proc", s.base + "/dev", s.base + "/home",
		s.top + "/etc", s.top + "/bin",
		s.upper + "/tmp", s.upper + "/home/site1", s.work, s.root, s.host,
	} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatal(err)
	}
	enterWrite(t, s.base+"/bin/busybox", string(bb), 0o755)
	for _, a := range busyboxApplets {
		if err := os.Symlink("busybox", s.base+"/bin/"+a); err != nil {
			t.Fatal(err)
		}
	}
	enterWrite(t, s.base+"/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"+
		"site1:x:10001:10001:Site One:/home/site1:/bin/sh\n", 0o644)
	enterWrite(t, s.base+"/etc/motd", "base\n", 0o644)
	enterWrite(t, s.top+"/etc/motd", "top\n", 0o644)
	enterWrite(t, s.top+"/etc/only-top", "only in top\n", 0o644)
	enterWrite(t, s.host+"/marker", "host\n", 0o644)
	if err := unix.Chmod(s.upper+"/tmp", 0o1777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(s.upper+"/home/site1", testUID, testUID); err != nil {
		t.Fatal(err)
	}
	return s
}

func enterWrite(t *testing.T, name, data string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(name, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(name, mode); err != nil {
		t.Fatal(err)
	}
}

func (s *enterSandbox) spec(command ...string) helperSpec {
	return helperSpec{
		Mount: "overlay", Lower: []string{s.top, s.base}, Upper: s.upper, Work: s.work, Root: s.root,
		Account: testAccount, UID: testUID, Command: command, Term: "xterm-test",
	}
}

// result is what a helper process did.
type result struct {
	stdout, stderr string
	status         int
}

// enterErr is Enter's error as the helper printed it, or "".
func (r result) enterErr() string {
	for _, l := range strings.Split(r.stderr, "\n") {
		if e, ok := strings.CutPrefix(l, "enter error: "); ok {
			return e
		}
	}
	return ""
}

// helperCmd returns the command of a helper process in a new mount
// namespace (os/exec makes its mounts private after unshare, so nothing
// it mounts reaches the host).
func helperCmd(t *testing.T, spec helperSpec) *exec.Cmd {
	t.Helper()
	js, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0])
	// GORACE: a race-enabled binary otherwise sleeps a second before a
	// successful exit.
	cmd.Env = []string{enterHelperEnv + "=" + string(js), "GORACE=atexit_sleep_ms=0"}
	if !spec.Plain {
		cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: unix.CLONE_NEWNS}
	}
	return cmd
}

// runHelper runs a helper with stdin, and with a file of the host open
// on its descriptors 3 to 5, without close-on-exec, as a careless caller
// of phpguard would leave it: Enter's child gets its own pipes on 3 and
// 4, and must not pass 5 on to the command.
func runHelper(t *testing.T, spec helperSpec, stdin string) result {
	t.Helper()
	cmd := helperCmd(t, spec)
	cmd.Stdin = strings.NewReader(stdin)
	leak, err := os.Open(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	defer leak.Close()
	cmd.ExtraFiles = []*os.File{leak, leak, leak}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.status = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if r.status == 90 || r.status == 91 {
		t.Fatalf("helper failed (status %d): %s", r.status, r.stderr)
	}
	return r
}

func TestEnter(t *testing.T) {
	enterRequire(t)
	s := newEnterSandbox(t)

	tests := []struct {
		name    string
		command []string
		stdin   string
		want    string // stdout
		status  int
		errHas  string // in Enter's error; "" for none
	}{
		{name: "uid", command: []string{"id", "-u"}, want: "10001\n"},
		{name: "credentials", command: []string{"grep", "-E", "^(Uid|Gid|Groups|NoNewPrivs|CapPrm|CapEff):", "/proc/self/status"},
			want: "Uid:\t10001\t10001\t10001\t10001\nGid:\t10001\t10001\t10001\t10001\nGroups:\t \n" +
				"CapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nNoNewPrivs:\t1\n"},
		{name: "top-most layer wins", command: []string{"cat", "/etc/motd", "/etc/only-top"}, want: "top\nonly in top\n"},
		{name: "environment", command: []string{"env"},
			want: "HOME=/home/site1\nUSER=site1\nLOGNAME=site1\nSHELL=/bin/sh\nPATH=/usr/local/bin:/usr/bin:/bin\nTERM=xterm-test\n"},
		{name: "working directory", command: []string{"pwd"}, want: "/home/site1\n"},
		{name: "login shell by default", stdin: "id -u\necho $0\n", want: "10001\n-sh\n"},
		{name: "host file unreachable", command: []string{"cat", s.host + "/marker"}, status: 1},
		{name: "only the root", command: []string{"ls", "/"}, want: "bin\ndev\netc\nhome\nproc\ntmp\n"},
		{name: "dev", command: []string{"ls", "/dev"},
			want: "fd\nfull\nnull\nptmx\npts\nrandom\nshm\nstderr\nstdin\nstdout\ntty\nurandom\nzero\n"},
		{name: "only own processes", command: []string{"sh", "-c",
			`n=0; for p in /proc/[0-9]*; do u=$(stat -c %u $p) || continue; [ "$u" = 10001 ] || echo "pid ${p#/proc/} uid $u"; n=$((n+1)); done; [ $n -gt 0 ] && echo ok; cat /proc/1/status`},
			want: "ok\n", status: 1},
		{name: "root executable, nosuid, nodev", command: []string{"sh", "-c",
			`while read -r id p mj r mp o rest; do [ "$mp" = / ] && echo "$o"; done < /proc/self/mountinfo; exit 0`},
			want: "rw,nosuid,nodev,relatime\n"},
		{name: "no inherited descriptors", command: []string{"ls", "/proc/self/fd"}, want: "0\n1\n2\n3\n"},
		{name: "exit status", command: []string{"sh", "-c", "exit 7"}, status: 7},
		{name: "not found", command: []string{"no-such-command"}, status: StatusNotFound, errHas: "exec no-such-command: not found in " + EnterPath},
		{name: "not executable", command: []string{"/etc/motd"}, status: StatusCannotRun, errHas: "exec /etc/motd: permission denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runHelper(t, s.spec(tt.command...), tt.stdin)
			if diff := cmp.Diff(tt.want, r.stdout); diff != "" {
				t.Errorf("stdout (-want +got):\n%s\nstderr: %s", diff, r.stderr)
			}
			if r.status != tt.status {
				t.Errorf("status = %d, want %d; stderr: %s", r.status, tt.status, r.stderr)
			}
			if got := r.enterErr(); (tt.errHas == "") != (got == "") || !strings.Contains(got, tt.errHas) {
				t.Errorf("enter error = %q, want one with %q", got, tt.errHas)
			}
		})
	}
}

func TestEnterWritesLandInUpper(t *testing.T) {
	enterRequire(t)
	s := newEnterSandbox(t)
	r := runHelper(t, s.spec("sh", "-c", "echo written > /home/site1/new; echo changed > /etc/motd"), "")
	if r.status != 1 {
		t.Errorf("status %d, want 1 (the second write fails): %s", r.status, r.stderr)
	}
	// /etc/motd is root's in the layer: the account cannot change it.
	if !strings.Contains(r.stderr, "Permission denied") {
		t.Errorf("writing /etc/motd: stderr = %q, want a permission error", r.stderr)
	}
	var st unix.Stat_t
	if err := unix.Lstat(s.upper+"/home/site1/new", &st); err != nil {
		t.Fatal(err)
	}
	if st.Uid != testUID || st.Gid != testUID {
		t.Errorf("upper/home/site1/new owned by %d:%d, want %d:%d", st.Uid, st.Gid, testUID, testUID)
	}
	got := map[string]string{}
	for _, p := range []string{s.upper + "/home/site1/new", s.top + "/etc/motd", s.base + "/etc/motd"} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		got[p] = string(b)
	}
	want := map[string]string{s.upper + "/home/site1/new": "written\n", s.top + "/etc/motd": "top\n", s.base + "/etc/motd": "base\n"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	if _, err := os.Lstat(s.upper + "/etc/motd"); err == nil {
		t.Errorf("upper/etc/motd exists: the account changed a layer's file")
	}
}

// TestEnterSetuid runs a setuid-root binary placed in a layer. busybox
// drops a setuid bit by itself, so the witness is a small static Go
// program, built here, that prints its real and effective uid.
func TestEnterSetuid(t *testing.T) {
	enterRequire(t)
	s := newEnterSandbox(t)
	probe := buildProbe(t)
	dst := s.top + "/bin/suid-probe"
	b, err := os.ReadFile(probe)
	if err != nil {
		t.Fatal(err)
	}
	enterWrite(t, dst, string(b), 0o755)
	// unix.Chmod: os.Chmod takes the setuid bit as os.ModeSetuid.
	if err := unix.Chmod(dst, 0o4755); err != nil {
		t.Fatal(err)
	}

	// The witness works: run from the layer directly by a user (the
	// layer is not on a nosuid mount here), it gets euid 0.
	cmd := exec.Command(dst)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	for _, d := range []string{filepath.Dir(s.dir), s.dir, s.top, s.top + "/bin"} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("run the probe outside: %v", err)
	}
	if string(out) != "uid=65534 euid=0\n" {
		skipOrFail(t, "%s", fmt.Sprintf("the probe gains no privilege outside either (%q): is %s on a nosuid mount?", out, s.dir))
	}

	r := runHelper(t, s.spec("/bin/suid-probe"), "")
	if diff := cmp.Diff("uid=10001 euid=10001\n", r.stdout); diff != "" {
		t.Errorf("inside the root (-want +got):\n%s\nstderr: %s", diff, r.stderr)
	}
}

func buildProbe(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	enterWrite(t, dir+"/go.mod", "module probe\n\ngo 1.22\n", 0o644)
	enterWrite(t, dir+"/main.go", `package main

import (
	"fmt"
	"os"
)

func main() { fmt.Printf("uid=%d euid=%d\n", os.Getuid(), os.Geteuid()) }
`, 0o644)
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(goroot(), "bin", "go")
	}
	cmd := exec.Command(gobin, "build", "-o", "probe", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=", "GOWORK=off", "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the setuid probe: %v\n%s", err, out)
	}
	return dir + "/probe"
}

func goroot() string {
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err == nil {
		return strings.TrimSpace(string(out))
	}
	return "/usr/local/go"
}

// TestEnterHostileLinks plants symbolic links where the layout mounts, in
// a layer or in the client layer, pointing out of the root: enter fails,
// names the link, and mounts nothing on the host's directory.
func TestEnterHostileLinks(t *testing.T) {
	enterRequire(t)
	tests := []struct {
		name  string
		plant func(s *enterSandbox) error
		want  string
	}{
		{"proc in a layer, absolute", func(s *enterSandbox) error {
			if err := os.Remove(s.base + "/proc"); err != nil {
				return err
			}
			return os.Symlink(s.host, s.base+"/proc")
		}, "/proc is a symbolic link or lies under one"},
		{"dev in the client layer, relative", func(s *enterSandbox) error {
			return os.Symlink("../../../../host", s.upper+"/dev")
		}, "/dev is a symbolic link or lies under one"},
		{"proc in the client layer, to the host's /proc", func(s *enterSandbox) error {
			return os.Symlink("/proc", s.upper+"/proc")
		}, "/proc is a symbolic link or lies under one"},
		{"proc a file", func(s *enterSandbox) error {
			return os.WriteFile(s.upper+"/proc", nil, 0o644)
		}, "/proc is not a directory"},
		{"passwd through a magic link", func(s *enterSandbox) error {
			if err := os.MkdirAll(s.upper+"/etc", 0o755); err != nil {
				return err
			}
			return os.Symlink("/proc/self/root/etc/passwd", s.upper+"/etc/passwd")
		}, "open /etc/passwd in the account's root: too many levels of symbolic links"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newEnterSandbox(t)
			if err := tt.plant(s); err != nil {
				t.Fatal(err)
			}
			r := runHelper(t, s.spec("id", "-u"), "")
			if r.status != 1 || r.stdout != "" {
				t.Errorf("status %d, stdout %q: the command ran", r.status, r.stdout)
			}
			if got := r.enterErr(); !strings.Contains(got, tt.want) {
				t.Errorf("enter error = %q, want one with %q", got, tt.want)
			}
			// The host's directory is as it was: nothing mounted or made
			// there (the helper also checked that no mount reached its
			// namespace).
			ents, err := os.ReadDir(s.host)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, e := range ents {
				names = append(names, e.Name())
			}
			if diff := cmp.Diff([]string{"marker"}, names); diff != "" {
				t.Errorf("host directory (-want +got):\n%s", diff)
			}
		})
	}
}

// TestEnterPasswdOutsideRoot: an absolute link to a host file is read
// inside the root, where it does not exist, so the defaults apply.
func TestEnterPasswdOutsideRoot(t *testing.T) {
	enterRequire(t)
	s := newEnterSandbox(t)
	enterWrite(t, s.host+"/passwd", "site1:x:10001:10001::/HOST-HOME:/HOST-SHELL\n", 0o644)
	if err := os.MkdirAll(s.upper+"/etc", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(s.host+"/passwd", s.upper+"/etc/passwd"); err != nil {
		t.Fatal(err)
	}
	r := runHelper(t, s.spec("env"), "")
	want := "HOME=/\nUSER=site1\nLOGNAME=site1\nSHELL=/bin/sh\nPATH=" + EnterPath + "\nTERM=xterm-test\n"
	if diff := cmp.Diff(want, r.stdout); diff != "" {
		t.Errorf("env (-want +got):\n%s\nstderr: %s", diff, r.stderr)
	}
}

func TestEnterNotAnOverlay(t *testing.T) {
	enterRequire(t)
	tests := []struct {
		mount, want string
	}{
		{"", "is not mounted: run phpguard apply first"},
		{"tmpfs", "has a tmpfs filesystem mounted, not an overlay"},
	}
	for _, tt := range tests {
		t.Run("mount="+tt.mount, func(t *testing.T) {
			s := newEnterSandbox(t)
			spec := s.spec("id", "-u")
			spec.Mount = tt.mount
			r := runHelper(t, spec, "")
			if r.status != 1 || r.stdout != "" {
				t.Errorf("status %d, stdout %q", r.status, r.stdout)
			}
			if got := r.enterErr(); !strings.Contains(got, s.root+" "+tt.want) {
				t.Errorf("enter error = %q, want one with %q", got, s.root+" "+tt.want)
			}
		})
	}
}

func TestEnterRefusesNonRoot(t *testing.T) {
	enterRequire(t)
	s := newEnterSandbox(t)
	spec := s.spec("id", "-u")
	spec.Plain = true
	// A copy of this test binary that the user may run.
	bin := filepath.Join(s.dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	test, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	enterWrite(t, bin+"/test", string(test), 0o755)
	for _, d := range []string{filepath.Dir(s.dir), s.dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := helperCmd(t, spec)
	cmd.Path = bin + "/test"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Errorf("exit: %v, want status 1", err)
	}
	if want := "enter error: enter site1: must be run by root (uid 65534, euid 65534)"; !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr = %q, want %q", stderr.String(), want)
	}
}

// TestEnterForwardsSignals sends SIGTERM to the entering process (as
// systemd stops a unit): the command gets it, and its status is Enter's.
func TestEnterForwardsSignals(t *testing.T) {
	enterRequire(t)
	s := newEnterSandbox(t)
	cmd := helperCmd(t, s.spec("sh", "-c", `trap 'echo got TERM; exit 42' TERM; echo ready; while :; do sleep 1; done`))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() || lines.Text() != "ready" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("no ready line: %q; stderr: %s", lines.Text(), stderr.String())
	}
	if err := cmd.Process.Signal(unix.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var rest []string
	for lines.Scan() {
		rest = append(rest, lines.Text())
	}
	timer := time.AfterFunc(30*time.Second, func() { cmd.Process.Kill() })
	defer timer.Stop()
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 42 {
		t.Errorf("exit: %v, want status 42; stderr: %s", err, stderr.String())
	}
	if !slices.Equal(rest, []string{"got TERM"}) {
		t.Errorf("output after the signal = %q, want [got TERM]", rest)
	}
}

func TestParsePasswd(t *testing.T) {
	const file = "root:x:0:0:root:/root:/bin/bash\n" +
		"broken line\n" +
		"short:x:10001:10001\n" +
		"site1:x:10001:10001:Site:/home/site1:/bin/bash\n" +
		"again:x:10001:10001::/other:/bin/sh\n" +
		"nul\x00:x:10002:1::/:/bin/sh\n"
	tests := []struct {
		uid    int
		want   passwdEntry
		wantOK bool
	}{
		{0, passwdEntry{Name: "root", Home: "/root", Shell: "/bin/bash"}, true},
		{10001, passwdEntry{Name: "site1", Home: "/home/site1", Shell: "/bin/bash"}, true},
		{10002, passwdEntry{}, false},
		{4242, passwdEntry{}, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.uid), func(t *testing.T) {
			got, ok, err := parsePasswd(strings.NewReader(file), tt.uid)
			if err != nil {
				t.Fatal(err)
			}
			if ok != tt.wantOK {
				t.Errorf("found = %v, want %v", ok, tt.wantOK)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestMountFlags(t *testing.T) {
	got, err := mountFlags([]string{"nosuid", "nodev", "noexec", "ro"})
	if err != nil {
		t.Fatal(err)
	}
	if want := uintptr(unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_RDONLY); got != want {
		t.Errorf("mountFlags = %#x, want %#x", got, want)
	}
	if _, err := mountFlags([]string{"suid"}); err == nil {
		t.Error("mountFlags accepted an unknown flag")
	}
}
