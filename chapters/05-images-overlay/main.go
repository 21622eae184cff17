// Command ch05 is chapter 05's engine: images in a layered, content-addressed store, and
// containers that run on a copy-on-write overlay of them, so the image is never changed.
//
//	ch05 [--root DIR] import TARBALL NAME
//	ch05 [--root DIR] images
//	ch05 [--root DIR] run [-m BYTES] [--cpus N] ... [--driver overlay|aufs|vfs] IMAGE [COMMAND [ARG...]]
package main

import (
	"flag"

	"github.com/mydocker/mydocker/chapters/internal/chapter"
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
	flags := chapter.NewRunFlags("ch05 run", true)
	opts, args, err := flags.Parse(args, 1, "IMAGE [COMMAND [ARG...]]")
	if err != nil {
		return 0, err
	}
	opts.Cmd = args[1:]
	return chapter.RunImage(root, args[0], flags.Driver, opts)
}
