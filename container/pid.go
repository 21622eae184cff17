package container

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Process names one process for good: its pid and its start time, since a pid can be reused
// once the process is gone. The engine records it to signal and wait for a container's init
// from another mydocker process.
type Process struct {
	Pid   int
	Start uint64 // field 22 of /proc/PID/stat, see processStartTime
}

// StartTime is process pid's start time (see Process).
func StartTime(pid int) (uint64, error) { return processStartTime(pid) }

// processStartTime reads field 22 of /proc/PID/stat: the process's start time in clock ticks
// since boot.
func processStartTime(pid int) (uint64, error) {
	fields, err := procStat(pid)
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(fields[19], 10, 64)
}

// procStat reads /proc/PID/stat from field 3 (the state) on.
func procStat(pid int) ([]string, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil, err
	}
	// The command name (field 2) may hold spaces and parentheses: skip past its last ')'.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	fields := strings.Fields(s[i+1:])
	if len(fields) < 20 {
		return nil, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	return fields, nil
}

// Alive reports whether the process is still there (and not a newer one with its pid).
func (p Process) Alive() bool {
	if p.Pid <= 0 {
		return false
	}
	got, err := processStartTime(p.Pid)
	return err == nil && got == p.Start
}

// Running is Alive, but not for a process that has exited and waits for its parent to reap
// it (a zombie): it runs nothing any more.
func (p Process) Running() bool {
	if p.Pid <= 0 {
		return false
	}
	fields, err := procStat(p.Pid)
	if err != nil {
		return false
	}
	start, err := strconv.ParseUint(fields[19], 10, 64)
	return err == nil && start == p.Start && fields[0] != "Z" && fields[0] != "X"
}

// Signal sends sig to the process only if it is still the one named. A pidfd pins the process
// between the check and the signal.
func (p Process) Signal(sig unix.Signal) error {
	fd, err := unix.PidfdOpen(p.Pid, 0)
	if err != nil {
		return fmt.Errorf("process %d is gone: %w", p.Pid, err)
	}
	defer unix.Close(fd)
	if !p.Alive() {
		return fmt.Errorf("process %d is gone", p.Pid)
	}
	if err := unix.PidfdSendSignal(fd, sig, nil, 0); err != nil {
		return fmt.Errorf("signal process %d: %w", p.Pid, err)
	}
	return nil
}

// WaitExit waits up to timeout for the process to exit and reports whether it did; a pidfd
// becomes readable when it does. It works on any process, not only a child.
func (p Process) WaitExit(timeout time.Duration) bool {
	fd, err := unix.PidfdOpen(p.Pid, 0)
	if err != nil {
		return true
	}
	defer unix.Close(fd)
	if !p.Alive() {
		return true
	}
	deadline := time.Now().Add(timeout)
	for {
		ms := max(int(time.Until(deadline).Milliseconds()), 0)
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, ms)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		return n > 0 || err != nil
	}
}

// Kill sends SIGKILL and waits (up to timeout) for the process to be gone.
func (p Process) Kill(timeout time.Duration) {
	if p.Signal(unix.SIGKILL) == nil {
		p.WaitExit(timeout)
	}
}
