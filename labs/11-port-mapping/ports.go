//go:build !solution

package ports

import "github.com/mydocker/mydocker/network"

// PortRules returns the iptables rules that publish port p of the container whose address is
// ip: a TCP (or UDP, p.Proto) packet to p.HostPort at any local address of the host — or at
// p.HostIP only, when it is set — is rewritten (DNAT) to go to ip:p.ContainerPort. Packets
// come from two places: from other machines and containers, through the nat table's
// PREROUTING chain, and from the host itself (curl localhost:8080), through its OUTPUT chain.
// Each rule ends with the comment -m comment --comment mydocker:port:<containerID>. The engine
// adds the rules when the container starts and deletes them by giving the same rules again
// when it ends: the same arguments must give the same rules.
func PortRules(containerID, ip string, p network.PortMapping) []network.Rule {
	panic("not implemented: write PortRules in labs/11-port-mapping/ports.go")
}
