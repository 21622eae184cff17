// Command ch04 is chapter 03's engine under resource limits: memory, CPU, cpuset and pids
// cgroups, on cgroup v1 and v2 alike, removed when the container exits.
//
//	ch04 run [-m BYTES] [--cpus N] [--cpu-shares N] [--cpuset-cpus LIST] [--pids-limit N] ROOTFS COMMAND [ARG...]
package main

import (
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/mydocker/mydocker/chapters/internal/chapter"
	"github.com/mydocker/mydocker/container"
)

func main() {
	chapter.Main("ch04", nil, map[string]chapter.Command{
		"run": {Usage: "[OPTIONS] ROOTFS COMMAND [ARG...]", Run: run},
	})
}

func run(args []string) (int, error) {
	// The limits become opts.Resources (cgroups.ParseResources, Docker's flags and errors).
	opts, args, err := chapter.NewRunFlags("ch04 run", false).Parse(args, 2, "ROOTFS COMMAND [ARG...]")
	if err != nil {
		return 0, err
	}
	rootfs, cmd, err := chapter.RootfsArgs(args)
	if err != nil {
		return 0, err
	}
	id := container.NewID()
	opts.Cmd = cmd
	// Resources go into the spec's linux.resources; RunBundle makes the cgroups from them.
	spec, _, err := opts.Spec(id, ocispec.ImageConfig{})
	if err != nil {
		return 0, err
	}
	spec.Root.Path = rootfs
	return container.RunBundle(id, &container.Bundle{Spec: spec}, chapter.Stdio())
}
