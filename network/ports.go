package network

import (
	"fmt"
	"strconv"
	"strings"
)

// PortMapping publishes a container port on the host: HostPort on the host's addresses
// reaches ContainerPort in the container.
type PortMapping struct {
	HostPort      uint16 `json:"host_port"`
	ContainerPort uint16 `json:"container_port"`
	Proto         string `json:"proto"` // "tcp" or "udp"
}

// String is the form ps shows: 0.0.0.0:8080->80/tcp.
func (p PortMapping) String() string {
	return fmt.Sprintf("0.0.0.0:%d->%d/%s", p.HostPort, p.ContainerPort, p.Proto)
}

// ParsePort reads -p HOSTPORT:CONTAINERPORT[/tcp|udp].
func ParsePort(s string) (PortMapping, error) {
	spec, proto, hasProto := strings.Cut(s, "/")
	if !hasProto {
		proto = "tcp"
	}
	if proto != "tcp" && proto != "udp" {
		return PortMapping{}, fmt.Errorf("invalid port %q: the protocol must be tcp or udp", s)
	}
	host, ctr, ok := strings.Cut(spec, ":")
	if !ok {
		return PortMapping{}, fmt.Errorf("invalid port %q: want HOSTPORT:CONTAINERPORT[/tcp|udp]", s)
	}
	hp, err := parsePortNumber(host)
	if err != nil {
		return PortMapping{}, fmt.Errorf("invalid port %q: host port %w", s, err)
	}
	cp, err := parsePortNumber(ctr)
	if err != nil {
		return PortMapping{}, fmt.Errorf("invalid port %q: container port %w", s, err)
	}
	return PortMapping{HostPort: hp, ContainerPort: cp, Proto: proto}, nil
}

func parsePortNumber(s string) (uint16, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("%q is not a number from 1 to 65535", s)
	}
	return uint16(n), nil
}
