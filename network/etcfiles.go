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
// user's extra hosts (NAME:IP), then the container's own address and name when it has one.
func HostsFile(hostname, ip string, extra []string) []byte {
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
	if ip != "" {
		b.WriteString(ip + "\t" + hostname + "\n")
	}
	return b.Bytes()
}

// ResolvConf is a container's /etc/resolv.conf: the host's, without the nameservers on
// loopback (a resolver on the host's 127.0.0.53 is out of a container's reach). When none is
// left, Docker's fallback public resolvers are written, as Docker does. The user's --dns,
// --dns-search and --dns-option replace the host's nameservers, search list and options.
func ResolvConf(host []byte, o EtcOptions) []byte {
	var b bytes.Buffer
	servers := 0
	s := bufio.NewScanner(bytes.NewReader(host))
	for s.Scan() {
		line := s.Text()
		f := strings.Fields(line)
		if len(f) >= 1 && ((f[0] == "nameserver" && len(o.DNS) > 0) || (f[0] == "search" && len(o.DNSSearch) > 0) ||
			(f[0] == "options" && len(o.DNSOptions) > 0)) {
			continue
		}
		if len(f) >= 2 && f[0] == "nameserver" {
			if addr, err := netip.ParseAddr(f[1]); err == nil && addr.IsLoopback() {
				continue
			}
			servers++
		}
		b.WriteString(line + "\n")
	}
	for _, d := range o.DNS {
		b.WriteString("nameserver " + d + "\n")
		servers++
	}
	if len(o.DNSSearch) > 0 {
		b.WriteString("search " + strings.Join(o.DNSSearch, " ") + "\n")
	}
	if len(o.DNSOptions) > 0 {
		b.WriteString("options " + strings.Join(o.DNSOptions, " ") + "\n")
	}
	if servers == 0 {
		b.WriteString("nameserver 8.8.8.8\nnameserver 8.8.4.4\n")
	}
	return b.Bytes()
}
