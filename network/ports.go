package network

import (
	"cmp"
	"fmt"
	"net"
	"net/netip"
	"os"
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
// on the same address or on every address. A port of 0 (any) conflicts with none.
func (p PortMapping) conflicts(q PortMapping) bool {
	return p.HostPort != 0 && p.HostPort == q.HostPort && p.Proto == q.Proto && (p.HostIP == "" || q.HostIP == "" || p.HostIP == q.HostIP)
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

// holdPort takes the host's side of a published port: a socket bound to it (a TCP one also
// listening, as Docker's proxy does), which the watcher of the container keeps open for as
// long as the port is published. The kernel is then the arbiter, host-wide: another root's
// engine, or any program, that wants the port is refused, as is this one when a program holds
// it already; a port of 0 (-P) is one the kernel picks. When the watcher dies, so do its
// sockets. It returns the socket, as a file to pass to another process, and the mapping with
// its host port.
func holdPort(p PortMapping) (*os.File, PortMapping, error) {
	addr := net.JoinHostPort(cmp.Or(p.HostIP, "0.0.0.0"), strconv.Itoa(int(p.HostPort)))
	if p.Proto == "udp" {
		c, err := net.ListenPacket("udp4", addr)
		if err != nil {
			return nil, p, fmt.Errorf("publish port %s: %w", p, err)
		}
		defer c.Close()
		p.HostPort = uint16(c.LocalAddr().(*net.UDPAddr).Port)
		f, err := c.(*net.UDPConn).File()
		if err != nil {
			return nil, p, fmt.Errorf("publish port %s: %w", p, err)
		}
		return f, p, nil
	}
	l, err := net.Listen("tcp4", addr)
	if err != nil {
		return nil, p, fmt.Errorf("publish port %s: %w", p, err)
	}
	defer l.Close()
	p.HostPort = uint16(l.Addr().(*net.TCPAddr).Port)
	f, err := l.(*net.TCPListener).File()
	if err != nil {
		return nil, p, fmt.Errorf("publish port %s: %w", p, err)
	}
	return f, p, nil
}

// holdPorts holds each of ports (holdPort) and returns the sockets and the ports with their
// host ports; on failure it holds none.
func holdPorts(ports []PortMapping) (held []*os.File, resolved []PortMapping, err error) {
	for _, p := range ports {
		f, q, err := holdPort(p)
		if err != nil {
			closeAll(held)
			return nil, nil, err
		}
		held, resolved = append(held, f), append(resolved, q)
	}
	return held, resolved, nil
}

func closeAll(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}
