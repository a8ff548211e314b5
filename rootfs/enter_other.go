//go:build !linux

package rootfs

import "errors"

// InitEnter does nothing outside Linux.
func InitEnter() {}

// Enter needs Linux: mount namespaces, overlayfs and pivot_root.
func Enter(e Entry) (int, error) {
	return 1, errors.New("enter needs Linux")
}
