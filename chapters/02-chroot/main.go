// Command ch02 is chapter 02's engine: chapter 01's namespaces, now with a root filesystem of
// its own — a directory (busybox, unpacked) made the container's "/" by chroot.
//
//	ch02 run ROOTFS COMMAND [ARG...]
package main

import (
	"fmt"
	"os"
	"path/filepath"

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
	if len(args) < 2 {
		return 0, fmt.Errorf("run wants ROOTFS COMMAND [ARG...]")
	}
	rootfs, err := filepath.Abs(args[0])
	if err != nil {
		return 0, err
	}
	spec := &specs.Spec{
		Hostname: "container",
		Root:     &specs.Root{Path: rootfs},
		Process: &specs.Process{
			// Looked up in the container's PATH, inside the new root.
			Args: args[1:],
			Env:  []string{container.DefaultPath, "TERM=" + os.Getenv("TERM")},
			Cwd:  "/",
		},
		// Below the root: ROOTFS/proc becomes the container's /proc.
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		},
		Linux: &specs.Linux{
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.UTSNamespace},
				{Type: specs.PIDNamespace},
				{Type: specs.MountNamespace},
				{Type: specs.IPCNamespace},
				{Type: specs.NetworkNamespace},
			},
		},
	}
	// NoPivot: chroot (see container.MoveRoot); pivot_root comes in chapter 03.
	bundle := &container.Bundle{Spec: spec, NoPivot: true}
	return container.RunBundle(container.NewID(), bundle, chapter.Stdio())
}
