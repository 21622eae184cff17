//go:build solution

package pivot

import "github.com/mydocker/mydocker/container"

// The reference: the engine's own functions, in the order the init calls them.
func PivotRoot(rootfs string) error {
	if err := container.MakeMountsPrivate(); err != nil {
		return err
	}
	if err := container.MountRootfs(rootfs, nil); err != nil {
		return err
	}
	return container.PivotRoot(rootfs)
}
