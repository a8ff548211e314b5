package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestApplyScripts runs phpguard apply as an operator does, on a sandbox
// host under $WORK/root, one script per file under testdata/apply. They
// need root (apply sets owners and ACLs), and the scripts that mount do
// so only inside a private mount namespace of their own (unshare).
func TestApplyScripts(t *testing.T) {
	why := ""
	if os.Geteuid() != 0 {
		why = "needs root"
	} else if _, err := os.Stat("/bin/busybox"); err != nil {
		why = "needs /bin/busybox (Debian: busybox-static)"
	} else {
		for _, tool := range []string{"unshare", "flock", "getfacl"} {
			if _, err := exec.LookPath(tool); err != nil {
				why = "needs " + tool + " (Debian: util-linux, acl)"
			}
		}
	}
	if why != "" {
		if os.Getenv("PHPGUARD_REQUIRE_ALL") == "1" {
			t.Fatalf("required: %s", why)
		}
		t.Skip(why)
	}
	example, err := os.ReadFile(filepath.Join("..", "..", "examples", "hosting.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir:           "testdata/apply",
		UpdateScripts: *update,
		Setup: func(env *testscript.Env) error {
			env.Setenv("PHPGUARD_POLICY", "")
			// A race-enabled phpguard otherwise sleeps a second before
			// each successful exit.
			env.Setenv("GORACE", "atexit_sleep_ms=0")
			return os.WriteFile(filepath.Join(env.WorkDir, "hosting.yaml"), example, 0o644)
		},
	})
}
