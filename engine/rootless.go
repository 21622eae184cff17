package engine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mydocker/mydocker/cgroups"
	"github.com/mydocker/mydocker/network"
	"github.com/mydocker/mydocker/rootless"
)

// A rootless engine (package rootless: mydocker run by an ordinary user, as root of the user's
// user namespace) runs its containers as root does, in that user namespace, but for what only
// the host's root may do: no bridge, veth or NAT in the host's network — its containers get
// user-mode networking (network.ConnectUserMode), which bridge, the default, means there — and
// cgroups only where the host delegates a cgroup v2 tree to the user (cgroups.Needed): a
// container that asks for a limit without one is refused, never run without its limit.

// errNoCgroups is why a container without cgroups of its own cannot be paused or measured.
var errNoCgroups = errors.New("it has no cgroups of its own (a rootless engine gets some where the host delegates a cgroup v2 tree to the user: see mydocker doctor)")

// rootlessNetworks turns the networks a rootless engine's container asks for into what it can
// have: bridge is user-mode networking; none and host are as usual; a user network needs root.
func rootlessNetworks(names []string) ([]string, error) {
	out := make([]string, len(names))
	for i, n := range names {
		switch n {
		case network.DefaultName, network.UserModeName:
			out[i] = network.UserModeName
		case "none", "host":
			out[i] = n
		default:
			return nil, fmt.Errorf("network %s: a rootless engine has no user-defined networks (a bridge in the host's network is root's); its containers get user-mode networking (%s), or --net none or --net host", n, network.UserModeName)
		}
	}
	return out, nil
}

// containerCgroups is the manager of the cgroups a new container id limited by opts gets, nil
// when it gets none (a rootless engine without a delegated tree, and no limit asked for).
func containerCgroups(id string, opts *Options) (cgroups.Manager, error) {
	needed, err := cgroups.Needed(opts.Resources)
	if err != nil || !needed {
		return nil, err
	}
	cg, err := cgroups.New(id)
	if err != nil {
		return nil, fmt.Errorf("find this process's cgroups: %w", err)
	}
	return cg, nil
}

// connectUserMode gives a rootless engine's running container (its init is pid) its user-mode
// network, its ports published there; the watcher keeps slirp4netns going (heldPorts).
func (e *Engine) connectUserMode(st *State, pid int) error {
	bindings := st.PortBindings
	if bindings == nil {
		bindings = st.Ports
	}
	ep, err := network.ConnectUserMode(st.ID, pid, bindings, filepath.Join(rootless.RuntimeDir(), "slirp"))
	if err != nil {
		return err
	}
	e.ports.keep(st.ID, ep.Held)
	st.IP, st.Ports = ep.IP, ep.Ports
	return nil
}

// holdUserNamespace keeps the user's namespace from going while the container runs, for a
// rootless engine (its watcher holds the share, see rootless.Hold).
func (e *Engine) holdUserNamespace(st *State) error {
	if !rootless.Active() {
		return nil
	}
	hold, err := rootless.Hold()
	if err != nil {
		return err
	}
	e.ports.keep(st.ID, []*os.File{hold})
	return nil
}
