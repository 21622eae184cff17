package network

import "strconv"

// Rule is one iptables rule: the table, the chain and the arguments that follow -A.
type Rule struct {
	Table, Chain string
	Args         []string
}

func comment(tag string) []string { return []string{"-m", "comment", "--comment", "mydocker:" + tag} }

// networkRules are what a bridge network needs: its traffic forwarded, and what leaves for
// elsewhere rewritten to the host's address; and traffic from the host itself to a published
// port at 127.0.0.1 rewritten to come from the bridge (localhost cannot be a source on it).
//
// That last needs route_localnet on the bridge, which also lets a container send packets to
// 127.0.0.1 of the host — reaching services that listen on the host's loopback only
// (CVE-2020-8558). The first rule drops those, as Docker and kube-proxy do; replies to
// connections the host made stay allowed. The next two let the containers ask the names
// resolver on the gateway (port 53) on a host whose INPUT policy drops what it does not know,
// as netavark lets them reach aardvark-dns.
func networkRules(name, bridge, subnet string) []Rule {
	tag := comment("net:" + name)
	return []Rule{
		{"filter", "INPUT", append([]string{"-i", bridge, "-d", "127.0.0.0/8", "-m", "conntrack", "!", "--ctstate", "RELATED,ESTABLISHED", "-j", "DROP"}, tag...)},
		{"filter", "INPUT", append([]string{"-i", bridge, "-p", "udp", "--dport", "53", "-j", "ACCEPT"}, tag...)},
		{"filter", "INPUT", append([]string{"-i", bridge, "-p", "tcp", "--dport", "53", "-j", "ACCEPT"}, tag...)},
		{"nat", "POSTROUTING", append([]string{"-s", subnet, "!", "-o", bridge, "-j", "MASQUERADE"}, tag...)},
		{"nat", "POSTROUTING", append([]string{"-o", bridge, "-m", "addrtype", "--src-type", "LOCAL", "-j", "MASQUERADE"}, tag...)},
		{"filter", "FORWARD", append([]string{"-i", bridge, "-j", "ACCEPT"}, tag...)},
		{"filter", "FORWARD", append([]string{"-o", bridge, "-j", "ACCEPT"}, tag...)},
	}
}

// PortRules publish one port: packets to HostPort at a local address of the host (or at
// p.HostIP alone), coming in from elsewhere (PREROUTING) or made on the host itself (OUTPUT),
// are sent to ContainerPort at the container's address ip. Each carries the comment
// mydocker:port:<containerID>, so that iptables -S says whose it is. The same mapping always
// gives the same rules: they are deleted by being given again.
func PortRules(containerID, ip string, p PortMapping) []Rule {
	tag := comment("port:" + containerID)
	dest := []string{"-m", "addrtype", "--dst-type", "LOCAL"}
	if p.HostIP != "" {
		dest = []string{"-d", p.HostIP}
	}
	dnat := append(append([]string{"-p", p.Proto}, dest...), "--dport", strconv.Itoa(int(p.HostPort)),
		"-j", "DNAT", "--to-destination", ip+":"+strconv.Itoa(int(p.ContainerPort)))
	return []Rule{
		{"nat", "PREROUTING", append(append([]string{}, dnat...), tag...)},
		{"nat", "OUTPUT", append(append([]string{}, dnat...), tag...)},
	}
}
