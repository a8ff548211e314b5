package apply

import (
	"bufio"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// buildPhpguard builds the real command into a temporary directory.
func buildPhpguard(t *testing.T) string {
	t.Helper()
	// go test puts its own go first in PATH (go help test, since Go 1.19).
	goTool := requireTool(t, "go")
	bin := filepath.Join(t.TempDir(), "phpguard")
	out, err := exec.Command(goTool, "build", "-o", bin, "github.com/phpguard/phpguard/cmd/phpguard").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestKillAndRerun: an apply killed with SIGKILL at any point of the file
// step, then a new apply, leaves the host exactly as one clean apply
// does: same files, modes, owners, ACLs and record, and no temporary
// file. The run goes from one policy to another, so that it creates,
// updates and removes files.
func TestKillAndRerun(t *testing.T) {
	requireRoot(t)
	bin := buildPhpguard(t)

	before := threeAccounts()
	after := threeAccounts()
	after.accounts = append(after.accounts[:1], after.accounts[2], acct{name: "site4", uid: 10004, vhosts: []string{"example.info", "shop.example.info"}})
	after.accounts[0].vhosts = append(after.accounts[0].vhosts, "blog.example.com")

	// prepare returns a sandbox converged to before, and the policy file
	// of after.
	prepare := func(t *testing.T) (*sandbox, string) {
		s := newSandbox(t)
		s.write(t, "/usr/bin/rm", "#!/bin/sh\n")
		mustApply(t, s.policy(t, before.yaml()), Options{Root: s.root})
		s.policy(t, after.yaml())
		return s, filepath.Join(s.dir, "policy.yaml")
	}
	phpguard := func(t *testing.T, env []string, args ...string) (*exec.Cmd, *bufio.Scanner) {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), env...)
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, bufio.NewScanner(stderr)
	}

	clean, policyFile := prepare(t)
	if out, err := exec.Command(bin, "apply", policyFile, "--root", clean.root).CombinedOutput(); err != nil {
		t.Fatalf("clean apply: %v\n%s", err, out)
	}
	want := snapshot(t, clean.root, false)

	for _, stage := range []string{"temp", "file", "files"} {
		t.Run(stage, func(t *testing.T) {
			s, policyFile := prepare(t)
			cmd, stderr := phpguard(t, []string{"PHPGUARD_TEST_PAUSE_AFTER=" + stage}, "apply", policyFile, "--root", s.root)
			paused := make(chan bool, 1)
			go func() {
				for stderr.Scan() {
					if strings.Contains(stderr.Text(), "test pause after "+stage) {
						paused <- true
						return
					}
				}
				paused <- false
			}()
			select {
			case ok := <-paused:
				if !ok {
					cmd.Process.Kill()
					cmd.Wait()
					t.Fatalf("apply ended before pausing at %s", stage)
				}
			case <-time.After(time.Minute):
				cmd.Process.Kill()
				t.Fatal("apply did not pause within a minute")
			}
			if err := cmd.Process.Kill(); err != nil { // SIGKILL
				t.Fatal(err)
			}
			cmd.Wait()

			// The kill did leave a half-done host.
			temps := findTemps(t, s.root)
			if stage == "temp" && len(temps) == 0 {
				t.Error("killed while a temporary file was written, but none is there")
			}
			if stage == "files" {
				// Every file is in place; the record is still the wide one.
				rec, err := loadRecord(s.hostRoot(t))
				if err != nil || !slices.Contains(rec.Files, "/etc/apache2/phpguard/site2/example.net.conf") {
					t.Errorf("record after the kill at files: %v, %v; want the removed file still in it", rec.Files, err)
				}
			} else if err := exec.Command(bin, "plan", policyFile, "--root", s.root, "--detailed-exitcode").Run(); exitStatus(err) != 2 {
				t.Errorf("plan after the kill: %v, want exit status 2 (changes)", err)
			}

			out, err := exec.Command(bin, "apply", policyFile, "--root", s.root).CombinedOutput()
			if err != nil {
				t.Fatalf("apply after the kill: %v\n%s", err, out)
			}
			if temps := findTemps(t, s.root); len(temps) > 0 {
				t.Errorf("temporary files left: %v", temps)
			}
			if diff := cmp.Diff(want, snapshot(t, s.root, false)); diff != "" {
				t.Errorf("killed at %s and applied again, the root differs from a clean apply's (-clean +got):\n%s", stage, diff)
			}
		})
	}
}

func exitStatus(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// findTemps returns the phpguard temporary files under dir.
func findTemps(t *testing.T, dir string) []string {
	var out []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), tempPrefix) {
			out = append(out, p)
		}
		return nil
	})
	return out
}
