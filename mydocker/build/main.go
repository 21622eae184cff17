// Command mydocker-build is what mydocker's build runs: the builder (package engine/build)
// with buildkit's Dockerfile parser, in a program of its own, so that mydocker itself does not
// link the parser and the ten modules it brings (protobuf among them): they would add 4 MB to
// mydocker and their start to every command's.
//
//	mydocker-build ROOT REQUEST   (REQUEST: mydocker/commands.BuildRequest as JSON)
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/engine"
	"github.com/mydocker/mydocker/mydocker/buildcli"
	"github.com/mydocker/mydocker/mydocker/commands"
)

func main() {
	// The RUN containers' inits are mydocker-init, beside this program, where make builds
	// it; without it this program serves as their init.
	if exe, err := os.Executable(); err == nil {
		if init := filepath.Join(filepath.Dir(exe), "mydocker-init"); isExecutable(init) {
			container.UseHelper(init)
		}
	}
	if engine.Reexec() {
		return
	}
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: mydocker-build ROOT REQUEST (mydocker build runs it)")
		os.Exit(125)
	}
	var req commands.BuildRequest
	if err := json.Unmarshal([]byte(os.Args[2]), &req); err != nil {
		fmt.Fprintf(os.Stderr, "mydocker-build: the request: %v\n", err)
		os.Exit(125)
	}
	os.Exit(buildcli.Run(os.Args[1], req))
}

func isExecutable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}
