// Command ch02 is chapter 02's engine: chapter 01's namespaces, now with a root filesystem of
// its own — a directory (busybox, unpacked) made the container's "/" by chroot.
//
//	ch02 run ROOTFS COMMAND [ARG...]
package main

import (
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/mydocker/mydocker/chapters/internal/chapter"
	"github.com/mydocker/mydocker/container"
)

func main() {
	chapter.Main("ch02", nil, map[string]chapter.Command{
		"run": {Usage: "ROOTFS COMMAND [ARG...]", Run: run},
	})
}

func run(args []string) (int, error) {
	rootfs, cmd, err := chapter.RootfsArgs(args)
	if err != nil {
		return 0, err
	}
	// Chapter 01's five namespaces and /proc, as the engine's defaults have them.
	defaults := container.DefaultSpec()
	spec := &specs.Spec{
		Hostname: "container",
		Root:     &specs.Root{Path: rootfs},
		Process: &specs.Process{
			// Looked up in the container's PATH, inside the new root.
			Args: cmd,
			Env:  []string{container.DefaultPath, "TERM=" + os.Getenv("TERM")},
			Cwd:  "/",
		},
		// Below the root: ROOTFS/proc becomes the container's /proc.
		Mounts: defaults.Mounts[:1],
		Linux:  &specs.Linux{Namespaces: defaults.Linux.Namespaces},
	}
	// NoPivot: chroot (see container.MoveRoot); pivot_root comes in chapter 03.
	bundle := &container.Bundle{Spec: spec, NoPivot: true}
	return container.RunBundle(container.NewID(), bundle, chapter.Stdio())
}
