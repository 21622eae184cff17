package engine

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/moby/moby/api/types/events"

	"github.com/mydocker/mydocker/container"
)

// Create makes a container as run does, without starting it: it is recorded Created, with
// its spec and root filesystem ready, and nothing of it in the kernel yet (no cgroup,
// namespace, mount or address until Start).
func (e *Engine) Create(opts *Options) (string, error) {
	opts.HostNetwork = len(opts.Networks) > 0 && opts.Networks[0] == "host"
	opts.Detach = true // a created container runs under a monitor, with its output logged
	c, err := e.create(opts, nil)
	if err != nil {
		return "", err
	}
	defer c.owner.Unlock()
	if err := e.record(c.st, func(st *State) { st.Waiting = true }); err != nil {
		e.discard(c.st)
		return "", err
	}
	return c.st.ID, nil
}

// Start starts a created or stopped container under a monitor, as run -d does, and returns
// once its command runs. Starting a running container does nothing. A start that fails
// leaves the container as it was, with the error in its state.
func (e *Engine) Start(ref string) error {
	st, err := e.Get(ref)
	if err != nil {
		return err
	}
	switch {
	case st.Broken || st.Status == Dead:
		return fmt.Errorf("container %s cannot be started: %s; remove it with rm -f", st.ID, st.Error)
	case st.Status == Running:
		return nil
	}
	owner, err := e.takeOwner(st.ID)
	if err != nil {
		return err
	}
	if owner == nil {
		return fmt.Errorf("%w: %s", ErrNotFound, ref)
	}
	if st, err = e.containers.Load(st.ID); err != nil {
		owner.Unlock()
		return err
	}
	if st.Status == Running { // started meanwhile
		owner.Unlock()
		return nil
	}
	os.Remove(e.stoppedPath(st.ID))
	if err := e.record(st, func(st *State) { st.Waiting, st.Detached = true, true }); err != nil {
		owner.Unlock()
		return err
	}
	err = e.startMonitor(st, owner)
	if err != nil && st.AutoRemove {
		// As dockerd does, a container made to go once it exits goes when it cannot start.
		if rerr := e.Remove(st.ID, true); rerr != nil {
			logFor(st.ID).WithError(rerr).Warn("could not remove the container that failed to start (--rm)")
		}
	}
	return err
}

// StartAttached starts the container and copies its output to stdout and stderr until it
// stops (start -a), then returns its exit status. With stdin (start -i), what it reads goes
// to the container's stdin (one made with -i).
func (e *Engine) StartAttached(ref string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	st, err := e.Get(ref)
	if err != nil {
		return 0, err
	}
	if stdin != nil && !st.OpenStdin {
		return 0, fmt.Errorf("container %s was not made with -i: it has no stdin to attach to", container.ShortID(st.ID))
	}
	// What the log holds so far is an earlier run's: only what this start logs is shown.
	since := time.Now()
	e.containerEvent(st, events.ActionAttach, nil)
	if err := e.Start(st.ID); err != nil {
		return 0, err
	}
	if stdin != nil {
		if err := e.sendStdin(st.ID, stdin); err != nil {
			return 0, err
		}
	}
	if err := e.Logs(st.ID, LogOptions{Follow: true, Tail: -1, Since: since}, stdout, stderr); err != nil {
		return 0, err
	}
	return e.Wait(st.ID)
}

// Restart stops the container (timeout as Stop's) and starts it again.
func (e *Engine) Restart(ref string, timeout *time.Duration) error {
	if err := e.Stop(ref, timeout); err != nil {
		return err
	}
	return e.Start(ref)
}

// restarts reports whether the container's policy has it started again after it exited
// with code, and stop did not end it.
func (e *Engine) restarts(st *State, code int) bool {
	if e.stoppedByUser(st.ID) {
		return false
	}
	switch st.RestartPolicy.Name {
	case "always", "unless-stopped":
		return true
	case "on-failure":
		return code != 0 && (st.RestartPolicy.MaxRetries == 0 || st.RestartCount < st.RestartPolicy.MaxRetries)
	}
	return false
}

// The stopped marker says stop ended the container on purpose: its restart policy does not
// start it again until start does.
func (e *Engine) stoppedPath(id string) string { return filepath.Join(e.containers.Dir(id), "stopped") }

func (e *Engine) stoppedByUser(id string) bool {
	_, err := os.Stat(e.stoppedPath(id))
	return err == nil
}

// AttachEvent records that a client attached to the container's streams (the Engine API's
// attach, before docker run starts the container), as dockerd's "attach" event.
func (e *Engine) AttachEvent(ref string) error {
	st, err := e.Get(ref)
	if err != nil {
		return err
	}
	e.containerEvent(st, events.ActionAttach, nil)
	return nil
}

// Attach copies a running container's output, from now on, to stdout and stderr until it
// stops, then returns its exit status; with stdin, to a container made with -i, what it reads
// goes to the container's stdin.
func (e *Engine) Attach(ref string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	st, err := e.Get(ref)
	if err != nil {
		return 0, err
	}
	if st.Status != Running {
		return 0, fmt.Errorf("you cannot attach to a stopped container, start it first")
	}
	since := time.Now() // before any input: what the container answers to it is shown
	e.containerEvent(st, events.ActionAttach, nil)
	if stdin != nil && st.OpenStdin {
		if err := e.sendStdin(st.ID, stdin); err != nil {
			return 0, err
		}
	}
	if err := e.Logs(st.ID, LogOptions{Follow: true, Tail: -1, Since: since}, stdout, stderr); err != nil {
		return 0, err
	}
	return e.Wait(st.ID)
}

// sendStdin copies stdin to the container's stdin in the background; its end ends the
// container's input.
func (e *Engine) sendStdin(id string, stdin io.Reader) error {
	conn, err := e.AttachStdin(id)
	if err != nil {
		return err
	}
	go func() {
		io.Copy(conn, stdin)
		conn.CloseWrite()
	}()
	return nil
}
