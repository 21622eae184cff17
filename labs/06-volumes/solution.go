//go:build solution

package volumes

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/workspace"
)

// The reference: the engine's own functions.

func ParseVolume(s string) (specs.Mount, error) { return workspace.ParseVolume(s) }

func MountVolume(rootfs string, m specs.Mount) error { return container.MountInto(rootfs, m) }
