package engine

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/userns"
)

// cp works in a container's root, running or not. A running container's is the root its
// processes see, /proc/PID/root. A stopped one (created or exited) has no mount anywhere: cp
// mounts its root filesystem, and its volumes and binds on it, as its init would, in a mount
// namespace that one thread of this process has to itself. Nobody else sees that mount, and
// it cannot outlive the copy: it is unmounted when the copy ends, and should this process die
// first, the namespace goes with its thread. Meanwhile cp holds the container's owner lock,
// so that it does not start (a start waits, bounded, as for any owner): its upper directory
// is never in two overlays at once.

// cpRoot is the root a copy works in.
type cpRoot struct {
	*os.File // the root, open as O_PATH
	st       *State
	// ids: the root shows the host's ids of a container with a user namespace of its own
	// (through its idmapped root); nil when they are the container's own.
	ids     *userns.IDs
	release func() error // a stopped container's: unmount and let go
}

// Close closes the root and lets a stopped container go, unmounted.
func (r *cpRoot) Close() error {
	err := r.File.Close()
	if r.release != nil {
		if rerr := r.release(); err == nil {
			err = rerr
		}
	}
	return err
}

// openRoot opens the root of container ref for cp. A container that is starting or stopping
// (its owner busy, its state not settled) is waited for, up to ownerWait.
func (e *Engine) openRoot(ref string) (*cpRoot, error) {
	deadline := time.Now().Add(ownerWait)
	for {
		st, err := e.Get(ref)
		if err != nil {
			return nil, err
		}
		if st.Broken || st.Status == Dead {
			return nil, fmt.Errorf("cannot copy files of container %s: %s; remove it with rm -f", container.ShortID(st.ID), st.Error)
		}
		var r *cpRoot
		if st.Status == Running {
			r, err = e.runningRoot(st)
		} else {
			r, err = e.stoppedRoot(st)
		}
		if r != nil || err != nil {
			return r, err
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("container %s is still busy (starting, stopping or restarting) after %s: try again", container.ShortID(st.ID), ownerWait)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// runningRoot opens the root of a running container; nil, nil when it has just stopped.
func (e *Engine) runningRoot(st *State) (*cpRoot, error) {
	root, err := os.OpenFile("/proc/"+strconv.Itoa(st.Pid)+"/root", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	// Checked after the open: a pid reused meanwhile is another process's, whose root is not
	// the container's.
	if !st.process().Alive() {
		if err == nil {
			root.Close()
		}
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open the root of container %s: %w", container.ShortID(st.ID), err)
	}
	ids, err := e.idsOf(st)
	if err != nil {
		root.Close()
		return nil, err
	}
	return &cpRoot{File: root, st: st, ids: ids}, nil
}

// stoppedRoot takes a stopped container's owner lock and mounts its root; nil, nil when the
// owner is busy (it is starting, stopping or being removed).
func (e *Engine) stoppedRoot(st *State) (_ *cpRoot, retErr error) {
	owner, free, err := e.tryOwner(st.ID)
	if err != nil || !free {
		return nil, err
	}
	defer func() {
		if retErr != nil {
			owner.Unlock()
		}
	}()
	if st, err = e.containers.Load(st.ID); err != nil {
		return nil, err
	}
	if st.Status != Exited && !(st.Status == Created && st.Waiting) {
		// Nobody watches it, yet it is not stopped: its watcher died.
		return nil, fmt.Errorf("cannot copy files of container %s: %s; remove it with rm -f", container.ShortID(st.ID), errWatcherDied)
	}
	spec, err := e.containers.Spec(st.ID)
	if err != nil {
		return nil, err
	}
	root, unmount, err := mountPrivately(spec, st.Rootfs)
	if err != nil {
		return nil, fmt.Errorf("mount the files of container %s: %w", container.ShortID(st.ID), err)
	}
	release := func() error {
		err := unmount()
		owner.Unlock()
		return err
	}
	return &cpRoot{File: root, st: st, release: release}, nil
}

// mountPrivately mounts a container's root filesystem (rootfs; nil: spec.Root.Path is ready
// as it is) on spec.Root.Path with the spec's binds on it — volumes, -v and --mount binds, the
// /etc files — read-only if the spec says so, in a mount namespace of a thread of its own
// (see above). It returns the root, open, and what unmounts it all.
func mountPrivately(spec *specs.Spec, rootfs *specs.Mount) (*os.File, func() error, error) {
	type mounted struct {
		root *os.File
		err  error
	}
	ready := make(chan mounted, 1)
	done := make(chan struct{})
	unmounted := make(chan error, 1)
	go func() {
		// Never unlocked: the thread, in its own mount namespace, ends with this goroutine,
		// and the namespace with it.
		runtime.LockOSThread()
		root, err := mountRoot(spec, rootfs)
		ready <- mounted{root, err}
		if err != nil {
			return
		}
		<-done
		unmounted <- unmountAll(spec.Root.Path)
	}()
	m := <-ready
	if m.err != nil {
		return nil, nil, m.err
	}
	return m.root, func() error {
		close(done)
		return <-unmounted
	}, nil
}

// mountRoot makes the mounts of mountPrivately, on the calling thread (locked), once it has a
// mount namespace of its own whose mount events go nowhere. What it mounted before an error
// is unmounted.
func mountRoot(spec *specs.Spec, rootfs *specs.Mount) (_ *os.File, retErr error) {
	if err := unix.Unshare(unix.CLONE_FS | unix.CLONE_NEWNS); err != nil {
		return nil, fmt.Errorf("unshare a mount namespace: %w", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return nil, fmt.Errorf("make the mounts of the new namespace slaves: %w", err)
	}
	path := spec.Root.Path
	defer func() {
		if retErr != nil {
			if err := unmountAll(path); err != nil {
				retErr = fmt.Errorf("%w (and %v)", retErr, err)
			}
		}
	}()
	if err := container.MountRootfs(path, rootfs); err != nil {
		return nil, err
	}
	for _, m := range spec.Mounts {
		if !isBindMount(m) {
			continue // /proc, /dev, tmpfs...: the kernel's, made afresh at each start
		}
		if err := container.MountInto(path, m); err != nil {
			return nil, err
		}
	}
	if spec.Root.Readonly { // the root alone: volumes stay writable, as in the container
		if err := unix.Mount("", path, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
			return nil, fmt.Errorf("remount %s read-only: %w", path, err)
		}
	}
	root, err := os.OpenFile(path, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return root, nil
}

// isBindMount reports whether a spec mount binds a host path (a volume's included).
func isBindMount(m specs.Mount) bool {
	if m.Type == "bind" {
		return true
	}
	for _, o := range m.Options {
		if o == "bind" || o == "rbind" {
			return true
		}
	}
	return false
}

// unmountAll detaches every mount stacked on path (those below it go with each), until path
// is a mount point no more.
func unmountAll(path string) error {
	for range 8 {
		err := unix.Unmount(path, unix.MNT_DETACH)
		if errors.Is(err, unix.EINVAL) {
			return nil // not a mount point
		}
		if err != nil {
			return fmt.Errorf("unmount %s: %w", path, err)
		}
	}
	return fmt.Errorf("unmount %s: still mounted after 8 unmounts", path)
}
