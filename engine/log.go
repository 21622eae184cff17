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
	for _, name := range st.NewVolumes {
		if err := e.VolumeRemove(name); err != nil {
			logFor(st.ID).WithError(err).Warn("could not remove a volume made for a container that did not start")
		}
	}
}

// release gives back what a stopped container held (releaseResources) and, when something
// could not be given back, logs it and keeps it in the container's state, where inspect
// shows it and a later rm tries again.
func (e *Engine) release(st *State) {
	if err := e.releaseResources(st); err != nil {
		logFor(st.ID).WithError(err).Warn("could not release all the container held")
		st.CleanupError = err.Error()
	}
}
