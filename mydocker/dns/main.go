// Command mydocker-dns is the names resolver of a mydocker root (package network/resolver): the
// engine starts it with the first container on a user network. A program of its own, so that
// mydocker links no DNS server and the TLS stack it brings: they would add 5 MB to mydocker
// and their start to every command's. make builds it beside mydocker.
//
//	mydocker-dns start|serve DNSDIR   (started by the engine, with a pipe on fd 3)
package main

import "github.com/mydocker/mydocker/network/resolver"

func main() { resolver.Main() }
