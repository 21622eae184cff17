package container

import (
	"encoding/json"
	"fmt"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/mydocker/mydocker/container/seccomp"
)

// The container's limits are set while its init waits to execute the command, and they count
// the init's own use: pids.max counts its threads. The init is a Go program, whose runtime
// has several threads and starts another whenever it wants one — to run the scheduler while
// a thread blocks in a system call, a collection's workers, a goroutine woken by a timer. A
// pids limit below the threads already there is one the kernel takes, and from then on it
// refuses every new one: "fatal error: newosproc", the init dead (runc's init has this
// problem, opencontainers/runc#1914). Once executed, the command is one thread.
//
// So the init does all its work first — mounts, hooks, confinement, the command's path —
// and then takes its last steps without the Go runtime: lastSteps, go:nosplit functions that
// make raw system calls only. It says it is ready and waits for the parent to set the limits
// and say go; created, it says so and waits for start; it loads the late seccomp filter and
// executes the command. (Only startContainer hooks and --init have Go code run under the
// limits: they start processes there, as runc and tini do.) A raw system call never tells the
// scheduler the thread blocks, so nothing hands its processor to another thread; a
// go:nosplit function has no point where the goroutine can be preempted (the runtime asks,
// every 10 ms of a long wait, and nothing comes of it). The rest of the runtime has nothing to
// do meanwhile: no collection ever runs (runInit and runExec turned them off), no other
// goroutine, no timer, and GOMAXPROCS set (quiesce), so that no change of the cgroup's CPU
// limit makes the runtime resize itself. Runtimes that block in the scheduler's sight instead
// (runc's init) count on a thread being idle when it hands its processor over: usually there
// is one.
//
// The price is for a container left created: its init's thread holds a processor while it
// waits for start, and the runtime's monitor thread keeps waking to look at it (about 200
// wake-ups a second here, with the preemption signals; none with runc's). An exec'd process
// takes the same steps, with no fifo: its parent puts it in the container's cgroups while it
// waits.

// lastSteps are a process's last steps, made ready beforehand (prepareProcess). Everything
// run touches is here, allocated.
type lastSteps struct {
	sync    int    // the socket to the parent (initSyncFd)
	ready   []byte // the "ready" message
	goOn    []byte // the parent's answer
	created []byte // the "created" message
	fifo    int    // the exec fifo to wait on, created; -1: none
	filter  *seccomp.Filter
	path    string // the command, found in the container
	args    []string
	env     []string
	argv0   *byte // path, args and env as execve takes them
	argv    []*byte
	envv    []*byte
	buf     [64]byte // the parent's answer, read
}

// The steps of lastSteps.await and execute, to say which one failed.
const (
	stepReady = iota + 1
	stepGo
	stepCreated
	stepStart
	stepSeccomp
	stepExec
)

// newLastSteps makes ready the last steps of a process that executes path with args and env,
// loading filter first (nil: none).
func newLastSteps(path string, args, env []string, filter *seccomp.Filter) (*lastSteps, error) {
	s := &lastSteps{sync: initSyncFd, fifo: -1, filter: filter, path: path, args: args, env: env}
	var err error
	for _, m := range []struct {
		to  *[]byte
		msg syncMsg
	}{{&s.ready, syncMsg{Type: "ready"}}, {&s.goOn, syncMsg{Type: "go"}}, {&s.created, syncMsg{Type: "created"}}} {
		if *m.to, err = json.Marshal(m.msg); err != nil {
			return nil, err
		}
	}
	if s.argv0, err = syscall.BytePtrFromString(path); err != nil {
		return nil, startError(fmt.Errorf("exec %q: %w", args[0], err))
	}
	if s.argv, err = syscall.SlicePtrFromStrings(args); err != nil {
		return nil, startError(fmt.Errorf("exec %q: %w", args[0], err))
	}
	if s.envv, err = syscall.SlicePtrFromStrings(env); err != nil {
		return nil, startError(fmt.Errorf("exec %q: %w", args[0], err))
	}
	return s, nil
}

// run takes the last steps: await, then execute. It returns only when one fails.
func (s *lastSteps) run() error {
	return s.err(s.awaitAndExecute())
}

//go:nosplit
func (s *lastSteps) awaitAndExecute() (step int, errno unix.Errno) {
	if step, errno = s.await(); step != 0 {
		return step, errno
	}
	return s.execute()
}

// await says the process is ready and waits for the parent's word to go on, which comes once
// the container's limits are set; with an exec fifo, it says the container is created and
// waits for start's byte. It returns step 0 when it has.
//
//go:nosplit
func (s *lastSteps) await() (step int, errno unix.Errno) {
	if _, _, errno = unix.RawSyscall(unix.SYS_WRITE, uintptr(s.sync), uintptr(unsafe.Pointer(&s.ready[0])), uintptr(len(s.ready))); errno != 0 {
		return stepReady, errno
	}
	for {
		n, _, errno := unix.RawSyscall(unix.SYS_READ, uintptr(s.sync), uintptr(unsafe.Pointer(&s.buf[0])), uintptr(len(s.buf)))
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return stepGo, errno
		}
		if n == 0 {
			return stepGo, unix.ECONNRESET // the parent went away
		}
		if !s.isGo(int(n)) {
			return stepGo, unix.EPROTO
		}
		break
	}
	if s.fifo < 0 {
		return 0, 0
	}
	if _, _, errno = unix.RawSyscall(unix.SYS_WRITE, uintptr(s.sync), uintptr(unsafe.Pointer(&s.created[0])), uintptr(len(s.created))); errno != 0 {
		return stepCreated, errno
	}
	for {
		n, _, errno := unix.RawSyscall(unix.SYS_READ, uintptr(s.fifo), uintptr(unsafe.Pointer(&s.buf[0])), 1)
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return stepStart, errno
		}
		if n == 0 {
			return stepStart, unix.ECONNRESET
		}
		return 0, 0
	}
}

// isGo reports whether the n bytes read are the parent's word to go on.
//
//go:nosplit
func (s *lastSteps) isGo(n int) bool {
	if n != len(s.goOn) {
		return false
	}
	for i := 0; i < n; i++ {
		if s.buf[i] != s.goOn[i] {
			return false
		}
	}
	return true
}

// execute loads the late seccomp filter, if any, and executes the command. It returns only
// when one of them fails.
//
//go:nosplit
func (s *lastSteps) execute() (step int, errno unix.Errno) {
	if s.filter != nil {
		if errno = s.filter.Install(); errno != 0 {
			return stepSeccomp, errno
		}
	}
	_, _, errno = unix.RawSyscall(unix.SYS_EXECVE, uintptr(unsafe.Pointer(s.argv0)), uintptr(unsafe.Pointer(&s.argv[0])), uintptr(unsafe.Pointer(&s.envv[0])))
	return stepExec, errno
}

// err is the error of a failed step (nil for step 0).
func (s *lastSteps) err(step int, errno unix.Errno) error {
	switch step {
	case 0:
		return nil
	case stepReady:
		return fmt.Errorf("tell the parent the process is ready: %w", errno)
	case stepGo:
		return fmt.Errorf("wait for the container's limits: %w", errno)
	case stepCreated:
		return fmt.Errorf("tell the parent the container is created: %w", errno)
	case stepStart:
		return fmt.Errorf("read the exec fifo: %w", errno)
	case stepSeccomp:
		return fmt.Errorf("load seccomp filter: %w", errno)
	default:
		return startError(fmt.Errorf("exec %q: %w", s.args[0], errno))
	}
}

// startError is a failure to execute the command, with Docker's exit status for it.
func startError(err error) *StartError {
	return &StartError{Code: startErrorCode(err), Message: err.Error()}
}

// quiesce leaves the Go runtime nothing of its own to do once the container's limits are set
// (see lastSteps): GOMAXPROCS set, to itself, stops the runtime following the cgroup's CPU
// limit (it checks every second, and resizes itself from a goroutine of its own). Collections
// are off since the start (runInit, runExec).
func quiesce() {
	runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
}

// restoreNofile gives the process back the soft limit on open files it started with, for the
// command: the Go runtime raised it for itself at start, and puts it back only in
// syscall.Exec, on the way to execve — which lastSteps makes raw. syscall.Exec puts it back
// before its execve, which fails for an empty path (ENOENT): that puts it back now. After
// setRlimits has set the limit the spec asks for, there is nothing to put back, and this does
// nothing.
func restoreNofile() {
	syscall.Exec("", nil, nil)
}
