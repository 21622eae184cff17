// Command ch14 is chapter 14's engine: chapter 12's, and registries — push sends an image's
// layers, then its config and its manifest, to a registry over the Distribution API; pull
// fetches them back, skipping the layers the store has, checking every blob against its
// digest before its layer is committed; login keeps credentials where docker login does.
//
//	ch14 [--root DIR] [--insecure-registry R] pull|push NAME[:TAG] | login [-u USER] [--password-stdin] [SERVER] | logout [SERVER]
//
// The program is its own registry client: pull and push run it again as mydocker-registry
// (mydocker runs the mydocker-registry make builds beside it), so that built with -tags lab it
// checks the blobs it pulls with the learner's VerifyBlob.
package main

import (
	"os"

	"github.com/mydocker/mydocker/chapters/internal/lab"
	"github.com/mydocker/mydocker/mydocker/commands"
	"github.com/mydocker/mydocker/mydocker/registrycli"

	// The program is its own names resolver, run again as mydocker-dns: built with -tags lab,
	// it answers with the learner's Lookup.
	_ "github.com/mydocker/mydocker/network/resolver"
)

func main() {
	lab.Use(14) // with -tags lab: the learner's functions of labs 01 to 14
	if registrycli.Reexecuted() {
		registrycli.Main(os.Args[1:])
	}
	commands.Program{Name: "ch14", Chapter: 14, SelfRegistry: true}.Main()
}
