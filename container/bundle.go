package container

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/mydocker/mydocker/cgroups"
)

// Bundle is a container as a runtime takes it — what `runc run` reads from a bundle directory:
// the spec, and how to get the root filesystem. It is also everything the init needs, sent to
// it over fd 3: over a pipe rather than on the command line, so a spec of any size fits and
// nothing of it shows in ps.
type Bundle struct {
	Spec *specs.Spec `json:"spec"`
	// RootfsMount, when set, is mounted on Spec.Root.Path inside the container's mount
	// namespace, so the rootfs dies with the container and is never mounted on the host.
	// Nil: Spec.Root.Path is used as it is (a directory, or "/" for the host's filesystem).
	RootfsMount *specs.Mount `json:"rootfs_mount,omitempty"`
	// IDMapRootfs shows the root filesystem to a container with a user namespace of its own
	// through its mappings: a file of uid 0 on disk is its root's, and what its root writes is
	// uid 0's on disk, so that one image's layers serve containers of any mapping. The parent
	// makes the mount (see idmap.go).
	IDMapRootfs bool `json:"idmap_rootfs,omitempty"`
	// NoPivot makes the root with chroot instead of pivot_root (see MoveRoot).
	NoPivot bool `json:"no_pivot,omitempty"`
	// Init keeps the init as the container's PID 1, with the command its child (run --init).
	Init bool `json:"init,omitempty"`
	// ExecFifo, when set, is a fifo (a host path) the runtime opens and hands the init, which
	// reads it once it is ready to execute the command: it waits there for a byte. It is the
	// OCI runtime spec's two-step start (create, then start), as runc's exec.fifo (which runc's
	// init writes and start reads): create returns while the init waits, start writes the byte.
	ExecFifo string `json:"exec_fifo,omitempty"`
	// HookState is the state (the runtime spec's JSON) the init gives the spec's
	// createContainer and startContainer hooks, which run inside the container: its caller
	// knows the container's id and bundle, the init does not.
	HookState []byte `json:"hook_state,omitempty"`
	// Seccomp is Spec.Linux.Seccomp compiled; filled in by the runtime (Init.Start) when the
	// caller has not already (from a cache of its own).
	Seccomp *Seccomp `json:"seccomp,omitempty"`
	// CgroupDirs are the container's cgroups (cgroups.Manager.Paths), which its v1
	// /sys/fs/cgroup shows, when the init is moved into them while it prepares the container
	// (Init.JoinCgroupsMeanwhile): it may not be in them yet. Filled in by Init.Send.
	CgroupDirs map[string]string `json:"cgroup_dirs,omitempty"`
	// JoinsCgroups has the init move the thread that executes the command into the
	// container's v1 cgroups itself, alone, through their tasks files, which come in a
	// "cgroups" message once the cgroups are made (Init.JoinCgroupsMeanwhile). PrepareEarly
	// has it prepare the container — mounts, root, confinement — before the word to go on,
	// while its parent goes on with the container's record and network: for a spec that
	// needs nothing of them (Init.Send). Both filled in by Init.Send.
	JoinsCgroups bool `json:"joins_cgroups,omitempty"`
	PrepareEarly bool `json:"prepare_early,omitempty"`
}

// wireBundle is a Bundle as it travels to the init: its spec as the init reads it (initSpec;
// Spec, here, hides the Bundle's own).
type wireBundle struct {
	Bundle
	Spec *initSpec `json:"spec"`
}

// bundle is the Bundle w carried.
func (w *wireBundle) bundle() *Bundle {
	b := w.Bundle
	b.Spec = w.Spec.Spec()
	return &b
}

// RunBundle runs a container straight from a bundle, in the foreground, and returns its exit
// status: no image, no name, no state, no network — the runtime alone, as `runc run` and each
// chapter's program use it. With Spec.Linux.Resources set, the container gets cgroups (named
// id), which are removed when it exits. An error means the command did not start, and nothing
// is left.
func RunBundle(id string, b *Bundle, stdio Stdio) (exitCode int, err error) {
	sigs := CatchSignals()
	defer sigs.Stop()
	p, err := StartInit(b.Spec.Linux, b.Spec.Process.Terminal, stdio)
	if err != nil {
		return 0, err
	}
	if err := p.Send(b); err != nil {
		p.Kill()
		return 0, err
	}
	// Without cgroups to limit anything (an ordinary user's: see cgroups.Needed), none are
	// made: the device rules then have nothing to keep from a container that can make no
	// device node.
	needed, err := cgroups.Needed(b.Spec.Linux.Resources)
	if err != nil {
		p.Kill()
		return 0, err
	}
	if b.Spec.Linux.Resources != nil && needed {
		cg, err := cgroups.New(id)
		if err != nil {
			p.Kill()
			return 0, fmt.Errorf("find this process's cgroups: %w", err)
		}
		// Destroy kills what is left in the cgroups, then removes them.
		defer cg.Destroy()
		if err := p.JoinCgroups(cg, b.Spec.Linux.Resources); err != nil {
			p.Kill()
			return 0, err
		}
	}
	if err := p.Start(); err != nil {
		p.Kill()
		return 0, err
	}
	return p.WaitForeground(sigs, stdio, stdio.Stdin != nil), nil
}
