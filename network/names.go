package network

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/mydocker/mydocker/internal/fsutil"
)

// Containers find each other by name on a user network, as on Docker's: a resolver answers
// them. Without a daemon to hold it, the engine keeps, for each user network, a file of the
// names on it (network/dns/NAME.names), rewritten whenever a container joins or leaves, and
// one resolver process for the whole root (package resolver, this binary re-executed as
// mydocker-dns, as podman's aardvark-dns serves netavark's networks) listening on each
// network's gateway, port 53. The engine starts it with the first container on a user network,
// has it reload the files at each change; with no container left on any network it goes
// (a few seconds later, or at once when a network is removed). The default bridge
// network has no names, as Docker's: there, --link writes /etc/hosts.
//
// A names file, one line each:
//
//	gateway 10.213.5.1                        the resolver listens there
//	upstream 10.0.0.2                         the host's resolvers, for every other name
//	endpoint ID IP DNS NAME...                a container on the network: its address, the
//	                                          servers for its other queries (-: the host's),
//	                                          and the names it answers to

// Names is a network's names file.
type Names struct {
	Network   string
	Gateway   string
	Upstreams []string
	Endpoints []NamedEndpoint
}

// NamedEndpoint is a container on a network, as its resolver knows it.
type NamedEndpoint struct {
	ContainerID string
	IP          string
	DNS         []string
	Names       []string
}

func (m *Manager) dnsDir() string { return filepath.Join(m.dir, "dns") }
func (m *Manager) namesPath(network string) string {
	return filepath.Join(m.dnsDir(), network+".names")
}

// DNSDir is where the names files of the root's networks are, for its resolver.
func (m *Manager) DNSDir() string { return m.dnsDir() }

// Resolver starts and reloads the root's resolver, set by the engine (nil: no resolver, the
// names files are still kept). Reload is called after every change of a names file and returns
// once the resolver answers from the files as they are; it starts the resolver when none runs.
// The resolver goes a while after no network has a container, at once when a network is
// removed (removed) and none has.
var Resolver interface {
	Reload(dnsDir string, removed bool) error
	Running(dnsDir string) bool
}

// NamedNetworks are the user networks that have containers, and so names to answer; running
// says whether the root's resolver answers them (it is started again by the next container
// that joins one of them).
func (m *Manager) NamedNetworks() (networks []string, running bool, err error) {
	files, err := filepath.Glob(filepath.Join(m.dnsDir(), "*.names"))
	if err != nil {
		return nil, false, err
	}
	for _, f := range files {
		networks = append(networks, strings.TrimSuffix(filepath.Base(f), ".names"))
	}
	return networks, Resolver != nil && Resolver.Running(m.dnsDir()), nil
}

// namesChanged rewrites the names of network n for the resolver, which reloads them. The
// default bridge network has none. Under the manager's lock.
func (m *Manager) namesChanged(n *Network) error {
	if n.Name == DefaultName {
		return nil
	}
	eps, err := m.networkEndpoints(n.Name)
	if err != nil {
		return err
	}
	if len(eps) == 0 {
		if err := os.Remove(m.namesPath(n.Name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove the names of %s: %w", n.Name, err)
		}
	} else {
		names := Names{Network: n.Name, Gateway: n.Gateway, Upstreams: hostResolvers()}
		for _, ep := range eps {
			names.Endpoints = append(names.Endpoints, NamedEndpoint{ContainerID: ep.ContainerID, IP: ep.IP, DNS: ep.DNS, Names: ep.Names})
		}
		if err := os.MkdirAll(m.dnsDir(), 0o700); err != nil {
			return fmt.Errorf("write the names of %s: %w", n.Name, err)
		}
		// Not synced: rewritten whenever a container starts, and a host crash stops them all.
		if err := fsutil.UpdateFile(m.namesPath(n.Name), names.Marshal(), 0o600); err != nil {
			return err
		}
	}
	m.reloadResolver(false)
	return nil
}

// reloadResolver has the resolver answer from the names files as they are now (removed: after
// a network's removal, when it goes at once if it has nothing left to answer). What goes
// wrong is logged, not returned: a container whose names cannot be answered (a resolver that
// cannot listen on a gateway another program holds) still starts, as under Docker, and
// mydocker doctor says what is down.
func (m *Manager) reloadResolver(removed bool) {
	if Resolver == nil {
		return
	}
	if err := Resolver.Reload(m.dnsDir(), removed); err != nil {
		logrus.WithError(err).Warn("the names on user networks are not answered")
	}
}

// SetNames changes the names container id answers to on each of its networks (a rename).
func (m *Manager) SetNames(id string, names func(network string) []string) error {
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
	for _, ep := range eps {
		ep.Names = names(ep.Network)
		path := m.endpointPath(id, ep.Network)
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			path = m.legacyEndpointPath(id)
		}
		if err := fsutil.WriteJSON(path, ep); err != nil {
			return err
		}
		if n, err := m.Get(ep.Network); err == nil {
			if err := m.namesChanged(n); err != nil {
				return err
			}
		}
	}
	return nil
}

// hostResolvers are the nameservers of the host's /etc/resolv.conf, loopback ones included:
// the resolver runs on the host, where they answer.
func hostResolvers() []string {
	data, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		return nil
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == "nameserver" {
			if _, err := netip.ParseAddr(f[1]); err == nil {
				out = append(out, f[1])
			}
		}
	}
	return out
}

// Marshal writes the names file.
func (n *Names) Marshal() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# the names on network %s, for its resolver: written by mydocker as containers come and go\n", n.Network)
	fmt.Fprintf(&b, "gateway %s\n", n.Gateway)
	for _, u := range n.Upstreams {
		fmt.Fprintf(&b, "upstream %s\n", u)
	}
	for _, ep := range n.Endpoints {
		dns := "-"
		if len(ep.DNS) > 0 {
			dns = strings.Join(ep.DNS, ",")
		}
		fmt.Fprintf(&b, "endpoint %s %s %s %s\n", ep.ContainerID, ep.IP, dns, strings.Join(ep.Names, " "))
	}
	return b.Bytes()
}

// ParseNames reads the names file of network.
func ParseNames(network string, data []byte) (*Names, error) {
	n := &Names{Network: network}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		bad := func() error { return fmt.Errorf("the names of %s, line %d: %q", network, line, sc.Text()) }
		switch {
		case f[0] == "gateway" && len(f) == 2:
			n.Gateway = f[1]
		case f[0] == "upstream" && len(f) == 2:
			n.Upstreams = append(n.Upstreams, f[1])
		case f[0] == "endpoint" && len(f) >= 4:
			ep := NamedEndpoint{ContainerID: f[1], IP: f[2], Names: f[4:]}
			if f[3] != "-" {
				ep.DNS = strings.Split(f[3], ",")
			}
			n.Endpoints = append(n.Endpoints, ep)
		default:
			return nil, bad()
		}
	}
	return n, sc.Err()
}

// LoadNames reads every names file of dnsDir, by network.
func LoadNames(dnsDir string) (map[string]*Names, error) {
	files, err := filepath.Glob(filepath.Join(dnsDir, "*.names"))
	if err != nil {
		return nil, err
	}
	all := map[string]*Names{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if errors.Is(err, os.ErrNotExist) {
			continue // its network's last container left meanwhile
		}
		if err != nil {
			return nil, err
		}
		name := strings.TrimSuffix(filepath.Base(f), ".names")
		if all[name], err = ParseNames(name, data); err != nil {
			return nil, err
		}
	}
	return all, nil
}

// ErrNoSuchName is returned by Lookup for a name no container the asker sees answers to.
var ErrNoSuchName = errors.New("no container has this name")

// Lookup answers a query for name (as DNS writes it: any case, a trailing dot) that came to the
// resolver of network `on` from asker (an address on that network): the address of the
// container that answers to name on `on`, or else on another network the asker is on — never
// on a network the asker is not on. A name no such container has is an error wrapping
// ErrNoSuchName (the resolver then asks upstream).
func Lookup(all map[string]*Names, on string, asker netip.Addr, name string) (netip.Addr, error) {
	name = strings.TrimSuffix(name, ".")
	for _, network := range askersNetworks(all, on, asker) {
		for _, ep := range all[network].Endpoints {
			if slices.ContainsFunc(ep.Names, func(n string) bool { return strings.EqualFold(n, name) }) {
				return netip.ParseAddr(ep.IP)
			}
		}
	}
	return netip.Addr{}, fmt.Errorf("%s on %s: %w", name, on, ErrNoSuchName)
}

// askersNetworks are the networks whose names asker sees: `on` first, then the others it has
// an endpoint on, by name.
func askersNetworks(all map[string]*Names, on string, asker netip.Addr) []string {
	self, ok := all[on]
	if !ok {
		return nil
	}
	networks := []string{on}
	id := ""
	for _, ep := range self.Endpoints {
		if ep.IP == asker.String() {
			id = ep.ContainerID
		}
	}
	if id == "" {
		return networks
	}
	var others []string
	for name, n := range all {
		if name == on {
			continue
		}
		if slices.ContainsFunc(n.Endpoints, func(ep NamedEndpoint) bool { return ep.ContainerID == id }) {
			others = append(others, name)
		}
	}
	slices.Sort(others)
	return append(networks, others...)
}

// Upstreams are where the resolver of network `on` sends asker's other queries: its own
// servers (run --dns), else the host's.
func Upstreams(all map[string]*Names, on string, asker netip.Addr) []string {
	n, ok := all[on]
	if !ok {
		return nil
	}
	for _, ep := range n.Endpoints {
		if ep.IP == asker.String() && len(ep.DNS) > 0 {
			return ep.DNS
		}
	}
	return n.Upstreams
}
