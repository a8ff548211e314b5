// Package emit turns a validated policy into the desired state of a host:
// the generated files (Apache vhosts and include, the PHP SAPI ini, the
// review files rootfs/fstab, rootfs/layout and acl/deny.facl), each
// account's tree and overlay, and the ACL targets of the deny step.
//
// emit performs no I/O: it reads no clock, no host and no environment, and
// the same policy always gives the same bytes, whatever path it was read
// from. Values are spliced into Apache and ini syntax only after package
// policy has refused every character that could change that syntax.
package emit
