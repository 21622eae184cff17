// Command mydocker-shim watches a detached container while it runs, in place of the engine:
// the monitor (mydocker, re-executed) starts the container, then replaces itself with this
// program, which keeps the monitor's pid and so stays the container's parent. It copies the
// container's output to its log, passes a SIGTERM sent to it on to the container, reaps it,
// and then executes the monitor again with the exit status, to record it and restart or
// remove the container. The engine's whole binary waiting beside every detached container held
// some 5 MB of memory; this program links little more than the Go runtime (no fmt, flag or
// encoding/json: each costs pages). make installs it beside mydocker, which finds it there
// (without it the monitor waits itself).
//
//	mydocker-shim PID LOG MAX-SIZE MAX-FILE STDOUT-FD STDERR-FD -- MONITOR ARG...
//
// A stream's fd is -1 when there is none (a terminal is all on STDOUT-FD). The exit status is
// appended to MONITOR's arguments. The other fds it inherits (the container's owner lock, the
// sockets that hold its published ports) it leaves alone, and the monitor inherits them back.
package main

import (
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/mydocker/mydocker/internal/jsonlog"
)

func main() {
	args := os.Args[1:]
	ok := len(args) > 7 && args[6] == "--"
	num := func(i int) int64 { // a number argument; ok turns false on a bad one
		if !ok {
			return 0
		}
		n, err := strconv.ParseInt(args[i], 10, 64)
		ok = err == nil
		return n
	}
	pid, maxSize, maxFile, fds := int(num(0)), num(2), int(num(3)), []int{int(num(4)), int(num(5))}
	if !ok {
		fail("mydocker starts this program for its detached containers; it is not run by hand")
		os.Exit(125)
	}
	logPath, then := args[1], args[7:]
	signal.Ignore(syscall.SIGHUP, syscall.SIGINT, syscall.SIGPIPE)
	log, err := jsonlog.Open(logPath, jsonlog.Config{MaxSize: maxSize, MaxFile: maxFile})
	if err != nil {
		fail("open the log: " + err.Error())
	} else {
		log.Warn = func(err error) { fail("could not write the log: " + err.Error()) }
	}
	var copiers sync.WaitGroup
	for i, stream := range []string{"stdout", "stderr"} {
		fd := fds[i]
		if fd < 0 {
			continue
		}
		syscall.CloseOnExec(fd)
		// Non-blocking, the pipe is read through Go's poller: a blocking read would hold a
		// thread of its own, two a container, which a thousand containers count against
		// the host's pid_max.
		syscall.SetNonblock(fd, true)
		r := os.NewFile(uintptr(fd), stream)
		copiers.Add(1)
		go func() {
			defer copiers.Done()
			defer r.Close()
			if log != nil {
				log.CopyLines(r, stream)
			}
		}()
	}
	code := wait(pid)
	done := make(chan struct{})
	go func() { copiers.Wait(); close(done) }()
	select { // what the container wrote before it exited, unless something else holds the pipes
	case <-done:
	case <-time.After(2 * time.Second):
	}
	then = append(then, strconv.Itoa(code))
	// The monitor set no transparent huge pages for this program alone: the containers it may
	// start again get them as any process does.
	syscall.RawSyscall6(syscall.SYS_PRCTL, prSetTHPDisable, 0, 0, 0, 0, 0)
	err = syscall.Exec(then[0], then[1:], os.Environ())
	fail("execute " + then[0] + " to record the exit (" + strconv.Itoa(code) + "): " + err.Error())
	os.Exit(1)
}

const prSetTHPDisable = 41 // PR_SET_THP_DISABLE, which package syscall does not name

// fail says what went wrong on stderr, the container's monitor.log.
func fail(msg string) { os.Stderr.WriteString("mydocker-shim: " + msg + "\n") }

// wait reaps the container's init, passing a SIGTERM sent to this process on to it, and
// returns its exit status as Docker reports it: the code, or 128+n when signal n killed it.
func wait(pid int) int {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM)
	go func() {
		for s := range sigs {
			syscall.Kill(pid, s.(syscall.Signal))
		}
	}()
	for {
		var ws syscall.WaitStatus
		_, err := syscall.Wait4(pid, &ws, 0, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			fail("wait for the container's init " + strconv.Itoa(pid) + ": " + err.Error())
			return 137
		}
		if ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ws.ExitStatus()
	}
}
