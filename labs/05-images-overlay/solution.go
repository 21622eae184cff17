//go:build solution

package overlay

import (
	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/workspace"
)

// The reference: the engine's overlay driver, and the mount the container's init makes.

func OverlayOptions(dir string, layers []string) ([]string, error) {
	return workspace.OverlayOptions(dir, layers), nil
}

func MountOverlay(dir string, layers []string) (string, error) {
	driver, err := workspace.NewDriver("overlay")
	if err != nil {
		return "", err
	}
	rootfs, err := driver.Prepare(dir, layers)
	if err != nil {
		return "", err
	}
	return rootfs.Path, container.MountRootfs(rootfs.Path, rootfs.Mount)
}
