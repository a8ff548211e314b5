// Package apply converges a host to a policy's desired state, and says
// what it would change without changing it.
//
// One engine serves three uses. Plan compares the desired state that
// emit.Compile describes with the host and returns the changes, writing
// nothing: this is `phpguard plan` and `phpguard apply --check`. Apply
// makes the same comparison under a lock and carries the changes out, in
// this order:
//
//  1. Host checks: every layer directory exists, the HTTP user resolves on
//     the running system, and no account has its uid. A failure here
//     changes nothing at all.
//  2. Per account checks (rootfs.CheckAccount: no symbolic link where the
//     tree has a directory, a stack that fits the kernel's limits). An
//     account that fails is skipped by every later step; the others go on.
//  3. Account trees: directories, skeleton and docroots (rootfs.EnsureAccount),
//     before the root is mounted, or through the mounted root.
//  4. ACLs: the HTTP user's deny entries (acl.Deny), before the mounts and
//     before Apache is reloaded with any new vhost.
//  5. Mounts: each account's overlay; a changed stack is remounted only
//     when nothing holds the old mount; an account dropped from the policy
//     is unmounted and its data kept.
//  6. Files: the Apache vhosts, the Apache include and the PHP ini, each
//     replaced atomically; files written by an earlier run that the policy
//     no longer generates are removed.
//  7. The Apache config test; when it fails, every file of step 6 is put
//     back as it was and Apache is not reloaded.
//  8. The Apache reload, last.
//
// With Options.Only set to "acl", Apply does steps 1 and 4 alone (the apt
// hook runs this after a package upgrade: no reload then).
//
// # What apply writes outside the account trees
//
// Under Options.Root (R, "" for the host itself) apply writes the
// generated files at R plus their host path, creating missing parent
// directories (root, 0755), and keeps in R/var/lib/phpguard/state.json
// the record of the files and directories it made. It removes a file only
// when the record holds it and the policy no longer generates it, and a
// directory only when the record holds it and it is empty. It never
// removes anything in an account's tree. R/var/lib/phpguard/lock is the
// lock two applies share (flock(2)).
//
// Each file is written to a temporary file in its directory with its
// owner and mode, and renamed over the target once one syncfs(2) per
// filesystem has made every new content durable (an fsync per file, done
// in bulk: a first apply on a large server writes thousands); a second
// syncfs makes the renames and removals durable before the record is
// narrowed. A target that is not a regular file (a symbolic link, a
// directory) is refused, not replaced.
//
// A crash (SIGKILL, power loss) leaves at worst a temporary file named
// .phpguard-* beside a target, which the next Apply removes, and a record
// that lists more files than are there, because the record is first
// widened to every file the run may write and narrowed only after the
// files are in place. Running Apply again converges the host as one clean
// run would.
//
// # Idempotence
//
// A run that finds nothing to change writes nothing: no temporary file,
// no record, no extended attribute. It opens the lock file (created by
// the first run) and reads.
//
// # Limits
//
// A failed account's vhost files are still written: the Apache include
// names every vhost of the policy, and leaving one out would fail the
// config test for every account. Its DocumentRoot may then be missing
// until the account's problem is fixed; Apache serves nothing from it.
//
// The environment variable PHPGUARD_TEST_PAUSE_AFTER exists for tests
// only: set to a stage name ("temp", "file", "files"), it makes Apply
// print a line on stderr and sleep at that point, so that a test can kill
// the process there.
package apply
