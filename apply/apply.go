package apply

import (
	"errors"
	"time"

	"github.com/phpguard/phpguard/emit"
	"github.com/phpguard/phpguard/policy"
)

// OnlyACL is the Options.Only value that limits a run to the ACLs.
const OnlyACL = "acl"

// DefaultLockTimeout is how long Apply waits for another apply's lock.
const DefaultLockTimeout = 60 * time.Second

// Options tune Plan and Apply.
type Options struct {
	// Root is the directory that stands for the host's / (--root): every
	// path phpguard reads, writes or mounts is taken under it. "" or "/"
	// is the host itself. The generated files' content never holds Root.
	Root string

	// Only limits the run to one part: "" for all, OnlyACL for the ACLs.
	Only string

	// RunCommands runs the policy's configtest and reload commands under
	// Root (with PHPGUARD_ROOT=Root in their environment). Without Root
	// they always run.
	RunCommands bool

	// NoReload skips the reload command (the config test still runs).
	// The boot unit uses it: Apache starts after apply and reads the new
	// files then.
	NoReload bool

	// OldMountAPI mounts with mount(2) only, as on kernels before 6.8.
	OldMountAPI bool

	// LockTimeout is how long Apply waits for the lock; 0 means
	// DefaultLockTimeout.
	LockTimeout time.Duration

	// Logf, if not nil, receives progress messages.
	Logf func(format string, args ...any)
}

// Result is what a run found or did.
type Result struct {
	// Changes are the changes made (Apply) or to be made (Plan), in the
	// order of the steps.
	Changes []emit.Change

	// Warnings are things worth a look that do not fail the run: a deny
	// path absent from a layer, commands skipped under Root.
	Warnings []string

	// Errors are the failures that did not stop the run: an account that
	// could not be converged, a mount held by a process, a file that
	// could not be written, a failed config test. Any of them means exit 1.
	Errors []error
}

// Changed reports whether there are changes.
func (r *Result) Changed() bool { return len(r.Changes) > 0 }

// Err returns the run's errors joined, or nil.
func (r *Result) Err() error { return errors.Join(r.Errors...) }

// Plan compares the host with the desired state of the validated policy
// p and returns what Apply would change, without changing anything and
// without taking the lock. An error means a host check failed (a layer
// is missing, the HTTP user is unknown, ...); a problem of one account
// is in Result.Errors.
func Plan(p *policy.Policy, o Options) (*Result, error) {
	return run(p, o, true)
}

// Apply converges the host to the desired state of the validated policy
// p, in the order the package documentation gives, and returns what it
// changed. An error means nothing was changed: a host check failed or the
// lock could not be taken. The failures of single accounts, files or
// commands are in Result.Errors, with the changes that were made.
func Apply(p *policy.Policy, o Options) (*Result, error) {
	return run(p, o, false)
}

func (o *Options) logf(format string, args ...any) {
	if o.Logf != nil {
		o.Logf(format, args...)
	}
}

func (o *Options) lockTimeout() time.Duration {
	if o.LockTimeout > 0 {
		return o.LockTimeout
	}
	return DefaultLockTimeout
}
