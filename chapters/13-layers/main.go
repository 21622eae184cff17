// Command ch13 is chapter 13's engine: chapter 12's, and images that travel as files. save
// writes images as docker save does (manifest.json, each config and each layer's tar) or as an
// OCI image layout (index.json, a manifest, blobs named by their digests); load reads either
// back, every layer checked against the diff id its config gives it; history tells how an
// image was made. A layer leaves as the very tar it came in as, so an image keeps its id.
//
//	ch13 [--root DIR] save [--format docker|oci] [-o FILE] IMAGE...
//	ch13 [--root DIR] load [-i FILE]
//	ch13 [--root DIR] history IMAGE
package main

import (
	"github.com/mydocker/mydocker/chapters/internal/lab"
	"github.com/mydocker/mydocker/mydocker/commands"

	// The program is its own names resolver, run again as mydocker-dns: built with -tags lab,
	// it answers with the learner's Lookup.
	_ "github.com/mydocker/mydocker/network/resolver"
)

func main() {
	lab.Use(13) // with -tags lab: the learner's functions of labs 01 to 13
	commands.Program{Name: "ch13", Chapter: 13}.Main()
}
