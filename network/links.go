package network

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"

	"github.com/coreos/go-iptables/iptables"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// createBridge makes a bridge holding the gateway address and brings it up. route_localnet
// lets the host's own connections to 127.0.0.1 be rewritten to a container on it.
func createBridge(name string, gateway netip.Addr, prefixLen int) error {
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name}}
	if err := netlink.LinkAdd(br); err != nil {
		return fmt.Errorf("create bridge %s: %w", name, err)
	}
	if err := noIPv6Address(netlink.LinkSetIP6AddrGenMode, br); err != nil {
		deleteLink(name)
		return err
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: gateway.AsSlice(), Mask: net.CIDRMask(prefixLen, 32)}}
	if err := netlink.AddrAdd(br, addr); err != nil {
		deleteLink(name)
		return fmt.Errorf("add %s to bridge %s: %w", addr, name, err)
	}
	if err := netlink.LinkSetUp(br); err != nil {
		deleteLink(name)
		return fmt.Errorf("bring bridge %s up: %w", name, err)
	}
	if err := os.WriteFile("/proc/sys/net/ipv4/conf/"+name+"/route_localnet", []byte("1"), 0o644); err != nil {
		deleteLink(name)
		return fmt.Errorf("allow localhost routing on %s: %w", name, err)
	}
	return nil
}

// deleteLink deletes the link name; a link that is gone is not an error.
func deleteLink(name string) error { return withLink(name, "delete link", netlink.LinkDel) }

// detachLink takes the link name off its bridge; a link that is gone is not an error.
func detachLink(name string) error {
	return withLink(name, "detach link", netlink.LinkSetNoMaster)
}

// withLink does op (what) to the link name, if it is there. ENODEV: gone meanwhile — a veth
// goes with its peer when the container's network namespace is torn down, which the kernel
// finishes on its own time.
func withLink(name, what string, op func(netlink.Link) error) error {
	link, err := netlink.LinkByName(name)
	var notFound netlink.LinkNotFoundError
	if errors.As(err, &notFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("find link %s: %w", name, err)
	}
	if err := op(link); err != nil && !errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("%s %s: %w", what, name, err)
	}
	return nil
}

// MaxBridgePorts is how many links the kernel lets a bridge have: how many containers one
// network holds.
const MaxBridgePorts = 1023

// attachVeth makes a veth pair: hostName on the bridge, and its peer in the network namespace
// of pid, named for the first ethN free there (eth0 for a container's first network), with
// ip/prefixLen and, unless gateway is the zero address, the default route via gateway. It
// returns the peer's name and MAC address. The peer is made in the container's namespace, not
// made on the host and moved there: a move waits for an RCU grace period (synchronize_net),
// 10 to 17 ms here, the most of a bridge start.
func attachVeth(bridge, hostName string, pid int, ip netip.Addr, prefixLen int, gateway netip.Addr) (ifName, mac string, err error) {
	br, err := netlink.LinkByName(bridge)
	if err != nil {
		return "", "", fmt.Errorf("find bridge %s: %w", bridge, err)
	}
	h, closeNS, err := handleAt(pid)
	if err != nil {
		return "", "", err
	}
	defer closeNS()
	ifName, err = freeEthName(h)
	if err != nil {
		return "", "", err
	}
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: hostName, MasterIndex: br.Attrs().Index, MTU: br.Attrs().MTU},
		PeerName: ifName, PeerNamespace: netlink.NsPid(pid)}
	if err := netlink.LinkAdd(veth); err != nil {
		if errors.Is(err, unix.EXFULL) {
			// The kernel numbers a bridge's ports in ten bits, 0 its own (BR_MAX_PORTS).
			return "", "", fmt.Errorf("bridge %s is full: the kernel gives a bridge at most %d ports, one a container (put more containers on another network): %w", bridge, MaxBridgePorts, err)
		}
		return "", "", fmt.Errorf("create veth %s with its peer in the network namespace of process %d: %w", hostName, pid, err)
	}
	if err := noIPv6Address(netlink.LinkSetIP6AddrGenMode, veth); err != nil {
		return "", "", err
	}
	if err := netlink.LinkSetUp(veth); err != nil {
		return "", "", fmt.Errorf("bring %s up: %w", hostName, err)
	}
	peer, err := h.LinkByName(ifName)
	if err != nil {
		return "", "", fmt.Errorf("find %s in the container: %w", ifName, err)
	}
	if err := noIPv6Address(h.LinkSetIP6AddrGenMode, peer); err != nil {
		return "", "", err
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: ip.AsSlice(), Mask: net.CIDRMask(prefixLen, 32)}}
	if err := h.AddrAdd(peer, addr); err != nil {
		return "", "", fmt.Errorf("add %s to the container's %s: %w", addr, ifName, err)
	}
	if err := h.LinkSetUp(peer); err != nil {
		return "", "", fmt.Errorf("bring the container's %s up: %w", ifName, err)
	}
	if err := loUp(h); err != nil {
		return "", "", err
	}
	if gateway.IsValid() {
		route := &netlink.Route{LinkIndex: peer.Attrs().Index, Gw: gateway.AsSlice()}
		if err := h.RouteAdd(route); err != nil {
			return "", "", fmt.Errorf("add the default route via %s: %w", gateway, err)
		}
	}
	return ifName, peer.Attrs().HardwareAddr.String(), nil
}

// noIPv6Address has the kernel give link no IPv6 address of its own (set before the link is
// up): the networks are IPv4 only, and a link-local address comes with duplicate address
// detection, router solicitations (repeated, backing off, for as long as the link lives) and
// multicast listener reports, each sent to every port of the bridge. With 1,000 containers on
// one bridge, that was some 20 packets a second delivered a thousand times each: a tenth of
// the host's CPU, in every start's way. (Docker 20.10 leaves the address; later Dockers turn
// IPv6 off on the interfaces of IPv4-only networks.)
func noIPv6Address(set func(netlink.Link, int) error, link netlink.Link) error {
	if err := set(link, nl.IN6_ADDR_GEN_MODE_NONE); err != nil && !errors.Is(err, unix.EAFNOSUPPORT) {
		return fmt.Errorf("give %s no IPv6 address: %w", link.Attrs().Name, err)
	}
	return nil
}

// freeEthName is the first of eth0, eth1... that no link in the namespace of h has.
func freeEthName(h *netlink.Handle) (string, error) {
	links, err := h.LinkList()
	if err != nil {
		return "", fmt.Errorf("list the container's links: %w", err)
	}
	taken := map[string]bool{}
	for _, l := range links {
		taken[l.Attrs().Name] = true
	}
	for i := 0; ; i++ {
		if name := fmt.Sprintf("eth%d", i); !taken[name] {
			return name, nil
		}
	}
}

func loUp(h *netlink.Handle) error {
	lo, err := h.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("find lo: %w", err)
	}
	if err := h.LinkSetUp(lo); err != nil {
		return fmt.Errorf("bring lo up: %w", err)
	}
	return nil
}

// handleAt opens a netlink handle inside the network namespace of pid.
func handleAt(pid int) (*netlink.Handle, func(), error) {
	ns, err := netns.GetFromPid(pid)
	if err != nil {
		return nil, nil, fmt.Errorf("open the network namespace of process %d: %w", pid, err)
	}
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		ns.Close()
		return nil, nil, fmt.Errorf("netlink in the network namespace of process %d: %w", pid, err)
	}
	return h, func() { h.Close(); ns.Close() }, nil
}

// hostRouteOverlapping returns a host route (other than the default) that overlaps prefix.
func hostRouteOverlapping(prefix netip.Prefix) (string, error) {
	routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		return "", fmt.Errorf("list the host's routes: %w", err)
	}
	for _, r := range routes {
		if r.Dst == nil {
			continue
		}
		ones, _ := r.Dst.Mask.Size()
		if ones == 0 {
			continue
		}
		addr, ok := netip.AddrFromSlice(r.Dst.IP.To4())
		if ok && netip.PrefixFrom(addr, ones).Overlaps(prefix) {
			return r.Dst.String(), nil
		}
	}
	return "", nil
}

func addRules(rules []Rule) error {
	if len(rules) == 0 {
		return nil
	}
	ipt, err := iptables.New()
	if err != nil {
		return fmt.Errorf("iptables: %w (install it: apt-get install iptables)", err)
	}
	for _, r := range rules {
		if err := ipt.AppendUnique(r.Table, r.Chain, r.Args...); err != nil {
			return fmt.Errorf("add iptables rule to %s %s: %w", r.Table, r.Chain, err)
		}
	}
	return nil
}

// deleteRules removes rules that exist; a missing one is fine (idempotent removal). It goes
// on past a failure and returns them all.
func deleteRules(rules []Rule) error {
	if len(rules) == 0 {
		return nil
	}
	ipt, err := iptables.New()
	if err != nil {
		return fmt.Errorf("iptables: %w", err)
	}
	var errs []error
	for _, r := range rules {
		if err := ipt.DeleteIfExists(r.Table, r.Chain, r.Args...); err != nil {
			errs = append(errs, fmt.Errorf("delete iptables rule from %s %s: %w", r.Table, r.Chain, err))
		}
	}
	return errors.Join(errs...)
}
