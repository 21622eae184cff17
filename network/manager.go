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
	Name    string            `json:"name"`
	ID      string            `json:"id"`
	Driver  string            `json:"driver"`
	Subnet  string            `json:"subnet"`
	Gateway string            `json:"gateway"`
	Bridge  string            `json:"bridge"`
	Created time.Time         `json:"created"`
	Labels  map[string]string `json:"labels,omitempty"`
}

// CreateOptions are what network create takes beside the name: the driver ("" or bridge), the
// subnet ("": a free one of Docker's pools) and gateway ("": the subnet's first address), and
// labels (compose finds its networks by theirs).
type CreateOptions struct {
	Driver, Subnet, Gateway string
	Labels                  map[string]string
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

// ErrSubnetTaken is returned for a subnet another network, or a route of the host, has.
var ErrSubnetTaken = errors.New("subnet taken")

// Create makes a bridge network: its bridge with the gateway address, its address pool and its
// NAT rules. subnet "" is the first of Docker's default pools (172.17-31.0.0/16, then
// 192.168.0-240.0/20) that overlaps no other network and no route of the host; gateway "" is
// the subnet's first address. On failure nothing of it is left.
func (m *Manager) Create(name string, o CreateOptions) (*Network, error) {
	if o.Subnet != "" {
		return m.create(name, o)
	}
	if o.Gateway != "" {
		return nil, fmt.Errorf("invalid network %s: a gateway needs its subnet (--subnet)", name)
	}
	for _, pool := range defaultPools() {
		o.Subnet = pool
		n, err := m.create(name, o)
		if !errors.Is(err, ErrSubnetTaken) {
			return n, err
		}
	}
	return nil, fmt.Errorf("create network %s: every subnet of the default pools is taken (choose one with --subnet)", name)
}

// defaultPools are Docker's default address pools, one subnet each.
func defaultPools() []string {
	var pools []string
	for second := 17; second <= 31; second++ {
		pools = append(pools, fmt.Sprintf("172.%d.0.0/16", second))
	}
	for third := 0; third <= 240; third += 16 {
		pools = append(pools, fmt.Sprintf("192.168.%d.0/20", third))
	}
	return pools
}

func (m *Manager) create(name string, o CreateOptions) (_ *Network, retErr error) {
	driver, subnet, gateway := o.Driver, o.Subnet, o.Gateway
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
			return nil, fmt.Errorf("subnet %s overlaps with network %s (%s): %w", prefix, n.Name, n.Subnet, ErrSubnetTaken)
		}
	}
	if route, err := hostRouteOverlapping(prefix); err != nil {
		return nil, err
	} else if route != "" {
		return nil, fmt.Errorf("subnet %s overlaps with the host's route %s: %w", prefix, route, ErrSubnetTaken)
	}

	id := randomHex(32)
	n := &Network{Name: name, ID: id, Driver: "bridge", Subnet: prefix.String(), Gateway: gw.String(),
		Bridge: "br-" + id[:12], Created: time.Now().UTC(), Labels: o.Labels}
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

// EnsureDefault returns the default network, creating it on first use on a free subnet of
// Docker's default pools (Create).
func (m *Manager) EnsureDefault() (*Network, error) {
	if n, err := m.Get(DefaultName); err == nil {
		return n, nil
	}
	n, err := m.Create(DefaultName, CreateOptions{Driver: "bridge"})
	if err != nil {
		if existing, gerr := m.Get(DefaultName); gerr == nil {
			return existing, nil // another mydocker made it meanwhile
		}
		return nil, fmt.Errorf("create the default network: %w", err)
	}
	return n, nil
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
	eps, err := m.networkEndpoints(name)
	if err != nil {
		return err
	}
	var users []string
	for _, ep := range eps {
		users = append(users, ep.ContainerID[:12])
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
	m.reloadResolver(true) // nothing of the network left: no resolver either, if it served only it
	return nil
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
