// Command ch11 is chapter 11's engine: chapter 10's, and published ports — run -p
// [HOSTIP:]HOSTPORT:CONTAINERPORT[/udp] makes a port of the host reach the container's, for
// the host itself and for other machines, by rewriting the packets' destination (DNAT).
//
//	ch11 [--root DIR] run --net NAME -p [HOSTIP:]HOSTPORT:CONTAINERPORT[/tcp|udp] ... IMAGE [COMMAND [ARG...]]
package main

import (
	"github.com/mydocker/mydocker/chapters/internal/lab"
	"github.com/mydocker/mydocker/mydocker/commands"

	// The program is its own names resolver, run again as mydocker-dns: built with -tags lab,
	// it answers with the learner's Lookup.
	_ "github.com/mydocker/mydocker/network/resolver"
)

func main() {
	lab.Use(11) // with -tags lab: the learner's functions of labs 01 to 11
	commands.Program{Name: "ch11", Chapter: 11}.Main()
}
