// Command ch17 is chapter 17's program: the runtime alone, behind runc's command line, as an
// engine drives it — create leaves the container's init waiting on its exec fifo, start lets
// its command run, state says where it is, kill signals it, delete removes it; exec, ps, list,
// spec, pause, resume, update and events beside them. containerd's shim drives it as it drives
// runc (ctr run --runc-binary), and so does the runtime-tools suite that grades it.
//
//	ch17 [--root DIR] create --bundle DIR [--pid-file F] [--console-socket S] ID | start ID | state ID | kill ID [SIGNAL] | delete [-f] ID
package main

import (
	"github.com/mydocker/mydocker/chapters/internal/lab"
	"github.com/mydocker/mydocker/mydocker/runccli"
)

func main() {
	lab.Use(17) // with -tags lab: the learner's functions of labs 01 to 17
	runccli.Program{Name: "ch17", DefaultRoot: "/run/ch17"}.Main()
}
