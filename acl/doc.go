// Package acl reads and writes POSIX access control lists and takes
// binaries away from the HTTP user with them.
//
// The format part (ACL, Decode, Encode, Text, ParseText) builds on every
// system and performs no I/O. Decode and Encode handle the value of the
// system.posix_acl_access and system.posix_acl_default extended
// attributes as the kernel lays it out (linux/posix_acl_xattr.h); Text
// and ParseText handle the long text form of getfacl(1) and setfacl(1).
// Changing an entry recomputes the mask as setfacl does by default.
//
// The Linux part (Read, Apply, Deny) acts on file descriptors only. It
// never calls the path-following getxattr(2) or setxattr(2), and it does
// not chmod, chown or replace files. Deny opens each path with openat2(2)
// and RESOLVE_IN_ROOT from a handle on the tree the path belongs to, so
// that a layer's /bin -> usr/bin link, an absolute link or a ".." stays
// inside that layer instead of landing on the host's file. It then
// reopens the resolved O_PATH handle through /proc/self/fd (xattr calls
// refuse O_PATH descriptors) and reads and writes the ACL through that
// one descriptor, with no second lookup of the path in between.
//
// # Why the deny entry is ---
//
// Deny gives the HTTP user the named entry user:UID:---, never --x or a
// mode change. Taking only the execute bit away does not stop a user who
// can read the file: the dynamic loader runs it
// (/lib64/ld-linux-x86-64.so.2 /usr/bin/rm maps it with read access
// only), and so does a copy, which the user owns and may chmod +x. Only
// an entry without read stops both. A named user entry is checked before
// the group and other entries (acl(5), "ACCESS CHECK ALGORITHM"), so the
// HTTP user is denied even when its groups or "other" may read; and a
// later chmod changes the mask, never this entry, so --- stays ---.
//
// # Limits
//
// The deny holds only against a process running as that uid without
// CAP_DAC_OVERRIDE or CAP_DAC_READ_SEARCH, and it does nothing against
// the file's owner (whose entry is user::), which Deny reports as an
// error. It holds for the inode, not the path: a package upgrade writes
// a new file and renames it over the old one, and the new inode carries
// no entry until Deny runs again (see contrib/apt). Another copy of the
// same program elsewhere on the system, or a shell the user can already
// run, is not covered. Recomputing the mask, as setfacl does, widens a
// mask that was set narrower than the group class on purpose.
package acl

// BUG(acl): Like setfacl -m, Deny recomputes the mask from the group
// class, so a mask set narrower than that on purpose is widened again.

// BUG(acl): The entry belongs to the inode. A package upgrade renames a
// new file over the binary and drops it until the next apply; install
// contrib/apt/99phpguard so that apt runs apply --only acl after dpkg.
