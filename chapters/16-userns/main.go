// Command ch16 is chapter 16's engine: chapter 13's, whose containers can have a user
// namespace of their own, and which an ordinary user can run. As root, --userns-remap USER
// makes every container's root one of USER's subordinate ids, an unprivileged uid on the host
// (run --userns=host opts one out); run by a user with a range in /etc/subuid, it runs rootless:
// its own store in the user's home, its containers' root the user itself, their network
// user-mode (slirp4netns).
//
//	ch16 [--root DIR] [--userns-remap default|USER[:GROUP]] run [--userns host] IMAGE ...
//	ch16 doctor      (as a user: what rootless needs that is missing)
package main

import (
	"github.com/mydocker/mydocker/chapters/internal/lab"
	"github.com/mydocker/mydocker/mydocker/commands"

	// The program is its own names resolver, run again as mydocker-dns: built with -tags lab,
	// it answers with the learner's Lookup.
	_ "github.com/mydocker/mydocker/network/resolver"
)

func main() {
	lab.Use(16) // with -tags lab: the learner's functions of labs 01 to 16
	commands.Program{Name: "ch16", Chapter: 16}.Main()
}
