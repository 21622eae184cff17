// Command ch06 is chapter 06's engine: chapter 05's containers, with host directories (or
// files) bind-mounted into them by -v HOST:CONTAINER[:ro], the one place the container's
// writes outlive it.
//
//	ch06 [--root DIR] import TARBALL NAME
//	ch06 [--root DIR] images
//	ch06 [--root DIR] run [-v HOST:CONTAINER[:ro]]... [-m BYTES] ... IMAGE [COMMAND [ARG...]]
package main

import (
	"flag"
	"fmt"

	"github.com/mydocker/mydocker/cgroups"
	"github.com/mydocker/mydocker/chapters/internal/chapter"
	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/workspace"
)

var root string

func main() {
	global := flag.NewFlagSet("ch06", flag.ExitOnError)
	global.StringVar(&root, "root", "/var/lib/mydocker", "directory of the image store")
	commands := chapter.ImageCommands(&root)
	commands["run"] = chapter.Command{Usage: "[OPTIONS] IMAGE [COMMAND [ARG...]]", Run: run}
	chapter.Main("ch06", global, commands)
}

func run(args []string) (int, error) {
	flags := flag.NewFlagSet("ch06 run", flag.ContinueOnError)
	limits := chapter.LimitFlags(flags)
	driver := flags.String("driver", "", "storage driver: overlay, aufs or vfs (default: the first the kernel has)")
	opts := &container.Options{}
	// Each -v is checked as it is parsed and becomes one bind mount of the spec.
	flags.Func("v", "bind mount a volume: HOST:CONTAINER[:ro]", func(s string) error {
		m, err := workspace.ParseVolume(s)
		opts.Mounts = append(opts.Mounts, m)
		return err
	})
	if err := flags.Parse(args); err != nil {
		return 0, err
	}
	if flags.NArg() < 1 {
		return 0, fmt.Errorf("run wants IMAGE [COMMAND [ARG...]]")
	}
	resources, err := cgroups.ParseResources(*limits)
	if err != nil {
		return 0, err
	}
	opts.Image, opts.Cmd, opts.Resources, opts.Driver = flags.Arg(0), flags.Args()[1:], resources, *driver
	return chapter.RunImage(root, opts)
}
