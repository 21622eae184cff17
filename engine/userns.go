package engine

import (
	"errors"
	"fmt"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"

	"github.com/mydocker/mydocker/runconfig"
	"github.com/mydocker/mydocker/userns"
	"github.com/mydocker/mydocker/workspace"
)

// RemapUsers gives every container this engine makes from now on a user namespace of its own
// with the mappings --userns-remap VALUE names (userns.ForRemap: "default", or USER[:GROUP]):
// its root is an unprivileged uid on the host. A container opts out with run --userns=host.
// The image's layers are shared with the containers of any other mapping and of none: the
// runtime shows them through idmapped mounts (container.Bundle.IDMapRootfs).
func (e *Engine) RemapUsers(value string) error {
	ids, err := userns.ForRemap(value)
	if err != nil {
		return err
	}
	if _, _, ok := ids.Root(); !ok {
		return fmt.Errorf("--userns-remap %s maps no root", value)
	}
	e.remap = ids
	return nil
}

// chooseUserNS decides the user namespace of a container made with opts (opts.UserNS):
// the remapped one, unless the engine does not remap or the container opts out
// (--userns=host). Docker's checks come with it: a privileged container, or one on the host's
// network, cannot have one (the host's devices and network are root's).
func (e *Engine) chooseUserNS(opts *Options) error {
	switch opts.UsernsMode {
	case "", "host":
	default:
		return fmt.Errorf("invalid --userns %q: the only mode is host (the engine's --userns-remap chooses the others)", opts.UsernsMode)
	}
	opts.UserNS = nil
	if e.remap == nil || opts.UsernsMode == "host" {
		return nil
	}
	if opts.Privileged {
		return errors.New("privileged mode is incompatible with user namespaces: run the container in the host's (--userns=host) to run it privileged")
	}
	if opts.HostNetwork {
		return errors.New("cannot share the host's network namespace when user namespaces are enabled: run the container in the host's (--userns=host)")
	}
	opts.UserNS = &runconfig.UserNS{UIDMappings: e.remap.UIDs, GIDMappings: e.remap.GIDs}
	return nil
}

// remapDriver is the storage driver of a container made with opts. A remapped container's
// overlay is made of idmapped layers given to the kernel as O_PATH descriptors, which Linux
// takes from 6.15 on (6.13 took descriptors, not O_PATH ones): before, the container gets the
// vfs driver's copy (its own, idmapped as a whole, from 5.12), unless overlay was asked for by
// name.
func remapDriver(opts *Options) (workspace.Driver, error) {
	driver, err := workspace.NewDriver(opts.Driver)
	if err != nil || opts.UserNS == nil || driver.Name() == "vfs" || workspace.KernelAtLeast(6, 15) {
		return driver, err
	}
	if opts.Driver != "" {
		return nil, fmt.Errorf("a remapped container's %s root filesystem needs Linux 6.15 (layers given to overlayfs as O_PATH descriptors): use --storage-driver vfs, or --userns=host", driver.Name())
	}
	logrus.Infof("a remapped container gets the vfs driver's copy: overlays of idmapped layers need Linux 6.15")
	return workspace.NewDriver("vfs")
}

// giveToRoot makes the files at paths the container's root's on the host, when it has a user
// namespace of its own (spec): the /etc files and new volumes it writes to as root.
func giveToRoot(spec *specs.Spec, paths ...string) error {
	ids := userns.IDs{UIDs: spec.Linux.UIDMappings, GIDs: spec.Linux.GIDMappings}
	uid, gid, ok := ids.Root()
	if !ok {
		return nil
	}
	for _, p := range paths {
		if err := os.Lchown(p, int(uid), int(gid)); err != nil {
			return fmt.Errorf("give %s to the container's root: %w", p, err)
		}
	}
	return nil
}

// hasUserNS reports whether a container's spec gives it a user namespace of its own.
func hasUserNS(spec *specs.Spec) bool {
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type == specs.UserNamespace && ns.Path == "" {
			return true
		}
	}
	return false
}
