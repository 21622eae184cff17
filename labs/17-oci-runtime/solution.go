//go:build solution

package ociruntime

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/mydocker/mydocker/mydocker/runccli"
)

// The reference: the runtime's own functions.

func State(c runccli.Container) specs.State { return runccli.State(c) }

func ReleaseInit(fifo string) error { return runccli.ReleaseInit(fifo) }
