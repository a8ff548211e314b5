//go:build unix

package policy

import (
	"time"

	"golang.org/x/sys/unix"
)

// cpuTime returns the CPU time this process has used, in all threads
// (the garbage collector's too), or 0 if it cannot be read. Benchmarks
// report it beside the wall time, which other load on the machine
// inflates.
func cpuTime() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
