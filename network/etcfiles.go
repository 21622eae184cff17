package network

import (
	"bufio"
	"bytes"
	"fmt"
	"net/netip"
	"strings"
)

// EtcOptions are what a user adds to a container's /etc/hosts and /etc/resolv.conf:
// --add-host, --dns, --dns-search and --dns-option.
type EtcOptions struct {
	ExtraHosts []string `json:"extra_hosts,omitempty"` // NAME:IP, as given
	DNS        []string `json:"dns,omitempty"`
	DNSSearch  []string `json:"dns_search,omitempty"`
	DNSOptions []string `json:"dns_options,omitempty"`
}

// Validate checks the options as Docker's flags do.
func (o EtcOptions) Validate() error {
	for _, h := range o.ExtraHosts {
		name, ip, ok := strings.Cut(h, ":")
		if !ok || name == "" {
			return fmt.Errorf("invalid argument %q for \"--add-host\" flag: bad format for add-host: %q", h, h)
		}
		if _, err := netip.ParseAddr(ip); err != nil {
			return fmt.Errorf("invalid argument %q for \"--add-host\" flag: invalid IP address in add-host: %q", h, ip)
		}
	}
	for _, d := range o.DNS {
		if _, err := netip.ParseAddr(d); err != nil {
			return fmt.Errorf("invalid argument %q for \"--dns\" flag: %s is not an ip address", d, d)
		}
	}
	return nil
}

// HostsFile is a container's /etc/hosts as Docker writes it: the localhost entries, the
// user's extra hosts and its links (NAME:IP), then the container's own addresses, one on each
// network, with its name.
func HostsFile(hostname string, ips []string, extra []string) []byte {
	var b bytes.Buffer
	b.WriteString("127.0.0.1\tlocalhost\n" +
		"::1\tlocalhost ip6-localhost ip6-loopback\n" +
		"fe00::0\tip6-localnet\n" +
		"ff00::0\tip6-mcastprefix\n" +
		"ff02::1\tip6-allnodes\n" +
		"ff02::2\tip6-allrouters\n")
	for _, h := range extra {
		name, addr, _ := strings.Cut(h, ":")
		b.WriteString(addr + "\t" + name + "\n")
	}
	for _, ip := range ips {
		b.WriteString(ip + "\t" + hostname + "\n")
	}
	return b.Bytes()
}

// ResolvConf is a container's /etc/resolv.conf: the host's, without the nameservers on
// loopback (a resolver on the host's 127.0.0.53 is out of a container's reach). When none is
// left, Docker's fallback public resolvers are written, as Docker does. With --dns,
// --dns-search or --dns-option, the file is built as Docker builds it: search, nameservers,
// options, each the user's or else the host's. A container on user networks has their
// resolvers as its nameservers (the names resolver on each gateway), which send what is not a
// container's name on to the --dns servers or the host's.
func ResolvConf(host []byte, o EtcOptions, resolvers []string) []byte {
	var b bytes.Buffer
	var servers, search, options []string
	s := bufio.NewScanner(bytes.NewReader(host))
	for s.Scan() {
		line := s.Text()
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "nameserver" {
			if addr, err := netip.ParseAddr(f[1]); err == nil && addr.IsLoopback() {
				continue
			}
			servers = append(servers, f[1])
		}
		if len(f) >= 2 && (f[0] == "search" || f[0] == "domain") {
			search = f[1:]
		}
		if len(f) >= 2 && f[0] == "options" {
			options = append(options, f[1:]...)
		}
		b.WriteString(line + "\n")
	}
	if len(resolvers) > 0 {
		o.DNS = resolvers
	}
	if len(o.DNS) == 0 && len(o.DNSSearch) == 0 && len(o.DNSOptions) == 0 {
		if len(servers) == 0 {
			b.WriteString(fallbackResolvers)
		}
		return b.Bytes()
	}
	b.Reset()
	if len(o.DNSSearch) > 0 {
		search = o.DNSSearch
	}
	if len(o.DNS) > 0 {
		servers = o.DNS
	}
	if len(o.DNSOptions) > 0 {
		options = o.DNSOptions
	}
	if len(search) > 0 {
		b.WriteString("search " + strings.Join(search, " ") + "\n")
	}
	for _, d := range servers {
		b.WriteString("nameserver " + d + "\n")
	}
	if len(servers) == 0 {
		b.WriteString(fallbackResolvers)
	}
	if len(options) > 0 {
		b.WriteString("options " + strings.Join(options, " ") + "\n")
	}
	return b.Bytes()
}

// fallbackResolvers are Docker's, for a container that would have none.
const fallbackResolvers = "nameserver 8.8.8.8\nnameserver 8.8.4.4\n"
