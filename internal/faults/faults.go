// Package faults lets tests stop mydocker at a point of their choosing: to kill it there, and
// check what a crash at that point leaves behind, to hold it there while they do something
// else, and check that a race in that window is lost by nobody, or to keep it busy there.
//
// MYDOCKER_FAULT names a point where the process kills itself with SIGKILL — no cleanup, no
// deferred function, as a power cut or the OOM killer would. MYDOCKER_PAUSE=POINT:FIFO names a
// point where it opens the FIFO for reading: that blocks until the test opens it for writing,
// which tells the test the process is there, and the process goes on when the test closes it.
// MYDOCKER_STALL names a point where the process instead blocks in a system call for a while,
// to widen a window a test looks into. Unset, as always outside those tests, Point and Stall
// do nothing.
package faults

import (
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Point is a place where a test may crash the process, or hold it.
func Point(name string) {
	if os.Getenv("MYDOCKER_FAULT") == name {
		unix.Kill(os.Getpid(), unix.SIGKILL)
		select {} // the signal is on its way
	}
	pause := os.Getenv("MYDOCKER_PAUSE") // POINT:FIFO, and the point's name has colons too
	if i := strings.LastIndexByte(pause, ':'); i > 0 && pause[:i] == name {
		fifo := pause[i+1:]
		if f, err := os.Open(fifo); err == nil {
			io.Copy(io.Discard, f) // until the test closes its end
			f.Close()
		}
	}
}

// Env is the part of the environment that names points, for the processes mydocker starts to
// carry on its behalf (a container's monitor).
func Env() []string {
	var env []string
	for _, k := range []string{"MYDOCKER_FAULT", "MYDOCKER_PAUSE"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
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
