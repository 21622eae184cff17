package engine

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/moby/moby/api/types/events"
	mobynet "github.com/moby/moby/api/types/network"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/network"
	"github.com/mydocker/mydocker/rootless"
)

// NetworkAttachment is one bridge network a container joins (the default bridge or a user
// network): asked for at create or by network connect, with its aliases there; while the
// container runs, its endpoint there.
type NetworkAttachment struct {
	Name      string   `json:"name"`
	Aliases   []string `json:"aliases,omitempty"`
	IP        string   `json:"ip,omitempty"`
	PrefixLen int      `json:"prefix_len,omitempty"`
	Gateway   string   `json:"gateway,omitempty"`
	MAC       string   `json:"mac,omitempty"`
	IfName    string   `json:"if_name,omitempty"`
}

// attachments are the bridge networks the container joins at start, in order: the first has
// its default route and its published ports.
func (st *State) attachments() []NetworkAttachment {
	if st.Networks != nil || !isBridgeNetwork(st.Network) {
		return slices.Clone(st.Networks)
	}
	return []NetworkAttachment{{Name: st.Network}} // recorded before a container could join several
}

// isBridgeNetwork reports whether a network mode is a bridge network (the default one or a
// user's): not none or host.
func isBridgeNetwork(name string) bool {
	return name != "" && name != "none" && name != "host" && name != network.UserModeName
}

// dnsNames are the names a container answers to on a network's resolver: its name, its short
// id, its hostname when it has one of its own, and its aliases there.
func dnsNames(st *State, hostname string, aliases []string) []string {
	var out []string
	for _, n := range append([]string{st.Name, container.ShortID(st.ID), hostname}, aliases...) {
		if n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// connect attaches the running container (its init is pid) to each of its bridge networks: an
// address and a veth on each, its published ports on the first, its names on each user
// network's resolver; then writes its /etc files with its addresses and links. none and host
// need nothing here (the init brings its loopback up).
func (e *Engine) connect(st *State, hostname string, pid int) error {
	if st.Network == network.UserModeName {
		if err := e.connectUserMode(st, pid); err != nil {
			return err
		}
		_, err := e.writeEtcFiles(st, hostname)
		return err
	}
	bindings := st.PortBindings
	if bindings == nil {
		bindings = st.Ports // a container recorded before PortBindings
	}
	atts := st.attachments()
	for i := range atts {
		a := &atts[i]
		att := network.Attachment{Names: dnsNames(st, hostname, a.Aliases), DNS: st.Etc.DNS, DefaultRoute: i == 0}
		if i == 0 {
			att.Ports = bindings
		}
		if a.Name == network.DefaultName { // on first use, or made again after network rm
			if _, err := e.networks.EnsureDefault(); err != nil {
				return err
			}
		}
		ep, err := e.networks.Connect(a.Name, st.ID, pid, att)
		if err != nil {
			return err
		}
		e.ports.keep(st.ID, ep.Held)
		a.setEndpoint(ep)
		if i == 0 {
			st.IP, st.Ports = ep.IP, ep.Ports // -P's host ports picked
		}
	}
	st.Networks = atts
	_, err := e.writeEtcFiles(st, hostname)
	return err
}

// withEndpoints is atts (as recorded now) with the endpoints of those attached has (as the
// container joined them): a network connect or disconnect made meanwhile is kept.
func withEndpoints(atts, attached []NetworkAttachment) []NetworkAttachment {
	for i, a := range atts {
		if j := slices.IndexFunc(attached, func(b NetworkAttachment) bool { return b.Name == a.Name }); j >= 0 {
			atts[i] = attached[j]
		}
	}
	return atts
}

func (a *NetworkAttachment) setEndpoint(ep *network.Endpoint) {
	a.IP, a.PrefixLen, a.Gateway, a.MAC, a.IfName = ep.IP, ep.PrefixLen, ep.Gateway, ep.MAC, ep.IfName
}

// writeEtcFiles writes the container's /etc/hosts, /etc/hostname and /etc/resolv.conf into its
// directory and returns the bind mounts that put them in place, as Docker does. They are
// written in place (a bind mount holds the file, not its name): a network connected later
// rewrites them under the running container. Not synced: start writes them again.
func (e *Engine) writeEtcFiles(st *State, hostname string) ([]specs.Mount, error) {
	dir := e.containers.etcDir(st.ID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create /etc files: %w", err)
	}
	hostResolv, err := os.ReadFile("/etc/resolv.conf")
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read the host's /etc/resolv.conf: %w", err)
	}
	extra, err := e.linkHosts(st)
	if err != nil {
		return nil, err
	}
	var ips []string
	for _, a := range st.Networks {
		if a.IP != "" {
			ips = append(ips, a.IP)
		}
	}
	if st.Network == network.UserModeName && st.IP != "" {
		ips = append(ips, st.IP)
	}
	files := []struct {
		name string
		data []byte
	}{
		{"resolv.conf", network.ResolvConf(hostResolv, st.Etc, e.resolvers(st))},
		{"hostname", []byte(hostname + "\n")},
		{"hosts", network.HostsFile(hostname, ips, append(slices.Clone(st.Etc.ExtraHosts), extra...))},
	}
	var mounts []specs.Mount
	for _, f := range files {
		path := filepath.Join(dir, f.name)
		if err := os.WriteFile(path, f.data, 0o644); err != nil {
			return nil, fmt.Errorf("write /etc/%s: %w", f.name, err)
		}
		mounts = append(mounts, specs.Mount{Type: "bind", Source: path, Destination: "/etc/" + f.name, Options: []string{"rbind", "rprivate"}})
	}
	return mounts, nil
}

// resolvers are the nameservers of a container on user networks: their gateways, where the
// root's resolver answers (three at most, as resolv.conf reads). None for a container on the
// default bridge network alone, or none or host: it gets the host's, as with Docker.
func (e *Engine) resolvers(st *State) []string {
	if st.Network == network.UserModeName {
		return []string{network.UserModeDNS} // slirp4netns asks the host's servers
	}
	var out []string
	for _, a := range st.attachments() {
		if a.Name == network.DefaultName || len(out) == 3 {
			continue
		}
		if n, err := e.networks.Get(a.Name); err == nil {
			out = append(out, n.Gateway)
		}
	}
	return out
}

// linkHosts are the /etc/hosts entries of the container's links (--link NAME[:ALIAS]), as
// Docker writes them: the linked container's address on a network the two share (or on its
// first) for its alias, short id and name ("ALIAS ID NAME:IP", as --add-host's HOST:IP).
func (e *Engine) linkHosts(st *State) ([]string, error) {
	var out []string
	for _, link := range st.Links {
		name, alias, _ := strings.Cut(link, ":")
		target, err := e.Get(name)
		if err != nil {
			return nil, fmt.Errorf("could not get container for %s: %w", name, err)
		}
		if target.Status != Running || target.IP == "" {
			return nil, fmt.Errorf("cannot link to a non running container: /%s AS /%s/%s", target.Name, st.Name, alias)
		}
		ip := target.IP
		for _, t := range target.Networks {
			if slices.ContainsFunc(st.Networks, func(a NetworkAttachment) bool { return a.Name == t.Name }) && t.IP != "" {
				ip = t.IP
				break
			}
		}
		names := []string{container.ShortID(target.ID), target.Name}
		if alias != "" {
			names = append([]string{alias}, names...)
		}
		out = append(out, strings.Join(names, " ")+":"+ip)
	}
	return out, nil
}

// NetworkConnect connects a container to a network (network connect), with aliases there: a
// running one at once (another veth, its names on the network's resolver, its /etc files
// rewritten), a stopped one from its next start.
func (e *Engine) NetworkConnect(netName, ref string, aliases []string) error {
	st, err := e.Get(ref)
	if err != nil {
		return err
	}
	if !isBridgeNetwork(st.Network) {
		return fmt.Errorf("container %s is on network %s: it cannot be connected to another", container.ShortID(st.ID), st.Network)
	}
	if !isBridgeNetwork(netName) {
		return fmt.Errorf("a running container cannot be connected to network %s", netName)
	}
	if netName == network.DefaultName {
		_, err = e.networks.EnsureDefault()
	} else {
		_, err = e.networks.Get(netName)
	}
	if err != nil {
		return err
	}
	if slices.ContainsFunc(st.attachments(), func(a NetworkAttachment) bool { return a.Name == netName }) {
		return fmt.Errorf("endpoint with name %s already exists in network %s", st.Name, netName)
	}
	att := NetworkAttachment{Name: netName, Aliases: aliases}
	var hostname string
	if st.Status == Running {
		spec, err := e.containers.Spec(st.ID)
		if err != nil {
			return err
		}
		hostname = spec.Hostname
		ep, err := e.networks.Connect(netName, st.ID, st.Pid, network.Attachment{Names: dnsNames(st, hostname, aliases), DNS: st.Etc.DNS})
		if err != nil {
			return err
		}
		closeHeld(ep.Held) // no port is published but on the first network
		att.setEndpoint(ep)
	}
	err = e.record(st, func(st *State) { st.Networks = append(st.attachments(), att) })
	if err != nil {
		if st.Status == Running {
			e.networks.Disconnect(st.ID, netName)
		}
		return err
	}
	if st.Status == Running {
		_, err = e.writeEtcFiles(st, hostname)
	}
	return err
}

// NetworkDisconnect disconnects a container from a network (network disconnect): a running
// one at once, a stopped one for its next start.
func (e *Engine) NetworkDisconnect(netName, ref string) error {
	st, err := e.Get(ref)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(st.attachments(), func(a NetworkAttachment) bool { return a.Name == netName }) {
		return fmt.Errorf("container %s is not connected to network %s", container.ShortID(st.ID), netName)
	}
	if st.Status == Running {
		if err := e.networks.Disconnect(st.ID, netName); err != nil {
			return err
		}
	}
	err = e.record(st, func(st *State) {
		st.Networks = slices.DeleteFunc(st.attachments(), func(a NetworkAttachment) bool { return a.Name == netName })
	})
	if err != nil || st.Status != Running {
		return err
	}
	spec, err := e.containers.Spec(st.ID)
	if err != nil {
		return err
	}
	_, err = e.writeEtcFiles(st, spec.Hostname)
	return err
}

func closeHeld(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}

// NetworkCreate makes a bridge network (network create).
func (e *Engine) NetworkCreate(name string, o network.CreateOptions) (*network.Network, error) {
	if rootless.Active() {
		return nil, fmt.Errorf("network create %s: a rootless engine has no user-defined networks (a bridge in the host's network is root's); its containers get user-mode networking (%s), or --net none or --net host", name, network.UserModeName)
	}
	n, err := e.networks.Create(name, o)
	if err != nil {
		return nil, err
	}
	e.emit(events.NetworkEventType, events.ActionCreate, n.ID, map[string]string{"name": n.Name, "type": n.Driver})
	return n, nil
}

// NetworkRemove removes a bridge network no container is on (network rm).
func (e *Engine) NetworkRemove(name string) error {
	n, err := e.networks.Get(name)
	if err != nil {
		return err
	}
	if err := e.networks.Remove(name); err != nil {
		return err
	}
	e.emit(events.NetworkEventType, events.ActionDestroy, n.ID, map[string]string{"name": n.Name, "type": n.Driver})
	return nil
}

// NetworkInspect describes a network as Docker's network inspect does, with the containers on
// it.
func (e *Engine) NetworkInspect(name string) (mobynet.Inspect, error) {
	n, err := e.networks.Get(name)
	if err != nil {
		return mobynet.Inspect{}, err
	}
	subnet, _ := netip.ParsePrefix(n.Subnet)
	gw, _ := netip.ParseAddr(n.Gateway)
	out := mobynet.Inspect{
		Network: mobynet.Network{
			Name: n.Name, ID: n.ID, Created: n.Created, Scope: "local", Driver: n.Driver, EnableIPv4: true,
			IPAM:    mobynet.IPAM{Driver: "default", Options: map[string]string{}, Config: []mobynet.IPAMConfig{{Subnet: subnet, Gateway: gw}}},
			Options: map[string]string{"com.docker.network.bridge.name": n.Bridge},
			Labels:  n.Labels,
		},
		Containers: map[string]mobynet.EndpointResource{},
	}
	if out.Labels == nil {
		out.Labels = map[string]string{}
	}
	eps, err := e.networks.NetworkEndpoints(name)
	if err != nil {
		return out, err
	}
	for _, ep := range eps {
		r := mobynet.EndpointResource{EndpointID: network.EndpointID(ep)}
		if len(ep.Names) > 0 {
			r.Name = ep.Names[0]
		}
		if ip, err := netip.ParseAddr(ep.IP); err == nil {
			r.IPv4Address = netip.PrefixFrom(ip, ep.PrefixLen)
		}
		if mac, err := parseMAC(ep.MAC); err == nil {
			r.MacAddress = mac
		}
		out.Containers[ep.ContainerID] = r
	}
	return out, nil
}

func parseMAC(s string) (mobynet.HardwareAddr, error) {
	var mac mobynet.HardwareAddr
	err := mac.UnmarshalText([]byte(s))
	return mac, err
}

// EndpointSettings are the container's networks as Docker's inspect shows them
// (NetworkSettings.Networks): for each, its aliases and, while it runs, its address there.
func (e *Engine) EndpointSettings(st *State) map[string]*mobynet.EndpointSettings {
	out := map[string]*mobynet.EndpointSettings{}
	running := st.Status == Running
	for _, a := range st.attachments() {
		s := &mobynet.EndpointSettings{Aliases: a.Aliases}
		if n, err := e.networks.Get(a.Name); err == nil {
			s.NetworkID = n.ID
		}
		if running && a.IP != "" {
			s.IPAddress, _ = netip.ParseAddr(a.IP)
			s.Gateway, _ = netip.ParseAddr(a.Gateway)
			s.IPPrefixLen = a.PrefixLen
			s.MacAddress, _ = parseMAC(a.MAC)
			s.EndpointID = network.EndpointID(&network.Endpoint{ContainerID: st.ID, Network: a.Name})
			s.DNSNames = dnsNames(st, "", a.Aliases)
		}
		out[a.Name] = s
	}
	if !isBridgeNetwork(st.Network) && st.Network != "" {
		out[st.Network] = &mobynet.EndpointSettings{}
	}
	return out
}
