package engine

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/moby/moby/api/types/events"

	"golang.org/x/sys/unix"

	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/internal/fsutil"
)

// ErrRunning is returned when rm meets a running container without force.
var ErrRunning = errors.New("container is running")

// ownerWait bounds how long stop and rm wait for the watcher to record an exit.
const ownerWait = 10 * time.Second

// Stop sends the container's stop signal (SIGTERM unless it has one of its own) to its init,
// then SIGKILL after timeout (nil: the container's own stop timeout, else 10 s), and returns
// once its exit is recorded. Stopping a stopped container is not an error; stopping a Dead
// one repairs it.
func (e *Engine) Stop(ref string, timeout *time.Duration) error {
	st, err := e.Get(ref)
	if err != nil {
		return err
	}
	if st.Broken {
		return fmt.Errorf("container %s cannot be stopped: %s; remove it with rm -f", st.ID, st.Error)
	}
	if st.Status == Dead {
		_, err := e.repair(st)
		return err
	}
	if st.RestartPolicy.Name != "" {
		// Stopped on purpose: the policy does not start it again (until start does), also
		// when it is waiting to be restarted right now.
		os.WriteFile(e.stoppedPath(st.ID), nil, 0o600)
	}
	if st.Status != Running {
		return e.waitRecorded(st.ID)
	}
	wait := 10 * time.Second
	switch {
	case timeout != nil:
		wait = *timeout
	case st.StopTimeout != nil:
		wait = time.Duration(*st.StopTimeout) * time.Second
	}
	sig := unix.SIGTERM
	if st.Config.StopSignal != "" {
		if s, err := container.ParseSignal(st.Config.StopSignal); err == nil {
			sig = s
		}
	}
	if wait < 0 { // as Docker's stop -t -1: no SIGKILL
		wait = 100 * 365 * 24 * time.Hour
	}
	if err := st.process().Signal(sig); err == nil {
		e.thaw(st)
		if !st.process().WaitExit(wait) {
			st.process().Kill(5 * time.Second)
		}
	}
	if err := e.waitRecorded(st.ID); err != nil {
		return err
	}
	e.containerEvent(st, events.ActionStop, nil)
	return nil
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
	if err := st.process().Signal(sig); err != nil {
		return err
	}
	e.containerEvent(st, events.ActionKill, map[string]string{"signal": strconv.Itoa(int(sig))})
	if sig == unix.SIGKILL {
		e.thaw(st) // a paused container dies of it only once thawed, as with Docker
	}
	return nil
}

// Remove deletes a stopped (or Dead) container; with force it kills a running one first.
func (e *Engine) Remove(ref string, force bool) error {
	st, err := e.Get(ref)
	if err != nil {
		return err
	}
	if st.Broken {
		return e.removeBroken(st.ID)
	}
	if st.Status == Dead {
		if st, err = e.repair(st); st == nil || err != nil {
			return err
		}
	}
	if st.RestartPolicy.Name != "" {
		os.WriteFile(e.stoppedPath(st.ID), nil, 0o600) // no restart meanwhile
	}
	if st.Status == Running {
		if !force {
			return fmt.Errorf("you cannot remove a running container %s. Stop the container before attempting removal or force remove (rm -f): %w", st.ID, ErrRunning)
		}
		e.thaw(st)
		st.process().Kill(5 * time.Second)
	}
	owner, err := e.takeOwner(st.ID)
	if err != nil || owner == nil { // nil: gone meanwhile, its --rm beat us to it
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
	if err := e.removeFiles(st); err != nil {
		return err
	}
	e.containerEvent(st, events.ActionDestroy, nil)
	return nil
}

// Wait blocks until the container stops and returns its exit status, as `docker wait`.
func (e *Engine) Wait(ref string) (int, error) {
	st, err := e.Get(ref)
	if err != nil {
		return 0, err
	}
	if st.Broken {
		return 0, fmt.Errorf("container %s: %s", st.ID, st.Error)
	}
	for st.Status != Exited {
		if st.Pid > 0 {
			st.process().WaitExit(time.Minute)
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

// waitRecorded waits until the container's watcher has recorded its exit and let go — or
// died, when the exit is recorded by a repair.
func (e *Engine) waitRecorded(id string) error {
	owner, err := e.takeOwner(id)
	if err != nil || owner == nil {
		return err
	}
	owner.Unlock()
	st, err := e.Get(id)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	_, err = e.repair(st)
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
			return nil, fmt.Errorf("container %s is still busy after %s", container.ShortID(id), ownerWait)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// PruneUnfinished removes what mydocker processes killed while they created a container left:
// a directory with no state, whose owner lock nobody holds. rm calls it: half-made
// containers are never listed, so only the disk they take is at stake.
func (e *Engine) PruneUnfinished() error { return e.containers.Prune() }
