//go:build solution

package hardening

import (
	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/runconfig"
)

// The reference: the engine's own functions.

var DefaultCapabilities = runconfig.DefaultCapabilities

func Capabilities(s runconfig.Security) ([]string, error) { return s.Capabilities() }

func DropBoundingSet(keep []string) error { return container.DropBoundingSet(keep) }
