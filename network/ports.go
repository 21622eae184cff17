package network

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// PortMapping publishes a container port on the host: HostPort on the host's addresses (or on
// HostIP alone) reaches ContainerPort in the container.
type PortMapping struct {
	HostIP        string `json:"host_ip,omitempty"` // "": every address of the host
	HostPort      uint16 `json:"host_port"`
	ContainerPort uint16 `json:"container_port"`
	Proto         string `json:"proto"` // "tcp" or "udp"
}

// String is the form ps shows: 0.0.0.0:8080->80/tcp, 127.0.0.1:8080->80/tcp.
func (p PortMapping) String() string {
	ip := p.HostIP
	if ip == "" {
		ip = "0.0.0.0"
	}
	return fmt.Sprintf("%s:%d->%d/%s", ip, p.HostPort, p.ContainerPort, p.Proto)
}

// conflicts reports whether two mappings want the same host port: the same port and protocol,
// on the same address or on every address.
func (p PortMapping) conflicts(q PortMapping) bool {
	return p.HostPort == q.HostPort && p.Proto == q.Proto && (p.HostIP == "" || q.HostIP == "" || p.HostIP == q.HostIP)
}

// ParsePort reads -p [HOSTIP:]HOSTPORT:CONTAINERPORT[/tcp|udp], HOSTIP an IPv4 address.
func ParsePort(s string) (PortMapping, error) {
	spec, proto, hasProto := strings.Cut(s, "/")
	if !hasProto {
		proto = "tcp"
	}
	if proto != "tcp" && proto != "udp" {
		return PortMapping{}, fmt.Errorf("invalid port %q: the protocol must be tcp or udp", s)
	}
	var hostIP string
	if parts := strings.Split(spec, ":"); len(parts) == 3 {
		ip, err := netip.ParseAddr(parts[0])
		if err != nil || !ip.Is4() {
			return PortMapping{}, fmt.Errorf("invalid port %q: %q is not an IPv4 address of the host", s, parts[0])
		}
		if !ip.IsUnspecified() {
			hostIP = ip.String()
		}
		spec = parts[1] + ":" + parts[2]
	}
	host, ctr, ok := strings.Cut(spec, ":")
	if !ok || strings.Contains(ctr, ":") {
		return PortMapping{}, fmt.Errorf("invalid port %q: want [HOSTIP:]HOSTPORT:CONTAINERPORT[/tcp|udp]", s)
	}
	hp, err := parsePortNumber(host)
	if err != nil {
		return PortMapping{}, fmt.Errorf("invalid port %q: host port %w", s, err)
	}
	cp, err := parsePortNumber(ctr)
	if err != nil {
		return PortMapping{}, fmt.Errorf("invalid port %q: container port %w", s, err)
	}
	return PortMapping{HostIP: hostIP, HostPort: hp, ContainerPort: cp, Proto: proto}, nil
}

func parsePortNumber(s string) (uint16, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("%q is not a number from 1 to 65535", s)
	}
	return uint16(n), nil
}

// FreePort asks the kernel for a port nothing listens on (proto "tcp" or "udp"), for -P.
func FreePort(proto string) (uint16, error) {
	if proto == "udp" {
		c, err := net.ListenPacket("udp", ":0")
		if err != nil {
			return 0, fmt.Errorf("find a free udp port: %w", err)
		}
		defer c.Close()
		return uint16(c.LocalAddr().(*net.UDPAddr).Port), nil
	}
	l, err := net.Listen("tcp", ":0")
	if err != nil {
		return 0, fmt.Errorf("find a free tcp port: %w", err)
	}
	defer l.Close()
	return uint16(l.Addr().(*net.TCPAddr).Port), nil
}
