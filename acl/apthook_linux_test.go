package acl

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// aptHookCommand returns the shell command that apt reads from
// contrib/apt/99phpguard, as apt-config parses the file.
func aptHookCommand(t *testing.T) string {
	t.Helper()
	aptConfig := requireTool(t, "apt-config")
	hook, err := filepath.Abs("../contrib/apt/99phpguard")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(aptConfig, "-c", hook, "dump").Output()
	if err != nil {
		t.Fatalf("apt-config -c %s dump: %v: %s", hook, err, stderrOf(err))
	}
	for _, line := range strings.Split(string(out), "\n") {
		v, ok := strings.CutPrefix(line, `DPkg::Post-Invoke:: "`)
		if ok && strings.Contains(v, "phpguard") {
			return strings.TrimSuffix(v, `";`)
		}
	}
	t.Fatalf("apt-config dump has no DPkg::Post-Invoke entry for phpguard:\n%s", out)
	return ""
}

// TestAptHook runs the hook's command as apt does (/bin/sh -c), with a
// stand-in phpguard and logger, and checks that it calls apply --only
// acl, never fails apt, and reports a failure on stderr and to syslog.
func TestAptHook(t *testing.T) {
	command := aptHookCommand(t)
	if !strings.Contains(command, "/usr/sbin/phpguard apply --only acl") {
		t.Fatalf("hook command %q does not run /usr/sbin/phpguard apply --only acl", command)
	}

	tests := []struct {
		name       string
		rc         string // the stand-in phpguard's exit status; "" = not installed
		wantStderr string
		wantLogger string
	}{
		{"success", "0", "", ""},
		{"failure", "3",
			"phpguard: apply --only acl failed with exit status 3, the HTTP user may run denied binaries until the next apply\n",
			"-t phpguard-apt -p auth.err -- apply --only acl failed with exit status 3 after dpkg\n"},
		{"not installed", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			calls := filepath.Join(dir, "calls")
			fake := filepath.Join(dir, "phpguard")
			if tt.rc != "" {
				script := "#!/bin/sh\necho \"$@\" >> " + calls + "\nexit " + tt.rc + "\n"
				if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			// A logger in PATH that records instead of writing to the
			// machine's syslog.
			bin := filepath.Join(dir, "bin")
			logged := filepath.Join(dir, "logged")
			writeFile(t, filepath.Join(bin, "logger"), []byte("#!/bin/sh\necho \"$@\" >> "+logged+"\n"), 0o755)

			cmd := exec.Command("/bin/sh", "-c", strings.ReplaceAll(command, "/usr/sbin/phpguard", fake))
			cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin"}
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("the hook failed, and so would apt: %v\n%s", err, stderr.String())
			}
			if diff := cmp.Diff(tt.wantStderr, stderr.String()); diff != "" {
				t.Errorf("stderr (-want +got):\n%s", diff)
			}
			gotCalls, _ := os.ReadFile(calls)
			if wantCalls := map[bool]string{true: "apply --only acl\n"}[tt.rc != ""]; string(gotCalls) != wantCalls {
				t.Errorf("phpguard called with %q, want %q", gotCalls, wantCalls)
			}
			gotLogged, _ := os.ReadFile(logged)
			if diff := cmp.Diff(tt.wantLogger, string(gotLogged)); diff != "" {
				t.Errorf("logger (-want +got):\n%s", diff)
			}
		})
	}
}
