package network

import "strconv"

// rule is one iptables rule: the table, the chain and the arguments that follow -A.
type rule struct {
	table, chain string
	args         []string
}

func comment(tag string) []string { return []string{"-m", "comment", "--comment", "mydocker:" + tag} }

// networkRules are what a bridge network needs: its traffic forwarded, and what leaves for
// elsewhere rewritten to the host's address; and traffic from the host itself to a published
// port at 127.0.0.1 rewritten to come from the bridge (localhost cannot be a source on it).
//
// That last needs route_localnet on the bridge, which also lets a container send packets to
// 127.0.0.1 of the host — reaching services that listen on the host's loopback only
// (CVE-2020-8558). The first rule drops those, as Docker and kube-proxy do; replies to
// connections the host made stay allowed.
func networkRules(name, bridge, subnet string) []rule {
	tag := comment("net:" + name)
	return []rule{
		{"filter", "INPUT", append([]string{"-i", bridge, "-d", "127.0.0.0/8", "-m", "conntrack", "!", "--ctstate", "RELATED,ESTABLISHED", "-j", "DROP"}, tag...)},
		{"nat", "POSTROUTING", append([]string{"-s", subnet, "!", "-o", bridge, "-j", "MASQUERADE"}, tag...)},
		{"nat", "POSTROUTING", append([]string{"-o", bridge, "-m", "addrtype", "--src-type", "LOCAL", "-j", "MASQUERADE"}, tag...)},
		{"filter", "FORWARD", append([]string{"-i", bridge, "-j", "ACCEPT"}, tag...)},
		{"filter", "FORWARD", append([]string{"-o", bridge, "-j", "ACCEPT"}, tag...)},
	}
}

// portRules publish one port: packets to a local address of the host at HostPort, coming in
// (PREROUTING) or made on the host itself (OUTPUT), go to the container.
func portRules(containerID, ip string, p PortMapping) []rule {
	tag := comment("port:" + containerID)
	dnat := []string{"-p", p.Proto, "-m", "addrtype", "--dst-type", "LOCAL", "--dport", strconv.Itoa(int(p.HostPort)),
		"-j", "DNAT", "--to-destination", ip + ":" + strconv.Itoa(int(p.ContainerPort))}
	return []rule{
		{"nat", "PREROUTING", append(append([]string{}, dnat...), tag...)},
		{"nat", "OUTPUT", append(append([]string{}, dnat...), tag...)},
	}
}
