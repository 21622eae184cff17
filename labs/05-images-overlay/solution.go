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

func MountOverlay(target string, options []string) error {
	return container.MountOverlay(target, options)
}
