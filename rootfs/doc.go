// Package rootfs describes and builds the pivot roots of the accounts.
//
// The pure part (Stack, Overlay, Layout) turns a policy into values that
// describe each account's overlay stack and the mounts made inside its
// root; it performs no I/O and builds on any system.
//
// The Linux part (files ending in _linux.go) acts on the host:
//
//   - EnsureAccount makes an account's tree (upper, work, root, the
//     skeleton and docroots) through descriptors opened one component at
//     a time with openat2 and RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS, so a
//     link an account plants in its client layer is refused, never
//     followed. A dry pass runs first: a planted link means no change at
//     all to that account.
//   - MountOverlay mounts a root with the new mount API (one lowerdir+ per
//     layer) where the kernel has it, else with mount(2); a stack whose
//     options do not fit one page is retried with layer paths relative to
//     the layers directory, and fails with a *LimitError when it still
//     does not fit. Pass a root through Canonical first, so that a root
//     mounted through a symlinked path reads the same on every run.
//   - ReadMountTable reads the kernel's mount table once; State tells, per
//     account, whether its root is missing, correct or different.
//   - Remount refuses, with a *HeldError naming the processes, while any
//     process in any mount namespace has its root or working directory
//     inside the old mount.
//   - Enter runs an account's process in its root: a private mount
//     namespace, the layout mounted through descriptors resolved inside the
//     root, pivot_root, the account's uid and gid with no groups and
//     no_new_privs. It does not isolate the network, System V IPC or the
//     hostname, and gives the command no terminal of its own. /proc uses
//     hidepid=invisible rather than a PID namespace, so an account's
//     shells, cron jobs and daemons see one another; see Enter.
//
// Nothing in this package deletes data in a client layer: Unmount
// detaches a root and leaves upper as it is.
package rootfs
