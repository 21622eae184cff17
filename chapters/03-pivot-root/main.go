// Command ch03 is chapter 03's engine: the container gets the full default spec — /dev with
// the standard device nodes, /sys, /dev/pts, /dev/shm, masked kernel files — and its root is
// made by pivot_root, which leaves nothing of the host's filesystem behind.
//
//	ch03 run ROOTFS COMMAND [ARG...]
package main

import (
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/mydocker/mydocker/chapters/internal/chapter"
	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/runconfig"
)

func main() {
	chapter.Main("ch03", nil, map[string]chapter.Command{
		"run": {Usage: "ROOTFS COMMAND [ARG...]", Run: run},
	})
}

func run(args []string) (int, error) {
	rootfs, cmd, err := chapter.RootfsArgs(args)
	if err != nil {
		return 0, err
	}
	// runconfig.Options.Spec starts from container.DefaultSpec, the same shape `runc spec` prints.
	id := container.NewID()
	opts := &runconfig.Options{Cmd: cmd, Security: runconfig.Unconfined()}
	spec, _, err := opts.Spec(id, ocispec.ImageConfig{})
	if err != nil {
		return 0, err
	}
	spec.Root.Path = rootfs
	return container.RunBundle(id, &container.Bundle{Spec: spec}, chapter.Stdio())
}
