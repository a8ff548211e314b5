//go:build unix

package policy

import "golang.org/x/sys/unix"

// openFlags are added to O_RDONLY when readFile opens a policy file.
const openFlags = unix.O_NONBLOCK | unix.O_CLOEXEC
