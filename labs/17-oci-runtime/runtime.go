//go:build !solution

package ociruntime

import (
	"errors"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/mydocker/mydocker/mydocker/runccli"
)

// State is container c's state as the OCI runtime spec defines it: what `state ID` prints as
// JSON, and what every hook reads on its stdin. Version is specs.Version; ID, Bundle and
// Annotations are c's. Status follows the init:
//
//   - "stopped" once c.Init is not running (c.Init.Running(): gone, a zombie nobody reaped yet,
//     or its pid now another process's), whatever else is true;
//   - "created" while c.ExecFifo exists: the init waits on it for start;
//   - "paused" while c.Frozen() says its cgroups are frozen;
//   - "running" otherwise.
//
// Pid is c.Init.Pid, except for a stopped container, which has none (0: the JSON leaves it out).
func State(c runccli.Container) specs.State {
	return specs.State{Status: "not implemented: write State in labs/17-oci-runtime/runtime.go"}
}

// ReleaseInit is the second step of the two-step start: it lets the command of a created
// container run. The container's init opened the exec fifo at path (read and write) before it
// changed root, and as its last step before it executes the command it waits to read one byte
// from it. Open the fifo for writing without waiting — a blocking open of a fifo waits for a
// reader, and an init that died is none: the open must fail at once (ENXIO) instead — and
// without creating anything; write one byte; close it; and remove the fifo, so that the
// container is no longer "created". An error says what failed.
func ReleaseInit(fifo string) error {
	return errors.New("not implemented: write ReleaseInit in labs/17-oci-runtime/runtime.go")
}
