package network

import (
	"bufio"
	"bytes"
	"net/netip"
	"strings"
)

// HostsFile is a container's /etc/hosts as Docker writes it: the localhost entries, then the
// container's own address and name when it has an address.
func HostsFile(hostname, ip string) []byte {
	var b bytes.Buffer
	b.WriteString("127.0.0.1\tlocalhost\n" +
		"::1\tlocalhost ip6-localhost ip6-loopback\n" +
		"fe00::0\tip6-localnet\n" +
		"ff00::0\tip6-mcastprefix\n" +
		"ff02::1\tip6-allnodes\n" +
		"ff02::2\tip6-allrouters\n")
	if ip != "" {
		b.WriteString(ip + "\t" + hostname + "\n")
	}
	return b.Bytes()
}

// ResolvConf is a container's /etc/resolv.conf: the host's, without the nameservers on
// loopback (a resolver on the host's 127.0.0.53 is out of a container's reach). When none is
// left, Docker's fallback public resolvers are written, as Docker does.
func ResolvConf(host []byte) []byte {
	var b bytes.Buffer
	servers := 0
	s := bufio.NewScanner(bytes.NewReader(host))
	for s.Scan() {
		line := s.Text()
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "nameserver" {
			if addr, err := netip.ParseAddr(f[1]); err == nil && addr.IsLoopback() {
				continue
			}
			servers++
		}
		b.WriteString(line + "\n")
	}
	if servers == 0 {
		b.WriteString("nameserver 8.8.8.8\nnameserver 8.8.4.4\n")
	}
	return b.Bytes()
}
