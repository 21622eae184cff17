// Command mydocker-runc is the runtime (package container) behind runc's command line (package
// runccli), so that the engines people run at scale can drive it: containerd's shim (ctr run
// --runc-binary, Kubernetes through CRI) and dockerd (--add-runtime). make builds it beside
// mydocker.
package main

import "github.com/mydocker/mydocker/mydocker/runccli"

func main() {
	runccli.Program{Name: "mydocker-runc", Helper: true, DefaultRoot: "/run/mydocker-runc"}.Main()
}
