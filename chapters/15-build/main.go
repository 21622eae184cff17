// Command ch15 is chapter 15's engine: the complete engine of chapter 12 and mydocker build,
// run in this program (commands.Program.Build): each RUN a container of the engine, each COPY
// a layer from the context, the cache asked before each step. Built with -tags lab, the
// builder hashes what COPY copies and looks up the cache with the learner's lab 15 functions.
//
//	ch15 [--root DIR] build [-t NAME] [-f FILE] [--build-arg K=V] [--no-cache] [-q] PATH | -
package main

import (
	"github.com/mydocker/mydocker/chapters/internal/lab"
	"github.com/mydocker/mydocker/mydocker/buildcli"
	"github.com/mydocker/mydocker/mydocker/commands"

	// The program is its own names resolver, run again as mydocker-dns: built with -tags lab,
	// it answers with the learner's Lookup.
	_ "github.com/mydocker/mydocker/network/resolver"
)

func main() {
	lab.Use(15) // with -tags lab: the learner's functions of labs 01 to 15
	commands.Program{Name: "ch15", Chapter: 15, Build: buildcli.Run}.Main()
}
