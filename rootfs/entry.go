package rootfs

import "io"

// EnterPath is the PATH of every command Enter runs.
const EnterPath = "/usr/local/bin:/usr/bin:/bin"

// Exit statuses of Enter when the command itself could not be run, the
// ones env(1), chroot(1) and nsenter(1) use.
const (
	StatusCannotRun = 126 // found but not executable
	StatusNotFound  = 127 // no such file
)

// Entry says which root Enter enters, as whom, and what it runs there.
type Entry struct {
	Account  string   // the account's name: USER when the root's passwd has no entry for UID
	Root     string   // the account's root on the host: an overlay mounted by apply
	UID, GID int      // the account's, never 0
	Command  []string // the command and its arguments; empty runs the account's login shell
	Term     string   // the caller's TERM, passed on when not empty
	Layout   Layout   // the mounts and links made inside the root (DefaultLayout)

	// The command's standard streams. A nil Stdin reads from the null
	// device; a nil Stdout or Stderr writes to it. An *os.File is
	// passed to the command as it is.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}
