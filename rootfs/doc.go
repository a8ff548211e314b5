// Package rootfs describes and builds the pivot roots of the accounts.
//
// The pure part (Stack, Overlay, Layout) turns a policy into values that
// describe each account's overlay stack and the mounts made inside its
// root; it performs no I/O and builds on any system. The Linux part
// (files ending in _linux.go) creates account trees, mounts the overlays
// and reads the kernel's mount table.
package rootfs
