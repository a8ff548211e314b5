package apply

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// lockFile is the host path of the lock.
const lockFile = StateDir + "/lock"

// LockPath returns the path of the lock under root.
func LockPath(root string) string { return under(root, lockFile) }

// LockError reports a lock that another apply held for longer than the
// timeout.
type LockError struct {
	Path    string
	Timeout time.Duration
}

func (e *LockError) Error() string {
	return fmt.Sprintf("another phpguard apply holds the lock %s; gave up after %s", e.Path, seconds(e.Timeout))
}

// seconds writes a whole number of seconds as "60s", where Duration's
// String would write "1m0s", and any other duration as String does.
func seconds(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return d.String()
}

// lock is a held flock(2) lock.
type lock struct{ f *os.File }

// lockPollInterval is how often a waiting apply tries the lock again.
const lockPollInterval = 50 * time.Millisecond

// takeLock takes the exclusive lock under root, waiting up to timeout.
// The lock and its directory are looked up inside the root (hostRoot).
//
// flock(2) locks belong to the open file description, so the kernel
// drops the lock when the process ends however it ends (SIGKILL too): a
// crashed apply never leaves a stale lock behind, and the file itself
// needs no cleanup. The file is opened, never truncated or written, so a
// run that changes nothing writes nothing here either.
func takeLock(root *hostRoot, timeout time.Duration) (*lock, error) {
	name := root.real(lockFile)
	if err := root.mkdirAll(StateDir); err != nil {
		return nil, fmt.Errorf("take lock: %w", err)
	}
	fd, err := root.open(lockFile, unix.O_RDONLY|unix.O_CREAT|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("take lock: %w", err)
	}
	f := os.NewFile(uintptr(fd), name)
	deadline := time.Now().Add(timeout)
	for {
		err := flock(f, unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return &lock{f: f}, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("take lock %s: %w", name, err)
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, &LockError{Path: name, Timeout: timeout}
		}
		time.Sleep(lockPollInterval)
	}
}

func flock(f *os.File, how int) error {
	for {
		err := unix.Flock(int(f.Fd()), how)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// release drops the lock.
func (l *lock) release() {
	l.f.Close()
}
