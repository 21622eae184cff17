// Command mydocker is a small Docker-compatible container engine: the command line of package
// commands over the engine.
package main

import "github.com/mydocker/mydocker/mydocker/commands"

func main() { commands.Mydocker.Main() }
