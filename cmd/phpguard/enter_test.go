package main

import (
	"os"
	"os/exec"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestEnterScripts runs phpguard apply and phpguard enter as an operator
// does, on a sandbox host under $WORK/host, one script per file under
// testdata/enter. Each script mounts only inside a private mount
// namespace of its own (unshare --mount).
func TestEnterScripts(t *testing.T) {
	why := ""
	if os.Geteuid() != 0 {
		why = "needs root"
	} else if _, err := os.Stat("/bin/busybox"); err != nil {
		why = "needs /bin/busybox (Debian: busybox-static)"
	} else if _, err := exec.LookPath("unshare"); err != nil {
		why = "needs unshare (Debian: util-linux)"
	}
	if why != "" {
		if os.Getenv("PHPGUARD_REQUIRE_ALL") == "1" {
			t.Fatalf("required: %s", why)
		}
		t.Skip(why)
	}
	testscript.Run(t, testscript.Params{
		Dir:           "testdata/enter",
		UpdateScripts: *update,
		Setup: func(env *testscript.Env) error {
			env.Setenv("PHPGUARD_POLICY", "")
			// A race-enabled phpguard otherwise sleeps a second before
			// each successful exit.
			env.Setenv("GORACE", "atexit_sleep_ms=0")
			return nil
		},
	})
}
