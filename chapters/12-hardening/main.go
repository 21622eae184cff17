// Command ch12 is chapter 12's engine: mydocker as part 2 of the course leaves it (part 3's
// chapters add images that travel), whose containers are confined by default — Docker's
// capabilities, no_new_privs on request, Docker's seccomp profile, the device controller, no
// file descriptor of the caller's — and which --cap-add, --cap-drop, --privileged,
// --security-opt, --device and --ulimit adjust.
//
//	ch12 [--root DIR] run [--cap-add CAP] [--cap-drop CAP] [--privileged] [--security-opt OPT] ... IMAGE [COMMAND [ARG...]]
package main

import (
	"github.com/mydocker/mydocker/chapters/internal/lab"
	"github.com/mydocker/mydocker/mydocker/commands"

	// The program is its own names resolver, run again as mydocker-dns: built with -tags lab,
	// it answers with the learner's Lookup.
	_ "github.com/mydocker/mydocker/network/resolver"
)

func main() {
	lab.Use(12) // with -tags lab: the learner's functions of labs 01 to 12
	commands.Program{Name: "ch12", Chapter: 12}.Main()
}
