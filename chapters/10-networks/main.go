// Command ch10 is chapter 10's engine: chapter 09's, and bridge networks — a Linux bridge on
// the host per network, a veth pair per container with one end moved into the container's
// network namespace, an address from the network's pool, a default route through the bridge,
// and NAT to reach beyond the host.
//
//	ch10 [--root DIR] network create [--subnet CIDR] [--gateway IP] NAME | network ls | network rm NAME
//	ch10 [--root DIR] run --net NAME|bridge|host|none ... IMAGE [COMMAND [ARG...]]
package main

import (
	"github.com/mydocker/mydocker/chapters/internal/lab"
	"github.com/mydocker/mydocker/mydocker/commands"

	// The program is its own names resolver, run again as mydocker-dns: built with -tags lab,
	// it answers with the learner's Lookup.
	_ "github.com/mydocker/mydocker/network/resolver"
)

func main() {
	lab.Use(10) // with -tags lab: the learner's functions of labs 01 to 10
	commands.Program{Name: "ch10", Chapter: 10}.Main()
}
