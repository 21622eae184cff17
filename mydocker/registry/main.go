// Command mydocker-registry is what mydocker's pull, push, login and logout run: the registry
// client in a program of its own (see package registrycli). make builds it beside mydocker.
package main

import (
	"os"

	"github.com/mydocker/mydocker/mydocker/registrycli"
)

func main() { registrycli.Main(os.Args[1:]) }
