package engine

import (
	"errors"
	"strconv"
	"time"

	"github.com/moby/moby/api/types/events"
)

// WaitCondition is what a wait waits for, as the Engine API's wait names it.
type WaitCondition string

const (
	WaitNotRunning WaitCondition = "not-running" // the container is not running (now, or once it stops)
	WaitNextExit   WaitCondition = "next-exit"   // its next exit, even if it does not run yet
	WaitRemoved    WaitCondition = "removed"     // its removal (run --rm), with its last exit status
)

// errStopWaiting ends the reading of the events once the wait is over.
var errStopWaiting = errors.New("the wait is over")

// WaitFor waits for the container as condition says and returns its exit status, following
// the engine's events (die, with the exit status; destroy) from the moment it is called, and
// looking at the container's state now and then in case an event could not be recorded. done
// ends the wait early (the client went away): the status is then -1.
func (e *Engine) WaitFor(ref string, condition WaitCondition, done <-chan struct{}) (int, error) {
	since := time.Now()
	st, err := e.Get(ref)
	if err != nil {
		return 0, err
	}
	id, code := st.ID, st.ExitCode
	if condition == WaitNotRunning && st.Status != Running {
		return code, nil
	}
	stop := make(chan struct{})
	defer close(stop)
	over := make(chan struct{})
	go func() { // now and then, the state itself
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Second):
			}
			// Not running covers a die recorded after the first look but logged before it.
			cur, err := e.containers.Load(id)
			if (err != nil && condition == WaitRemoved) || (err == nil && condition == WaitNotRunning && cur.Status != Running) ||
				(err == nil && condition == WaitNextExit && cur.Status == Exited && cur.FinishedAt.After(since)) {
				close(over)
				return
			}
		}
	}()
	ended := make(chan struct{})
	go func() {
		select {
		case <-done:
		case <-over:
		case <-stop:
		}
		close(ended)
	}()
	exited := false
	err = e.Events(EventOptions{Since: since, Done: ended}, func(m events.Message) error {
		if m.Actor.ID != id {
			return nil
		}
		switch m.Action {
		case events.ActionDie:
			code, _ = strconv.Atoi(m.Actor.Attributes["exitCode"])
			exited = true
			if condition != WaitRemoved {
				return errStopWaiting
			}
		case events.ActionDestroy:
			return errStopWaiting
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStopWaiting) {
		return 0, err
	}
	select {
	case <-done:
		if !exited {
			return -1, nil
		}
	default:
	}
	if !exited { // seen in the state, not in the events
		if cur, err := e.containers.Load(id); err == nil {
			code = cur.ExitCode
		}
	}
	return code, nil
}
