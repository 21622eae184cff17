// Command mydocker-serve serves the Docker Engine API over mydocker (package api, its command
// line package servecli): what mydocker system service runs, so that mydocker itself links no
// HTTP server or API types. make builds it beside mydocker.
//
//	mydocker-serve [--root DIR] [--time SECONDS] [--insecure-registry R]... [--group G] [--tlsverify --tlscacert F --tlscert F --tlskey F] [URI]
package main

import (
	"os"

	"github.com/mydocker/mydocker/engine"
	"github.com/mydocker/mydocker/mydocker/servecli"
	// The names resolver: this server answers the names of its user networks itself, and
	// mydocker runs it as its resolver where mydocker-dns is missing.
	_ "github.com/mydocker/mydocker/network/resolver"
)

func main() {
	// The engine's re-executed roles first: the monitors of the containers it starts, and its
	// names resolver, are this binary again.
	engine.UseHelpers()
	if engine.Reexec() {
		return
	}
	os.Exit(servecli.Run("mydocker-serve", os.Args[1:]))
}
