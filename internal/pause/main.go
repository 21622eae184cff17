// Command pause is a pod's sandbox process, as Kubernetes' pause image holds it: it keeps the
// pod's namespaces alive while the pod's containers come and go, and does nothing else. As
// the PID 1 of a pod that shares its PID namespace, it reaps the orphans that reach it. It
// exits on SIGINT or SIGTERM (containerd stops a sandbox with SIGKILL).
//
// The CRI tests build it (static, CGO_ENABLED=0) into a one-file image and import that into
// containerd as the sandbox image: no test downloads an image.
package main

import (
	"os"
	"os/signal"

	"golang.org/x/sys/unix"
)

func main() {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, unix.SIGINT, unix.SIGTERM, unix.SIGCHLD)
	for sig := range sigs {
		if sig != unix.SIGCHLD {
			os.Exit(0)
		}
		for {
			pid, err := unix.Wait4(-1, nil, unix.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
