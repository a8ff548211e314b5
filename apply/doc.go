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
//     the running system, and no account has its uid, nor one of its
//     groups as gid (www-data's gid 33 on Debian: the docroot would be
//     10001:33, group-writable for every account's PHP). A failure here
//     changes nothing at all; one about an account's value names its
//     place in the policy as a policy diagnostic does
//     (file:line:col: accounts[1].gid: ...).
//  2. Per account checks (rootfs.CheckAccount: no symbolic link where the
//     tree has a directory, a stack that fits the kernel's limits). An
//     account that fails is skipped by every later step; the others go on.
//  3. Account trees: directories, skeleton and docroots (rootfs.EnsureAccount),
//     before the root is mounted, or through the mounted root; then
//     plan and apply name them by the mounted root's path
//     (/home/virtual/site1/root/var/www/html), the path really used.
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
// the record of the files and directories it made. R/var/lib/phpguard/lock
// is the lock two applies share (flock(2)).
//
// Under R, every one of these paths is resolved inside R as if R were the
// root (openat2(2) with RESOLVE_IN_ROOT from a descriptor of R): a
// symbolic link in R, absolute or climbing out with "..", leads to a
// place in R, as it would for a process chrooted into R, and the write
// goes there or fails; nothing is written outside R. Changes are then
// made relative to the parent directory's descriptor (mkdirat, openat of
// the temporary file, renameat, unlinkat). On the host itself paths
// resolve as open(2) resolves them.
//
// It removes a file only when the record holds it and the policy no
// longer generates it, and a directory only when the record holds it and
// it is empty. The record is not trusted blindly (only root can change
// it, but an older phpguard with a bug or a careless edit could put
// anything in it): a recorded file is removed only when its path is
// absolute and clean, lies neither in the accounts directory nor in the
// layers directory (by its path, and by where its directory really is,
// so that a symbolic link does not hide an account's tree), and the file,
// opened with O_NOFOLLOW, is a regular file whose first line is
// phpguard's header (emit.Header). A recorded directory passes the path
// checks only, and rmdir(2) removes nothing but an empty one. Anything
// else stays where it is, leaves the record, and is reported as a
// warning naming the path, not as a failure. So apply never removes
// anything in an account's tree or a layer.
//
// Removal is deliberately not limited to the directories the current
// policy writes to (paths.apache and the directories of apache_include
// and php_ini): an operator who moves paths.php_ini expects the old ini
// to go, or PHP would keep loading it. The header is the guard that
// travels with the file; the path checks keep an account, which can write
// the header into a file of its own, out of reach.
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
