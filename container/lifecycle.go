package container

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mydocker/mydocker/internal/fsutil"
)

// ErrRunning is returned when rm meets a running container without force.
var ErrRunning = errors.New("container is running")

// ownerWait bounds how long stop and rm wait for the watcher to record an exit.
const ownerWait = 10 * time.Second

// Stop sends SIGTERM to the container's init, then SIGKILL after timeout, and returns once
// its exit is recorded. Stopping a stopped container is not an error.
func (e *Engine) Stop(ref string, timeout time.Duration) error {
	st, err := e.Get(ref)
	if err != nil {
		return err
	}
	if st.Status != Running {
		return nil
	}
	if err := signalProcess(st.Pid, st.PidStart, unix.SIGTERM); err == nil {
		if !waitExit(st.Pid, st.PidStart, timeout) {
			killAndWait(st.Pid, st.PidStart, 5*time.Second)
		}
	}
	return e.waitRecorded(st.ID)
}

// Kill sends sig to the container's init.
func (e *Engine) Kill(ref string, sig unix.Signal) error {
	st, err := e.Get(ref)
	if err != nil {
		return err
	}
	if st.Status != Running {
		return fmt.Errorf("cannot kill container: %s: container %s is not running", ref, st.ID)
	}
	return signalProcess(st.Pid, st.PidStart, sig)
}

// Remove deletes a stopped container; with force it kills a running one first.
func (e *Engine) Remove(ref string, force bool) error {
	st, err := e.Get(ref)
	if err != nil {
		return err
	}
	if st.Status == Running {
		if !force {
			return fmt.Errorf("you cannot remove a running container %s. Stop the container before attempting removal or force remove (rm -f): %w", st.ID, ErrRunning)
		}
		killAndWait(st.Pid, st.PidStart, 5*time.Second)
	}
	owner, err := e.takeOwner(st.ID)
	if err != nil {
		return err
	}
	defer owner.Unlock()
	st, err = e.containers.Load(st.ID)
	if errors.Is(err, ErrNotFound) {
		return nil // its --rm beat us to it
	}
	if err != nil {
		return err
	}
	return e.removeFiles(st)
}

// Wait blocks until the container stops and returns its exit status, as `docker wait`.
func (e *Engine) Wait(ref string) (int, error) {
	st, err := e.Get(ref)
	if err != nil {
		return 0, err
	}
	for st.Status != Exited {
		if st.Pid > 0 {
			waitExit(st.Pid, st.PidStart, time.Minute)
		}
		if err := e.waitRecorded(st.ID); err != nil {
			return 0, err
		}
		if st, err = e.containers.Load(st.ID); err != nil {
			return 0, err // removed meanwhile (--rm): Docker reports the same
		}
	}
	return st.ExitCode, nil
}

// waitRecorded waits until the container's watcher has recorded its exit and let go.
func (e *Engine) waitRecorded(id string) error {
	owner, err := e.takeOwner(id)
	if err != nil || owner == nil {
		return err
	}
	owner.Unlock()
	_, err = e.Get(id)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// takeOwner waits (bounded) for the owner lock of a container. It returns nil, nil when the
// container disappeared meanwhile (a --rm finished).
func (e *Engine) takeOwner(id string) (*fsutil.Lock, error) {
	deadline := time.Now().Add(ownerWait)
	for {
		l, ok, err := fsutil.TryLockFile(e.containers.ownerPath(id))
		if err != nil {
			if _, lerr := e.containers.Load(id); errors.Is(lerr, ErrNotFound) {
				return nil, nil
			}
			return nil, err
		}
		if ok {
			return l, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("container %s is still busy after %s", ShortID(id), ownerWait)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitExit waits up to timeout for the process to exit; a pidfd becomes readable when it does.
func waitExit(pid int, start uint64, timeout time.Duration) bool {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return true
	}
	defer unix.Close(fd)
	if !processAlive(pid, start) {
		return true
	}
	deadline := time.Now().Add(timeout)
	for {
		ms := int(time.Until(deadline).Milliseconds())
		if ms < 0 {
			ms = 0
		}
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, ms)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		return n > 0 || err != nil
	}
}

// killAndWait sends SIGKILL and waits (bounded) for the process to be gone.
func killAndWait(pid int, start uint64, timeout time.Duration) {
	if signalProcess(pid, start, unix.SIGKILL) == nil {
		waitExit(pid, start, timeout)
	}
}
