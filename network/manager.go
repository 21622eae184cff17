package network

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/mydocker/mydocker/internal/fsutil"
	"github.com/mydocker/mydocker/internal/names"
)

var (
	// ErrNotFound is returned for an unknown network.
	ErrNotFound = errors.New("network not found")
	// DefaultName is the network -p uses without --net, made on first use (Docker's docker0).
	DefaultName = "bridge"
)

// Network is a bridge network.
type Network struct {
	Name    string    `json:"name"`
	ID      string    `json:"id"`
	Driver  string    `json:"driver"`
	Subnet  string    `json:"subnet"`
	Gateway string    `json:"gateway"`
	Bridge  string    `json:"bridge"`
	Created time.Time `json:"created"`
}

// Endpoint is a container's attachment to a network.
type Endpoint struct {
	ContainerID string        `json:"container_id"`
	Network     string        `json:"network"`
	IP          string        `json:"ip"`
	PrefixLen   int           `json:"prefix_len"`
	Gateway     string        `json:"gateway"`
	MAC         string        `json:"mac"`
	HostVeth    string        `json:"host_veth"`
	Ports       []PortMapping `json:"ports,omitempty"`
	// Held are the sockets that hold the published ports on the host (holdPort), for the
	// container's watcher to keep open while the ports are published; Connect's caller owns
	// them.
	Held []*os.File `json:"-"`
}

// Manager keeps the networks and endpoints under <root>/network.
type Manager struct {
	dir string
}

// Open opens (and creates) the network state of the mydocker root.
func Open(root string) (*Manager, error) {
	m := &Manager{dir: filepath.Join(root, "network")}
	for _, d := range []string{"networks", "ipam", "endpoints"} {
		if err := os.MkdirAll(filepath.Join(m.dir, d), 0o700); err != nil {
			return nil, fmt.Errorf("open network state: %w", err)
		}
	}
	return m, nil
}

// hostLockPath is a lock every engine on the host shares, whatever its root (in /run, a
// tmpfs: nothing of it outlives a boot).
const hostLockPath = "/run/mydocker-network.lock"

func (m *Manager) lock() (*fsutil.Lock, error) { return fsutil.LockFile(filepath.Join(m.dir, "lock")) }
func (m *Manager) netPath(name string) string  { return filepath.Join(m.dir, "networks", name+".json") }
func (m *Manager) poolPath(name string) string { return filepath.Join(m.dir, "ipam", name+".json") }
func (m *Manager) endpointPath(id string) string {
	return filepath.Join(m.dir, "endpoints", id+".json")
}

// checkName refuses a network name that is not one (Docker's rule, internal/names) before it
// becomes a path: every public method that takes a name calls it.
func checkName(name string) error {
	if err := names.Validate("network", name); err != nil {
		return fmt.Errorf("%w: %w", err, ErrNotFound)
	}
	return nil
}

// checkID refuses a container id that is not one before it becomes a path.
func checkID(id string) error {
	if !names.IsID(id) {
		return fmt.Errorf("invalid container id %q", id)
	}
	return nil
}

// Create makes a bridge network: its bridge with the gateway address, its address pool and its
// NAT rules. gateway "" is the subnet's first address. On failure nothing of it is left.
func (m *Manager) Create(name, driver, subnet, gateway string) (_ *Network, retErr error) {
	if err := names.Validate("network", name); err != nil {
		return nil, err
	}
	if name == "none" || name == "host" {
		return nil, fmt.Errorf("invalid network name %q: none and host are taken", name)
	}
	if driver != "" && driver != "bridge" {
		return nil, fmt.Errorf("network driver %q is not supported: use bridge", driver)
	}
	prefix, err := netip.ParsePrefix(subnet)
	if err != nil {
		return nil, fmt.Errorf("invalid subnet %q: want an IPv4 CIDR such as 172.30.0.0/24", subnet)
	}
	prefix = prefix.Masked()
	gw := prefix.Addr().Next()
	if gateway != "" {
		if gw, err = netip.ParseAddr(gateway); err != nil {
			return nil, fmt.Errorf("invalid gateway %q", gateway)
		}
	}
	pool, err := NewPool(prefix, gw)
	if err != nil {
		return nil, err
	}
	l, err := m.lock()
	if err != nil {
		return nil, err
	}
	defer l.Unlock()
	// The subnet must overlap no route of the host, and the routes change under other roots'
	// engines too: they check and make their bridges one at a time, host-wide.
	hl, err := fsutil.LockFile(hostLockPath)
	if err != nil {
		return nil, err
	}
	defer hl.Unlock()
	existing, err := m.list()
	if err != nil {
		return nil, err
	}
	for _, n := range existing {
		if n.Name == name {
			return nil, fmt.Errorf("network with name %s already exists", name)
		}
		if other, err := netip.ParsePrefix(n.Subnet); err == nil && other.Overlaps(prefix) {
			return nil, fmt.Errorf("subnet %s overlaps with network %s (%s)", prefix, n.Name, n.Subnet)
		}
	}
	if route, err := hostRouteOverlapping(prefix); err != nil {
		return nil, err
	} else if route != "" {
		return nil, fmt.Errorf("subnet %s overlaps with the host's route %s", prefix, route)
	}

	id := randomHex(32)
	n := &Network{Name: name, ID: id, Driver: "bridge", Subnet: prefix.String(), Gateway: gw.String(),
		Bridge: "br-" + id[:12], Created: time.Now().UTC()}
	var undo []func()
	defer func() {
		if retErr != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
		}
	}()
	if err := createBridge(n.Bridge, gw, prefix.Bits()); err != nil {
		return nil, err
	}
	undo = append(undo, func() { deleteLink(n.Bridge) })
	if err := enableForwarding(); err != nil {
		return nil, err
	}
	rules := networkRules(n.Name, n.Bridge, n.Subnet)
	if err := addRules(rules); err != nil {
		return nil, err
	}
	undo = append(undo, func() { deleteRules(rules) })
	if err := fsutil.WriteJSON(m.poolPath(name), pool); err != nil {
		return nil, err
	}
	undo = append(undo, func() { os.Remove(m.poolPath(name)) })
	if err := fsutil.WriteJSON(m.netPath(name), n); err != nil {
		return nil, err
	}
	return n, nil
}

// EnsureDefault returns the default network, creating it on first use on the first subnet of
// Docker's default pools (172.17-31.0.0/16, then 192.168.0-240.0/20) that overlaps no other
// network and no route of the host.
func (m *Manager) EnsureDefault() (*Network, error) {
	if n, err := m.Get(DefaultName); err == nil {
		return n, nil
	}
	var candidates []string
	for second := 17; second <= 31; second++ {
		candidates = append(candidates, fmt.Sprintf("172.%d.0.0/16", second))
	}
	for third := 0; third <= 240; third += 16 {
		candidates = append(candidates, fmt.Sprintf("192.168.%d.0/20", third))
	}
	var lastErr error
	for _, subnet := range candidates {
		n, err := m.Create(DefaultName, "bridge", subnet, "")
		if err == nil {
			return n, nil
		}
		if existing, gerr := m.Get(DefaultName); gerr == nil {
			return existing, nil // another mydocker made it meanwhile
		}
		lastErr = err
		if !strings.Contains(err.Error(), "overlaps") {
			break
		}
	}
	return nil, fmt.Errorf("create the default network: %w", lastErr)
}

// Get returns the named network.
func (m *Manager) Get(name string) (*Network, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	var n Network
	if err := fsutil.ReadJSON(m.netPath(name), &n); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("network %s not found; create it with mydocker network create: %w", name, ErrNotFound)
		}
		return nil, err
	}
	return &n, nil
}

// List returns every network, by name.
func (m *Manager) List() ([]*Network, error) { return m.list() }

func (m *Manager) list() ([]*Network, error) {
	entries, err := os.ReadDir(filepath.Join(m.dir, "networks"))
	if err != nil {
		return nil, err
	}
	var out []*Network
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".json"); ok {
			n, err := m.Get(name)
			if err != nil {
				return nil, err
			}
			out = append(out, n)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Remove deletes a network with its bridge and rules; it refuses while containers use it.
func (m *Manager) Remove(name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	l, err := m.lock()
	if err != nil {
		return err
	}
	defer l.Unlock()
	n, err := m.Get(name)
	if err != nil {
		return err
	}
	eps, err := m.endpoints()
	if err != nil {
		return err
	}
	var users []string
	for _, ep := range eps {
		if ep.Network == name {
			users = append(users, ep.ContainerID[:12])
		}
	}
	if len(users) > 0 {
		return fmt.Errorf("network %s has active endpoints (containers %s): remove them first", name, strings.Join(users, ", "))
	}
	if err := errors.Join(deleteRules(networkRules(n.Name, n.Bridge, n.Subnet)), deleteLink(n.Bridge)); err != nil {
		return fmt.Errorf("remove network %s: %w", name, err)
	}
	if err := os.Remove(m.poolPath(name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove network %s: %w", name, err)
	}
	if err := os.Remove(m.netPath(name)); err != nil {
		return fmt.Errorf("remove network %s: %w", name, err)
	}
	return nil
}

// Connect attaches the network namespace of process pid (a container's init, waiting for its
// config) to the named network as container id, and publishes ports. On failure it undoes
// everything it did.
func (m *Manager) Connect(name, id string, pid int, ports []PortMapping) (_ *Endpoint, retErr error) {
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
	if err := m.checkPortsFree(ports); err != nil {
		return nil, err
	}
	held, ports, err := holdPorts(ports)
	if err != nil {
		return nil, err
	}
	defer func() {
		if retErr != nil {
			closeAll(held)
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
		Gateway: n.Gateway, HostVeth: "veth" + id[:7], Ports: ports, Held: held}
	var undo []func()
	defer func() {
		if retErr != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
		}
	}()
	if err := fsutil.WriteJSON(m.poolPath(name), &pool); err != nil {
		return nil, err
	}
	undo = append(undo, func() { release(&pool, ip); fsutil.WriteJSON(m.poolPath(name), &pool) })
	// Recorded before the links exist, so that a repair after a crash finds what to undo.
	if err := fsutil.WriteJSON(m.endpointPath(id), ep); err != nil {
		return nil, err
	}
	undo = append(undo, func() { os.Remove(m.endpointPath(id)) })
	mac, err := attachVeth(n.Bridge, ep.HostVeth, pid, ip, pool.Subnet.Bits(), netip.MustParseAddr(n.Gateway))
	if err != nil {
		deleteLink(ep.HostVeth)
		return nil, err
	}
	undo = append(undo, func() { deleteLink(ep.HostVeth) })
	ep.MAC = mac
	rules, err := endpointRules(id, ep.IP, ports)
	if err != nil {
		return nil, err
	}
	if err := addRules(rules); err != nil {
		deleteRules(rules)
		return nil, err
	}
	if err := fsutil.WriteJSON(m.endpointPath(id), ep); err != nil {
		deleteRules(rules)
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

// Disconnect gives back what Connect took: the address, the host end of the veth (if the
// namespace is not gone with it already) and the port rules. It is idempotent, for rm and for
// the repair after a killed mydocker.
func (m *Manager) Disconnect(id string) error {
	if err := checkID(id); err != nil {
		return err
	}
	l, err := m.lock()
	if err != nil {
		return err
	}
	defer l.Unlock()
	ep, err := m.Endpoint(id)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	// Everything is tried; what failed is reported, and the endpoint stays on record so that
	// a later Disconnect can try again.
	rules, err := endpointRules(id, ep.IP, ep.Ports)
	errs := []error{err, deleteRules(rules), deleteLink(ep.HostVeth)}
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
		return fmt.Errorf("disconnect container %s: %w", id[:12], err)
	}
	return os.Remove(m.endpointPath(id))
}

// Endpoint returns a container's endpoint; an error wrapping os.ErrNotExist when it has none.
func (m *Manager) Endpoint(id string) (*Endpoint, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	var ep Endpoint
	if err := fsutil.ReadJSON(m.endpointPath(id), &ep); err != nil {
		return nil, err
	}
	return &ep, nil
}

func (m *Manager) endpoints() ([]*Endpoint, error) {
	entries, err := os.ReadDir(filepath.Join(m.dir, "endpoints"))
	if err != nil {
		return nil, err
	}
	var out []*Endpoint
	for _, e := range entries {
		if id, ok := strings.CutSuffix(e.Name(), ".json"); ok {
			if ep, err := m.Endpoint(id); err == nil {
				out = append(out, ep)
			}
		}
	}
	return out, nil
}

const ipForward = "/proc/sys/net/ipv4/ip_forward"

// enableForwarding turns IP forwarding on, for the first network. It is never turned off
// again, as Docker and netavark leave it: it is a fact of the whole host, and another root's
// engine (or anything else on the host) may have containers that need it.
func enableForwarding() error {
	if on, err := os.ReadFile(ipForward); err == nil && strings.TrimSpace(string(on)) == "1" {
		return nil
	}
	if err := os.WriteFile(ipForward, []byte("1"), 0o644); err != nil {
		return fmt.Errorf("enable IP forwarding: %w", err)
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
