// Command ch08 is chapter 08's engine, and the first chapter that is the engine's own command
// line: containers that outlive the command that started them (run -d), watched by a monitor
// process, with their state on disk, their output in json-file logs, and ps, logs, stop,
// kill, wait, rm and inspect over them. Chapters 05 to 07's image commands come along.
//
//	ch08 [--root DIR] run -d [--name NAME] IMAGE [COMMAND [ARG...]]
//	ch08 [--root DIR] ps [-a] | logs [-f] NAME | stop NAME | kill NAME | wait NAME | rm [-f] NAME
package main

import (
	"github.com/mydocker/mydocker/chapters/internal/lab"
	"github.com/mydocker/mydocker/mydocker/commands"

	// The program is its own names resolver, run again as mydocker-dns: built with -tags lab,
	// it answers with the learner's Lookup.
	_ "github.com/mydocker/mydocker/network/resolver"
)

func main() {
	lab.Use(8) // with -tags lab: the learner's functions of labs 01 to 08
	commands.Program{Name: "ch08", Chapter: 8}.Main()
}
