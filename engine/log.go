package engine

import (
	"github.com/sirupsen/logrus"

	"github.com/mydocker/mydocker/container"
)

// The engine logs through logrus, as runc, containerd and moby do: what failed while cleaning
// up, what a monitor saw. The mydocker command sets the level (--log-level, --debug) and sends
// it to stderr; a monitor writes it to monitor.log in its container's directory. Messages for
// the user are errors, returned; the log is for what would otherwise be dropped.

// logFor is the log of one container.
func logFor(id string) *logrus.Entry {
	return logrus.WithField("container", container.ShortID(id))
}

// discard removes a container that did not start, logging what could not be removed: the
// error the user sees is the one that stopped the start.
func (e *Engine) discard(st *State) {
	if err := e.removeFiles(st); err != nil {
		logFor(st.ID).WithError(err).Warn("could not remove all of a container that did not start")
		return
	}
	e.discardVolumes(st.ID, st.NewVolumes) // its holds went with its directory
}

// release gives back what a stopped container held (releaseResources) and, when something
// could not be given back, logs it and returns it for the container's state, where inspect
// shows it and a later rm tries again: the caller records it with keepCleanupError.
func (e *Engine) release(st *State) error {
	err := e.releaseResources(st)
	if err != nil {
		logFor(st.ID).WithError(err).Warn("could not release all the container held")
	}
	return err
}

// keepCleanupError records in st what release could not give back (nil: nothing more).
func keepCleanupError(st *State, err error) {
	if err != nil {
		st.CleanupError = err.Error()
	}
}

// record applies edit to the container's state as stored (Store.Update) and makes st what was
// written: whatever another process changed meanwhile (a rename) is kept, and st sees it.
func (e *Engine) record(st *State, edit func(*State)) error {
	cur, err := e.containers.Update(st.ID, edit)
	if err != nil {
		return err
	}
	*st = *cur
	return nil
}
