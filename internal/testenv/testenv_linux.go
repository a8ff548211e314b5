package testenv

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// PrivateMounts is for a TestMain whose package re-executes its test
// binary in a new mount namespace, marked by env=1 in its environment.
// There it makes every mount of the namespace private, so that nothing a
// test mounts reaches the host's tree (mount_namespaces(7)); a failure
// ends the process. Elsewhere it does nothing.
func PrivateMounts(env string) {
	if os.Getenv(env) != "1" {
		return
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		fmt.Fprintln(os.Stderr, "make / rprivate:", err)
		os.Exit(1)
	}
}
