// Command ch09 is chapter 09's engine: chapter 08's, and exec, which runs another process in
// a running container — its namespaces joined, its cgroups joined, its root, user,
// environment and working directory — as docker exec does.
//
//	ch09 [--root DIR] exec [-i] [-t] [-e KEY=VALUE] [-w DIR] [-u USER] CONTAINER COMMAND [ARG...]
package main

import (
	"github.com/mydocker/mydocker/chapters/internal/lab"
	"github.com/mydocker/mydocker/mydocker/commands"

	// The program is its own names resolver, run again as mydocker-dns: built with -tags lab,
	// it answers with the learner's Lookup.
	_ "github.com/mydocker/mydocker/network/resolver"
)

func main() {
	lab.Use(9) // with -tags lab: the learner's functions of labs 01 to 09
	commands.Program{Name: "ch09", Chapter: 9}.Main()
}
