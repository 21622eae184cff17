package engine

import (
	"fmt"

	"github.com/mydocker/mydocker/cgroups"
	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/subsystems"
)

// Stats reads a running container's usage from its cgroups.
func (e *Engine) Stats(ref string) (*State, *subsystems.Stats, error) {
	st, err := e.Get(ref)
	if err != nil {
		return nil, nil, err
	}
	if st.Status != Running {
		return st, nil, fmt.Errorf("container %s is not running", ref)
	}
	stats, err := cgroups.Load(st.Cgroups).Stats()
	if err != nil {
		return st, nil, fmt.Errorf("read the cgroups of %s: %w", container.ShortID(st.ID), err)
	}
	return st, stats, nil
}
