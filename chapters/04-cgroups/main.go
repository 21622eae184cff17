// Command ch04 is chapter 03's engine under resource limits: memory, CPU, cpuset and pids
// cgroups, on cgroup v1 and v2 alike, removed when the container exits.
//
//	ch04 run [-m BYTES] [--cpus N] [--cpu-shares N] [--cpuset-cpus LIST] [--pids-limit N] ROOTFS COMMAND [ARG...]
package main

import (
	"flag"
	"fmt"
	"path/filepath"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/mydocker/mydocker/cgroups"
	"github.com/mydocker/mydocker/chapters/internal/chapter"
	"github.com/mydocker/mydocker/container"
)

func main() {
	chapter.Main("ch04", nil, map[string]chapter.Command{
		"run": {Usage: "[OPTIONS] ROOTFS COMMAND [ARG...]", Run: run},
	})
}

func run(args []string) (int, error) {
	flags := flag.NewFlagSet("ch04 run", flag.ContinueOnError)
	limits := chapter.LimitFlags(flags)
	if err := flags.Parse(args); err != nil {
		return 0, err
	}
	if flags.NArg() < 2 {
		return 0, fmt.Errorf("run wants ROOTFS COMMAND [ARG...]")
	}
	// Checked before anything is made: a bad value leaves nothing to undo.
	resources, err := cgroups.ParseResources(*limits)
	if err != nil {
		return 0, err
	}
	rootfs, err := filepath.Abs(flags.Arg(0))
	if err != nil {
		return 0, err
	}
	id := container.NewID()
	// Resources become the spec's linux.resources; RunBundle makes the cgroups from them.
	opts := &container.Options{Cmd: flags.Args()[1:], Resources: resources}
	spec, _, err := opts.Spec(id, ocispec.ImageConfig{})
	if err != nil {
		return 0, err
	}
	spec.Root.Path = rootfs
	return container.RunBundle(id, &container.Bundle{Spec: spec}, chapter.Stdio())
}
