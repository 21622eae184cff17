//go:build solution

package ports

import "github.com/mydocker/mydocker/network"

// The reference: the network package's own function.

func PortRules(containerID, ip string, p network.PortMapping) []network.Rule {
	return network.PortRules(containerID, ip, p)
}
