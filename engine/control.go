package engine

import (
	"fmt"

	"github.com/moby/moby/api/types/events"

	"github.com/mydocker/mydocker/cgroups"
	"github.com/mydocker/mydocker/container"
)

// Paused reports whether a running container is paused. It is read from the freezer, not
// recorded: the container's watcher owns its state file, and a pause written there could
// cross the watcher's record of an exit.
func (e *Engine) Paused(st *State) bool {
	return st.Status == Running && st.Cgroups != nil && cgroups.Load(st.Cgroups).Frozen()
}

// Pause stops every process of a running container where it is (the freezer).
func (e *Engine) Pause(ref string) error {
	st, err := e.Get(ref)
	if err != nil {
		return err
	}
	if st.Status != Running {
		return fmt.Errorf("container %s is not running", st.ID)
	}
	if e.Paused(st) {
		return fmt.Errorf("container %s is already paused", st.ID)
	}
	if st.Cgroups == nil {
		return fmt.Errorf("container %s cannot be paused: %w", container.ShortID(st.ID), errNoCgroups)
	}
	if err := cgroups.Load(st.Cgroups).Freeze(); err != nil {
		return fmt.Errorf("pause container %s: %w", container.ShortID(st.ID), err)
	}
	e.containerEvent(st, events.ActionPause, nil)
	return nil
}

// Unpause lets a paused container's processes go on.
func (e *Engine) Unpause(ref string) error {
	st, err := e.Get(ref)
	if err != nil {
		return err
	}
	if !e.Paused(st) {
		return fmt.Errorf("container %s is not paused", st.ID)
	}
	if err := cgroups.Load(st.Cgroups).Thaw(); err != nil {
		return fmt.Errorf("unpause container %s: %w", container.ShortID(st.ID), err)
	}
	e.containerEvent(st, events.ActionUnPause, nil)
	return nil
}

// thaw lets a paused container go on so that a signal sent to it takes effect: a frozen
// process does not even die of SIGKILL until it is thawed.
func (e *Engine) thaw(st *State) {
	if e.Paused(st) {
		cgroups.Load(st.Cgroups).Thaw()
	}
}

// Rename gives a container another name.
func (e *Engine) Rename(ref, name string) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	st, err := e.Get(ref)
	if err != nil {
		return err
	}
	if st.Broken {
		return fmt.Errorf("container %s: %s", st.ID, st.Error)
	}
	if err := e.containers.Rename(st.ID, name); err != nil {
		return err
	}
	old := st.Name
	if st, err = e.containers.Load(st.ID); err != nil {
		return err
	}
	e.containerEvent(st, events.ActionRename, map[string]string{"oldName": "/" + old})
	if st.Status != Running {
		return nil
	}
	// Found by its new name on its networks at once.
	spec, err := e.containers.Spec(st.ID)
	if err != nil {
		return err
	}
	return e.networks.SetNames(st.ID, func(net string) []string {
		for _, a := range st.attachments() {
			if a.Name == net {
				return dnsNames(st, spec.Hostname, a.Aliases)
			}
		}
		return dnsNames(st, spec.Hostname, nil)
	})
}
