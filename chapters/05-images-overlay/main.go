// Command ch05 is chapter 05's engine: images in a layered, content-addressed store, and
// containers that run on a copy-on-write overlay of them, so the image is never changed.
//
//	ch05 [--root DIR] import TARBALL NAME
//	ch05 [--root DIR] images
//	ch05 [--root DIR] run [-m BYTES] [--cpus N] ... [--driver overlay|aufs|vfs] IMAGE [COMMAND [ARG...]]
package main

import (
	"flag"
	"fmt"

	"github.com/mydocker/mydocker/cgroups"
	"github.com/mydocker/mydocker/chapters/internal/chapter"
	"github.com/mydocker/mydocker/container"
)

var root string

func main() {
	global := flag.NewFlagSet("ch05", flag.ExitOnError)
	global.StringVar(&root, "root", "/var/lib/mydocker", "directory of the image store")
	commands := chapter.ImageCommands(&root)
	commands["run"] = chapter.Command{Usage: "[OPTIONS] IMAGE [COMMAND [ARG...]]", Run: run}
	chapter.Main("ch05", global, commands)
}

func run(args []string) (int, error) {
	flags := flag.NewFlagSet("ch05 run", flag.ContinueOnError)
	limits := chapter.LimitFlags(flags)
	driver := flags.String("driver", "", "storage driver: overlay, aufs or vfs (default: the first the kernel has)")
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
	opts := &container.Options{Image: flags.Arg(0), Cmd: flags.Args()[1:], Resources: resources, Driver: *driver}
	return chapter.RunImage(root, opts)
}
