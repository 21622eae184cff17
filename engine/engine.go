// Package engine is mydocker without a daemon: containers with names and state on disk, made
// from images (workspace) and attached to networks (network), run by the runtime (container).
// It keeps one directory per container (store.go), watches detached containers (monitor.go),
// logs their output in Docker's json-file format (logs.go), and stops, kills, waits for and
// removes them (lifecycle.go).
//
// Reads report, commands repair: Get and List never kill a process or delete a container. A
// container whose watcher died (a killed mydocker) is reported Dead until an operation that
// changes its state — rm, stop, wait, or a run that wants its name — repairs it.
//
// Nothing here parses flags, prints tables or exits the process: the engine returns errors
// and the mydocker command decides what the user sees.
package engine

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/mydocker/mydocker/cgroups"
	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/internal/fsutil"
	"github.com/mydocker/mydocker/network"
	"github.com/mydocker/mydocker/userns"
	"github.com/mydocker/mydocker/workspace"
)

// DefaultRoot is where mydocker keeps its state unless told otherwise.
const DefaultRoot = "/var/lib/mydocker"

// Engine ties the stores together: containers, images and their root filesystems, networks.
type Engine struct {
	root       string
	containers *Store
	images     *workspace.Store
	networks   *network.Manager
	ports      heldPorts // the ports of the containers this process watches
	// remap, when set, is the user namespace of the containers this engine makes
	// (--userns-remap, RemapUsers).
	remap *userns.IDs
}

// The names of containers on user networks are answered by a resolver: mydocker-dns, or this
// binary again when it links the resolver (a chapter's program; see network.ResolverMain).
func init() { network.Resolver = network.ResolverControl{} }

// New opens (and creates) the state under root.
func New(root string) (*Engine, error) {
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

// Get finds a container by name or id. A container whose watcher died is reported Dead; its
// record is left as it is (see repair).
func (e *Engine) Get(ref string) (*State, error) {
	st, err := e.containers.Find(ref)
	if err != nil {
		return nil, err
	}
	return e.checkWatcher(st)
}

// List returns every container, newest first, each as Get reports it.
func (e *Engine) List() ([]*State, error) {
	all, err := e.containers.List()
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, st := range all {
		st, err := e.checkWatcher(st)
		if errors.Is(err, ErrNotFound) {
			continue // removed meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// checkWatcher reports a container whose watcher (the foreground run or the monitor) died as
// Dead. The watcher holds owner.lock for as long as it lives, so a lock we can take means
// nobody is watching.
func (e *Engine) checkWatcher(st *State) (*State, error) {
	if st.Status == Exited || st.Broken || (st.Status == Created && st.Waiting) {
		return st, nil
	}
	owner, free, err := e.tryOwner(st.ID)
	if err != nil || !free {
		return st, err
	}
	defer owner.Unlock()
	// The watcher may have recorded the exit just before it let go.
	st, err = e.containers.Load(st.ID)
	if err != nil || st.Status == Exited || st.Broken || (st.Status == Created && st.Waiting) {
		return st, err
	}
	st.Status = Dead
	st.Error = errWatcherDied
	return st, nil
}

const errWatcherDied = "the mydocker process that watched this container was killed"

// tryOwner takes the owner lock of container id if nobody holds it. ErrNotFound: the container
// is gone.
func (e *Engine) tryOwner(id string) (*fsutil.Lock, bool, error) {
	owner, ok, err := fsutil.TryLockFile(e.containers.ownerPath(id))
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return owner, ok, err
}

// repair brings the record of a Dead container back to the truth: its processes are killed
// (should any be left), what it held is given back, and its exit is recorded as a SIGKILL —
// or, for a container that never ran or was to be removed on exit, it is removed. It returns
// the repaired state, or nil when the container is gone.
func (e *Engine) repair(st *State) (*State, error) {
	if st.Status != Dead || st.Broken {
		return st, nil // a broken container can only be removed (removeBroken)
	}
	owner, free, err := e.tryOwner(st.ID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !free {
		return e.containers.Load(st.ID) // a watcher took over meanwhile
	}
	defer owner.Unlock()
	st, err = e.containers.Load(st.ID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil || st.Status == Exited {
		return st, err
	}
	if st.Pid > 0 {
		st.process().Kill(5 * time.Second)
	}
	if st.Status == Created || st.AutoRemove {
		return nil, e.removeFiles(st)
	}
	cleanup := e.release(st)
	err = e.record(st, func(st *State) {
		st.Status = Exited
		st.ExitCode = 137
		st.FinishedAt = time.Now().UTC()
		st.Pid, st.PidStart = 0, 0
		st.Error = errWatcherDied
		keepCleanupError(st, cleanup)
	})
	return st, err
}

// releaseResources gives back what a running container holds beside its files: its cgroups
// (killing what is left in them), its address, veth and port rules, and the host ports this
// process holds for it. Each step is idempotent,
// so a repair after a crash can run it again.
func (e *Engine) releaseResources(st *State) error {
	var errs []error
	var destroyErr error
	if st.Cgroups != nil {
		cg := cgroups.Load(st.Cgroups)
		if cg.Frozen() { // its processes die of SIGKILL only once thawed
			cg.Thaw()
		}
		destroyErr = cg.Destroy()
		errs = append(errs, destroyErr)
	}
	// Its init is dead, and with the cgroups every other process.
	errs = append(errs, e.networks.DisconnectAll(st.ID, destroyErr == nil))
	e.ports.drop(st.ID) // its rules gone, its host ports are free again
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
		return fmt.Errorf("remove rootfs of %s: %w", container.ShortID(st.ID), err)
	}
	return e.containers.Delete(st.ID, st.Name)
}

// removeBroken removes a container whose state cannot be read, from what can be worked out
// without it: the cgroups it was given (named by its id, below this process's cgroup, as
// create made them) are emptied and removed, its network endpoint (kept by id) is released,
// and its directory goes. Its root filesystem was mounted only in its own mount namespace,
// which died with its processes.
func (e *Engine) removeBroken(id string) error {
	var errs []error
	destroyed := false
	if cg, err := cgroups.New(id); err == nil {
		err := cg.Destroy()
		destroyed = err == nil
		errs = append(errs, err)
	} else if !errors.Is(err, cgroups.ErrNoDelegation) {
		errs = append(errs, err)
	}
	owner, err := e.takeOwner(id)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	if owner != nil {
		defer owner.Unlock()
	}
	errs = append(errs, e.networks.DisconnectAll(id, destroyed), e.containers.Delete(id, ""))
	return errors.Join(errs...)
}
