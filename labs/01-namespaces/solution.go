//go:build solution

package namespaces

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/mydocker/mydocker/container"
)

// The reference: the engine's own functions.

func CloneFlags(namespaces []specs.LinuxNamespace) (uintptr, error) {
	return container.NamespaceFlags(namespaces), nil
}

func MakeMountsPrivate() error { return container.MakeMountsPrivate() }

func MountProc(target string) error { return container.MountProc(target) }
