// Package faults lets the fault tests kill mydocker at a point of their choosing, to check
// what a crash there leaves behind: MYDOCKER_FAULT names the point, and the process kills
// itself with SIGKILL when it reaches it — no cleanup, no deferred function, as a power cut
// or the OOM killer would. Unset, as always outside those tests, Point does nothing.
package faults

import (
	"os"

	"golang.org/x/sys/unix"
)

// Point is a place where a test may crash the process.
func Point(name string) {
	if os.Getenv("MYDOCKER_FAULT") == name {
		unix.Kill(os.Getpid(), unix.SIGKILL)
		select {} // the signal is on its way
	}
}
