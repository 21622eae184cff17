//go:build !solution

package pivot

import "errors"

// PivotRoot makes rootfs, a plain directory, the root of the calling process's mount
// namespace — a new one, copied from a host where / may be shared — and detaches the old root
// so nothing of the host's filesystem stays mounted in the container. Four steps: make every
// mount private, make rootfs a mount point, pivot_root(2), unmount the old root.
func PivotRoot(rootfs string) error {
	return errors.New("not implemented: write PivotRoot in labs/03-pivot-root/pivot.go")
}
