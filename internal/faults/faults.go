// Package faults lets the fault tests kill mydocker at a point of their choosing, to check
// what a crash there leaves behind: MYDOCKER_FAULT names the point, and the process kills
// itself with SIGKILL when it reaches it — no cleanup, no deferred function, as a power cut
// or the OOM killer would. MYDOCKER_STALL names a point where the process instead blocks in a
// system call for a while, to widen a window a test looks into. Unset, as always outside
// those tests, Point and Stall do nothing.
package faults

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Point is a place where a test may crash the process.
func Point(name string) {
	if os.Getenv("MYDOCKER_FAULT") == name {
		unix.Kill(os.Getpid(), unix.SIGKILL)
		select {} // the signal is on its way
	}
}

// StallTime is how long Stall blocks.
const StallTime = 50 * time.Millisecond

// stallGarbage is what Stall allocates: past the Go runtime's first heap goal (4 MiB), so
// that a collection starts, where the runtime may start one.
const stallGarbage = 16 << 20

// sink keeps Stall's allocations from being optimized away.
var sink []byte

// Stall is a place where a test may keep the process busy for a while, as a slow disk or a
// busy host can: it allocates (a garbage collection follows) and blocks in a system call, long
// enough for the Go runtime to hand this thread's processor to another thread meanwhile (it
// does after 20 µs with nothing else to run it on, after 10 ms at most).
func Stall(name string) {
	if os.Getenv("MYDOCKER_STALL") != name {
		return
	}
	for n := 0; n < stallGarbage; n += 64 << 10 {
		sink = make([]byte, 64<<10)
	}
	ts := unix.NsecToTimespec(StallTime.Nanoseconds())
	unix.Nanosleep(&ts, nil) // a system call the runtime sees, not a goroutine's sleep
}
