package network

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mydocker/mydocker/internal/fsutil"
)

// Endpoint is a container's attachment to one network.
type Endpoint struct {
	ContainerID string        `json:"container_id"`
	Network     string        `json:"network"`
	IP          string        `json:"ip"`
	PrefixLen   int           `json:"prefix_len"`
	Gateway     string        `json:"gateway"`
	MAC         string        `json:"mac"`
	HostVeth    string        `json:"host_veth"`
	IfName      string        `json:"if_name,omitempty"` // in the container: eth0, eth1...
	Ports       []PortMapping `json:"ports,omitempty"`
	// Names are what the container answers to on the network's resolver (its name, short id,
	// hostname, aliases); DNS the servers the resolver asks for its other queries (run --dns;
	// none: the host's).
	Names []string `json:"names,omitempty"`
	DNS   []string `json:"dns,omitempty"`
	// Held are the sockets that hold the published ports on the host (holdPort), for the
	// container's watcher to keep open while the ports are published; Connect's caller owns
	// them.
	Held []*os.File `json:"-"`
}

// Attachment is what a container asks of a network it joins.
type Attachment struct {
	Ports        []PortMapping // published on the host, to the container's address here
	Names        []string      // see Endpoint
	DNS          []string      // see Endpoint
	DefaultRoute bool          // the container's default route goes by this network's gateway
}

// ErrNotConnected is returned for a container that has no endpoint on a network.
var ErrNotConnected = errors.New("container is not connected to the network")

// Endpoints are under endpoints/<container id>/<network>.json; a container attached before a
// container could join several networks has endpoints/<container id>.json.
func (m *Manager) endpointPath(id, network string) string {
	return filepath.Join(m.dir, "endpoints", id, network+".json")
}

func (m *Manager) legacyEndpointPath(id string) string {
	return filepath.Join(m.dir, "endpoints", id+".json")
}

// hostVethName names the host's end of a container's veth on a network: the same name for
// the same pair, and no longer than a link name may be.
func hostVethName(id, network string) string {
	sum := sha256.Sum256([]byte(id + "/" + network))
	return "veth" + hex.EncodeToString(sum[:])[:7]
}

// Connect attaches the network namespace of process pid (a container's init, or a running
// container) to the named network as container id: an address, a veth, its published ports,
// and its names on the network's resolver. On failure it undoes everything it did.
func (m *Manager) Connect(name, id string, pid int, a Attachment) (_ *Endpoint, retErr error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	if err := checkID(id); err != nil {
		return nil, err
	}
	l, err := m.lock()
	if err != nil {
		return nil, err
	}
	defer l.Unlock()
	n, err := m.Get(name)
	if err != nil {
		return nil, err
	}
	if _, err := m.endpoint(id, name); err == nil {
		return nil, fmt.Errorf("container %s is already connected to network %s", id[:12], name)
	}
	if err := m.checkPortsFree(a.Ports); err != nil {
		return nil, err
	}
	held, ports, err := holdPorts(a.Ports)
	if err != nil {
		return nil, err
	}
	var undo []func()
	defer func() {
		if retErr != nil {
			closeAll(held)
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
		}
	}()
	if err := m.checkPortsFree(ports); err != nil { // -P's ports, now picked
		return nil, err
	}
	var pool Pool
	if err := fsutil.ReadJSON(m.poolPath(name), &pool); err != nil {
		return nil, fmt.Errorf("read the address pool of %s: %w", name, err)
	}
	ip, err := allocate(&pool)
	if err != nil {
		return nil, fmt.Errorf("network %s: %w", name, err)
	}
	ep := &Endpoint{ContainerID: id, Network: name, IP: ip.String(), PrefixLen: pool.Subnet.Bits(),
		Gateway: n.Gateway, HostVeth: hostVethName(id, name), Ports: ports, Names: a.Names, DNS: a.DNS, Held: held}
	if err := fsutil.WriteJSON(m.poolPath(name), &pool); err != nil {
		return nil, err
	}
	undo = append(undo, func() { release(&pool, ip); fsutil.WriteJSON(m.poolPath(name), &pool) })
	// Recorded before the links exist, so that a repair after a crash finds what to undo.
	if err := os.MkdirAll(filepath.Dir(m.endpointPath(id, name)), 0o700); err != nil {
		return nil, fmt.Errorf("record the endpoint: %w", err)
	}
	if err := fsutil.WriteJSON(m.endpointPath(id, name), ep); err != nil {
		return nil, err
	}
	undo = append(undo, func() { m.removeEndpointFile(id, name) })
	var gw netip.Addr
	if a.DefaultRoute {
		gw = netip.MustParseAddr(n.Gateway)
	}
	ep.IfName, ep.MAC, err = attachVeth(n.Bridge, ep.HostVeth, pid, ip, pool.Subnet.Bits(), gw)
	if err != nil {
		deleteLink(ep.HostVeth)
		return nil, err
	}
	undo = append(undo, func() { deleteLink(ep.HostVeth) })
	rules, err := endpointRules(id, ep.IP, ports)
	if err != nil {
		return nil, err
	}
	if err := addRules(rules); err != nil {
		deleteRules(rules)
		return nil, err
	}
	undo = append(undo, func() { deleteRules(rules) })
	if err := fsutil.WriteJSON(m.endpointPath(id, name), ep); err != nil {
		return nil, err
	}
	if err := m.namesChanged(n); err != nil {
		return nil, err
	}
	return ep, nil
}

// endpointRules are the rules that publish a container's ports.
func endpointRules(id, ip string, ports []PortMapping) ([]Rule, error) {
	var rules []Rule
	for _, p := range ports {
		r, err := portRules(id, ip, p)
		if err != nil {
			return rules, fmt.Errorf("the rules of port %s: %w", p, err)
		}
		rules = append(rules, r...)
	}
	return rules, nil
}

// checkPortsFree refuses a host port another container already publishes, or one given twice
// (on the same address, or one of them on every address).
func (m *Manager) checkPortsFree(ports []PortMapping) error {
	if len(ports) == 0 {
		return nil // without reading every container's endpoints, as a start among many would
	}
	eps, err := m.endpoints()
	if err != nil {
		return err
	}
	for i, p := range ports {
		for _, ep := range eps {
			for _, q := range ep.Ports {
				if p.conflicts(q) {
					return fmt.Errorf("port %s is already published by container %s", q, ep.ContainerID[:12])
				}
			}
		}
		for _, q := range ports[:i] {
			if p.conflicts(q) {
				return fmt.Errorf("port %s is published twice", q)
			}
		}
	}
	return nil
}

// Disconnect gives back what Connect took on one network: the address, the host end of the
// veth (and with it the container's end), the port rules and the container's names there. It
// is idempotent, for rm and for the repair after a killed mydocker.
func (m *Manager) Disconnect(id, name string) error {
	if err := checkID(id); err != nil {
		return err
	}
	if err := checkName(name); err != nil {
		return err
	}
	l, err := m.lock()
	if err != nil {
		return err
	}
	defer l.Unlock()
	ep, err := m.endpoint(id, name)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return m.disconnect(ep, false)
}

// DisconnectAll disconnects the container from every network it is on, once its processes
// are gone (processesGone; false: some may be left). Their network namespace then goes with
// them, and the kernel removes its veths as it cleans the namespace up, on its own time: the
// host ends are only taken off their bridges, which then send them nothing (not what is now
// another container's address) and count them no more. A deletion would wait until every RCU
// callback pending on the host has run (netdev_run_todo's rcu_barrier): 10 to 20 ms here, the
// most of a bridge container's removal.
func (m *Manager) DisconnectAll(id string, processesGone bool) error {
	if err := checkID(id); err != nil {
		return err
	}
	l, err := m.lock()
	if err != nil {
		return err
	}
	defer l.Unlock()
	eps, err := m.containerEndpoints(id)
	if err != nil {
		return err
	}
	var errs []error
	for _, ep := range eps {
		errs = append(errs, m.disconnect(ep, processesGone))
	}
	return errors.Join(errs...)
}

// disconnect gives back what ep took; the veth is deleted unless the container's processes
// are gone (DisconnectAll). Under the lock. Everything is tried; what failed is reported, and
// the endpoint stays on record so that a later Disconnect can try again.
func (m *Manager) disconnect(ep *Endpoint, processesGone bool) error {
	rules, err := endpointRules(ep.ContainerID, ep.IP, ep.Ports)
	unlink := deleteLink
	if processesGone {
		unlink = detachLink
	}
	errs := []error{err, deleteRules(rules), unlink(ep.HostVeth)}
	var pool Pool
	if err := fsutil.ReadJSON(m.poolPath(ep.Network), &pool); err == nil {
		if addr, err := netip.ParseAddr(ep.IP); err == nil {
			errs = append(errs, release(&pool, addr))
		}
		errs = append(errs, fsutil.WriteJSON(m.poolPath(ep.Network), &pool))
	} else if !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("disconnect container %s from %s: %w", ep.ContainerID[:12], ep.Network, err)
	}
	if err := m.removeEndpointFile(ep.ContainerID, ep.Network); err != nil {
		return err
	}
	if n, err := m.Get(ep.Network); err == nil {
		return m.namesChanged(n)
	}
	return nil
}

// removeEndpointFile removes the record of container id's endpoint on network (or its legacy
// one), and the container's endpoint directory once empty.
func (m *Manager) removeEndpointFile(id, network string) error {
	err := os.Remove(m.endpointPath(id, network))
	if errors.Is(err, os.ErrNotExist) {
		if ep, lerr := m.readEndpoint(m.legacyEndpointPath(id)); lerr == nil && ep.Network == network {
			err = os.Remove(m.legacyEndpointPath(id))
		}
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove the endpoint of %s on %s: %w", id[:12], network, err)
	}
	os.Remove(filepath.Dir(m.endpointPath(id, network))) // fails while another is left
	return nil
}

// Endpoints returns the container's endpoints, by network name.
func (m *Manager) Endpoints(id string) ([]*Endpoint, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	return m.containerEndpoints(id)
}

func (m *Manager) endpoint(id, network string) (*Endpoint, error) {
	ep, err := m.readEndpoint(m.endpointPath(id, network))
	if errors.Is(err, os.ErrNotExist) {
		if legacy, lerr := m.readEndpoint(m.legacyEndpointPath(id)); lerr == nil && legacy.Network == network {
			return legacy, nil
		}
	}
	return ep, err
}

func (m *Manager) readEndpoint(path string) (*Endpoint, error) {
	var ep Endpoint
	if err := fsutil.ReadJSON(path, &ep); err != nil {
		return nil, err
	}
	if ep.IfName == "" {
		ep.IfName = "eth0" // recorded when a container had one network
	}
	return &ep, nil
}

// containerEndpoints are the endpoints of container id, by network name.
func (m *Manager) containerEndpoints(id string) ([]*Endpoint, error) {
	var out []*Endpoint
	if ep, err := m.readEndpoint(m.legacyEndpointPath(id)); err == nil {
		out = append(out, ep)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	entries, err := os.ReadDir(filepath.Join(m.dir, "endpoints", id))
	if errors.Is(err, os.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the endpoints of %s: %w", id[:12], err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".json") {
			ep, err := m.readEndpoint(filepath.Join(m.dir, "endpoints", id, e.Name()))
			if err != nil {
				return nil, err
			}
			out = append(out, ep)
		}
	}
	slices.SortFunc(out, func(a, b *Endpoint) int { return strings.Compare(a.Network, b.Network) })
	return out, nil
}

// NetworkEndpoints are the endpoints on network name.
func (m *Manager) NetworkEndpoints(name string) ([]*Endpoint, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	return m.networkEndpoints(name)
}

// EndpointID names an endpoint as Docker's inspect does: 64 hex digits, the same for the same
// container on the same network.
func EndpointID(ep *Endpoint) string {
	sum := sha256.Sum256([]byte("endpoint:" + ep.ContainerID + "/" + ep.Network))
	return hex.EncodeToString(sum[:])
}

// endpoints are every container's endpoints on every network.
func (m *Manager) endpoints() ([]*Endpoint, error) {
	entries, err := os.ReadDir(filepath.Join(m.dir, "endpoints"))
	if err != nil {
		return nil, err
	}
	var out []*Endpoint
	seen := map[string]bool{}
	for _, e := range entries {
		id := strings.TrimSuffix(e.Name(), ".json")
		if checkID(id) != nil || seen[id] {
			continue
		}
		seen[id] = true
		eps, err := m.containerEndpoints(id)
		if err != nil {
			return nil, err
		}
		out = append(out, eps...)
	}
	return out, nil
}

// networkEndpoints are the endpoints on network name.
func (m *Manager) networkEndpoints(name string) ([]*Endpoint, error) {
	all, err := m.endpoints()
	if err != nil {
		return nil, err
	}
	var out []*Endpoint
	for _, ep := range all {
		if ep.Network == name {
			out = append(out, ep)
		}
	}
	return out, nil
}
