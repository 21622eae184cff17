package container

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/mydocker/mydocker/cgroups"
	"github.com/mydocker/mydocker/internal/fsutil"
	"github.com/mydocker/mydocker/network"
	"github.com/mydocker/mydocker/workspace"
)

// DefaultRoot is where mydocker keeps its state unless --root or MYDOCKER_ROOT says otherwise.
const DefaultRoot = "/var/lib/mydocker"

// Engine ties the stores together: containers, images and their root filesystems.
type Engine struct {
	root       string
	containers *Store
	images     *workspace.Store
	networks   *network.Manager
}

// NewEngine opens (and creates) the state under root.
func NewEngine(root string) (*Engine, error) {
	if err := os.MkdirAll(root, 0o711); err != nil {
		return nil, fmt.Errorf("create root %s: %w", root, err)
	}
	containers, err := OpenStore(root)
	if err != nil {
		return nil, err
	}
	images, err := workspace.Open(root)
	if err != nil {
		return nil, err
	}
	networks, err := network.Open(root)
	if err != nil {
		return nil, err
	}
	return &Engine{root: root, containers: containers, images: images, networks: networks}, nil
}

// Networks is the network manager.
func (e *Engine) Networks() *network.Manager { return e.networks }

// Root is the directory that holds all of this engine's state.
func (e *Engine) Root() string { return e.root }

// Images is the image store.
func (e *Engine) Images() *workspace.Store { return e.images }

// Containers is the container store.
func (e *Engine) Containers() *Store { return e.containers }

// Get finds a container by name or id and repairs its record if the process that watched it
// died (see repair).
func (e *Engine) Get(ref string) (*State, error) {
	st, err := e.containers.Find(ref)
	if err != nil {
		return nil, err
	}
	st, err = e.repair(st)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, ref)
	}
	return st, nil
}

// List returns every container, newest first, repairing the records of those whose watcher
// died — which is how a killed mydocker leaves nothing behind after the next ps.
func (e *Engine) List() ([]*State, error) {
	if err := e.containers.Prune(); err != nil {
		return nil, err
	}
	all, err := e.containers.List()
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, st := range all {
		st, err := e.repair(st)
		if err != nil {
			return nil, err
		}
		if st != nil {
			out = append(out, st)
		}
	}
	return out, nil
}

// repair brings the record of a container whose owner (the foreground run or the monitor)
// died back to the truth: the owner holds owner.lock for as long as it lives, so a lock we can
// take means nobody is watching. It returns nil when the container is gone for good.
func (e *Engine) repair(st *State) (*State, error) {
	if st.Status == Exited {
		return st, nil
	}
	owner, ok, err := fsutil.TryLockFile(e.containers.ownerPath(st.ID))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	if !ok {
		return st, nil
	}
	defer owner.Unlock()
	st, err = e.containers.Load(st.ID) // the owner may have finished just before dying
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil || st.Status == Exited {
		return st, err
	}
	if st.Pid > 0 {
		killAndWait(st.Pid, st.PidStart, 5*time.Second)
	}
	if st.Status == Created || st.AutoRemove {
		return nil, e.removeFiles(st)
	}
	e.releaseResources(st)
	st.Status = Exited
	st.ExitCode = 137
	st.FinishedAt = time.Now().UTC()
	st.Pid, st.PidStart = 0, 0
	st.Error = "the mydocker process that watched this container was killed"
	return st, e.containers.Save(st)
}

// releaseResources gives back what a running container holds beside its files: its cgroups
// (killing what is left in them), its address, veth and port rules. Each step is idempotent,
// so a repair after a crash can run it again.
func (e *Engine) releaseResources(st *State) error {
	var errs []error
	if st.Cgroups != nil {
		errs = append(errs, cgroups.Load(st.Cgroups).Destroy())
	}
	if st.Network != "none" && st.Network != "host" {
		errs = append(errs, e.networks.Disconnect(st.ID))
	}
	return errors.Join(errs...)
}

// removeFiles deletes the container's rootfs layer and its directory. The caller holds the
// owner lock, so no monitor is using them.
func (e *Engine) removeFiles(st *State) error {
	if err := e.releaseResources(st); err != nil {
		return err
	}
	driver, err := workspace.NewDriver(st.Driver)
	if err != nil {
		return err
	}
	if err := driver.Remove(e.containers.layerDir(st.ID)); err != nil {
		return fmt.Errorf("remove rootfs of %s: %w", ShortID(st.ID), err)
	}
	return e.containers.Delete(st.ID)
}
