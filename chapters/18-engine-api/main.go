// Command ch18 is chapter 18's engine: the engine's command line, and the Docker Engine API
// beside it, so that the real docker CLI drives the same engine. system service serves the API
// on a socket in this process (servecli, the command line mydocker-serve has): each request is
// decoded, served by the engine the command line calls, and answered — the streams of attach,
// logs and exec framed by the learner's WriteFrame when the program is built with -tags lab.
//
//	ch18 [--root DIR] system service [--time SECONDS] [URI]
//	DOCKER_HOST=unix://PATH docker run|ps|logs|exec|rm ...
package main

import (
	"github.com/mydocker/mydocker/chapters/internal/lab"
	"github.com/mydocker/mydocker/mydocker/buildcli"
	"github.com/mydocker/mydocker/mydocker/commands"
	"github.com/mydocker/mydocker/mydocker/servecli"

	// The program is its own names resolver, run again as mydocker-dns: built with -tags lab,
	// it answers with the learner's Lookup.
	_ "github.com/mydocker/mydocker/network/resolver"
)

func main() {
	lab.Use(18) // with -tags lab: the learner's functions of labs 01 to 18
	commands.Program{Name: "ch18", Chapter: 18, Build: buildcli.Run, Serve: serve}.Main()
}

// serve is system service, in this process: the server runs the learner's code.
func serve(args []string) int { return servecli.Run("ch18", args) }
