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

	"github.com/mydocker/mydocker/chapters/internal/chapter"
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
	flags := chapter.NewRunFlags("ch06 run", true)
	volumes := flags.Volumes()
	opts, args, err := flags.Parse(args, 1, "IMAGE [COMMAND [ARG...]]")
	if err != nil {
		return 0, err
	}
	opts.Cmd, opts.Mounts = args[1:], *volumes
	return chapter.RunImage(root, args[0], flags.Driver, opts)
}
