// Command mydocker-init is the program mydocker starts as a container's init and as the
// parent of an exec'd process: the runtime's re-executed roles and nothing else, so that it
// starts in a fraction of the time the whole engine would (see container.UseHelper). make
// installs it beside mydocker, which finds it there.
package main

import (
	"fmt"
	"os"

	"github.com/mydocker/mydocker/container"
)

func main() {
	if !container.Reexec() {
		fmt.Fprintln(os.Stderr, "mydocker-init: mydocker starts this program for its containers; it is not run by hand")
		os.Exit(125)
	}
}
