// Command mydocker-registry is what mydocker's pull and push run: the registry client
// (package workspace/registry) in a program of its own, so that mydocker itself links no HTTP
// or TLS and starts as fast without it. make builds it beside mydocker.
//
//	mydocker-registry ROOT pull|push REF [-q]
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/mydocker/mydocker/workspace"
	"github.com/mydocker/mydocker/workspace/registry"
)

func main() {
	if len(os.Args) < 4 || (os.Args[2] != "pull" && os.Args[2] != "push") {
		fmt.Fprintln(os.Stderr, "usage: mydocker-registry ROOT pull|push REF [-q] (mydocker pull and push run it)")
		os.Exit(125)
	}
	root, op, ref := os.Args[1], os.Args[2], os.Args[3]
	var progress io.Writer = os.Stdout
	if len(os.Args) > 4 && os.Args[4] == "-q" {
		progress = io.Discard
	}
	store, err := workspace.Open(root)
	if err != nil {
		fail(err)
	}
	if op == "pull" {
		d, err := registry.Pull(store, root, ref, progress)
		if err != nil {
			fail(err)
		}
		fmt.Fprintln(progress, "Digest: "+d.String())
		fmt.Println(ref)
		return
	}
	if _, err := registry.Push(store, root, ref, progress); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "mydocker:", err)
	os.Exit(1)
}
