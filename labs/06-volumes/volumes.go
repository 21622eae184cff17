//go:build !solution

package volumes

import (
	"errors"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ParseVolume reads one -v HOST:CONTAINER[:ro|:rw] into a bind mount of the runtime spec:
// Type "bind", Source and Destination cleaned, Options "rbind", "rprivate" and the mode ("rw"
// when none is given). Both paths must be absolute, the container path must not be "/", and
// it only reads (the engine creates a missing host directory when the container is created).
// Errors quote the bad volume.
func ParseVolume(s string) (specs.Mount, error) {
	return specs.Mount{}, errors.New("not implemented: write ParseVolume in labs/06-volumes/volumes.go")
}

// MountVolume bind-mounts m.Source on m.Destination below rootfs (the container's root, still
// seen from the host), creating the mount point, read-only when m.Options holds "ro". A
// symlink inside rootfs must never lead the mount outside it.
func MountVolume(rootfs string, m specs.Mount) error {
	return errors.New("not implemented: write MountVolume in labs/06-volumes/volumes.go")
}
