package acl

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

var benchBinaries = []string{"/usr/bin/rm", "/usr/bin/mv", "/usr/bin/cp"}

// benchTargets lists the binaries on a host root and in n layers under
// dir.
func benchTargets(dir string, n int) []DenyTarget {
	trees := []string{filepath.Join(dir, "host")}
	for i := range n {
		trees = append(trees, filepath.Join(dir, "layers", fmt.Sprintf("l%02d", i)))
	}
	var targets []DenyTarget
	for _, tree := range trees {
		for _, bin := range benchBinaries {
			targets = append(targets, DenyTarget{Tree: tree, Path: bin})
		}
	}
	return targets
}

// makeBenchTrees creates the files of benchTargets and denies them once.
func makeBenchTrees(tb testing.TB, dir string, n int) []DenyTarget {
	tb.Helper()
	targets := benchTargets(dir, n)
	for _, tg := range targets {
		writeFile(tb, filepath.Join(tg.Tree, tg.Path), []byte("binary\n"), 0o755)
	}
	for _, r := range Deny(targets, 33, false) {
		if r.Status != Changed {
			tb.Fatalf("first Deny: %+v", r)
		}
	}
	return targets
}

// BenchmarkDeny measures a run with nothing to change: 3 binaries on a
// host root and in 50 layers, 153 paths.
func BenchmarkDeny(b *testing.B) {
	requireRoot(b)
	dir := b.TempDir()
	requireACLs(b, dir)
	targets := makeBenchTrees(b, dir, 50)
	runs := 0
	for b.Loop() {
		Deny(targets, 33, false)
		runs++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(runs*len(targets)), "ns/path")
	for _, r := range Deny(targets, 33, false) {
		if r.Status != Unchanged {
			b.Fatalf("Deny with nothing to change: %+v", r)
		}
	}
}

// childSyscalls runs Deny once over the trees benchTargets describes, for
// TestDenySyscalls to count under strace. arg is "DIR:LAYERS".
func childSyscalls(arg string) error {
	i := strings.LastIndexByte(arg, ':')
	n, err := strconv.Atoi(arg[i+1:])
	if err != nil {
		return err
	}
	for _, r := range Deny(benchTargets(arg[:i], n), 33, false) {
		if r.Status != Unchanged {
			return fmt.Errorf("Deny with nothing to change: %+v", r)
		}
	}
	return nil
}

// straceCounts runs childSyscalls under strace -c -f and returns the
// number of calls of each system call.
func straceCounts(t *testing.T, dir string, layers int) map[string]int {
	t.Helper()
	out := filepath.Join(t.TempDir(), "strace.out")
	cmd := exec.Command("strace", "-c", "-f", "-o", out, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "PHPGUARD_ACL_CHILD=syscalls",
		fmt.Sprintf("PHPGUARD_ACL_ARG=%s:%d", dir, layers))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("strace: %v\n%s", err, b)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	// % time  seconds  usecs/call  calls  [errors]  syscall
	counts := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 || fields[len(fields)-1] == "total" {
			continue
		}
		calls, err := strconv.Atoi(fields[3])
		if err != nil {
			continue
		}
		counts[fields[len(fields)-1]] = calls
	}
	return counts
}

// TestDenySyscalls counts the system calls of a Deny run with nothing
// to change, per path: the difference between 153 paths (50 layers)
// and 3 paths (no layer), so that the test binary's own start-up
// cancels out. The run must cost only the reads: no setxattr at all.
func TestDenySyscalls(t *testing.T) {
	requireRoot(t)
	requireTool(t, "strace")
	dir := t.TempDir()
	requireACLs(t, dir)
	small, large := filepath.Join(dir, "small"), filepath.Join(dir, "large")
	nSmall := len(makeBenchTrees(t, small, 0))
	nLarge := len(makeBenchTrees(t, large, 50))

	a, b := straceCounts(t, small, 0), straceCounts(t, large, 50)
	names := map[string]bool{}
	for k := range a {
		names[k] = true
	}
	for k := range b {
		names[k] = true
	}
	sorted := make([]string, 0, len(names))
	for k := range names {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)

	// Only the calls on files count: the Go runtime's own (futex,
	// nanosleep, signals) vary with scheduling, not with the paths.
	fileCalls := map[string]bool{"openat2": true, "openat": true, "open": true, "fstat": true,
		"newfstatat": true, "statx": true, "fcntl": true, "fgetxattr": true, "fsetxattr": true,
		"getxattr": true, "setxattr": true, "lgetxattr": true, "lsetxattr": true, "close": true,
		"readlinkat": true, "readlink": true, "fchmod": true, "fchmodat": true, "chmod": true}
	perPath := map[string]float64{}
	var report, noise strings.Builder
	total := 0.0
	for _, k := range sorted {
		d := float64(b[k]-a[k]) / float64(nLarge-nSmall)
		perPath[k] = d
		switch {
		case fileCalls[k]:
			fmt.Fprintf(&report, "  %-12s %5.2f\n", k, d)
			total += d
		case d >= 0.05:
			fmt.Fprintf(&noise, " %s %.2f", k, d)
		}
	}
	t.Logf("file system calls per path with nothing to change (%d vs %d paths; one open and close per tree"+
		" included):\n%s  %-12s %5.2f\nruntime, not counted:%s", nLarge, nSmall, report.String(), "total", total, noise.String())

	for _, k := range []string{"setxattr", "fsetxattr", "lsetxattr", "chmod", "fchmod", "fchmodat"} {
		if a[k]+b[k] != 0 {
			t.Errorf("%s called %d times in a run with nothing to change", k, a[k]+b[k])
		}
	}
	for k, want := range map[string]float64{"openat2": 1, "fgetxattr": 1} {
		if got := perPath[k]; got < want-0.01 || got > want+0.01 {
			t.Errorf("%s: %.2f calls per path, want %.0f", k, got, want)
		}
	}
	if total > 9 {
		t.Errorf("%.2f file system calls per path, want at most 9", total)
	}
}
