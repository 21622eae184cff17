// Command ch07 is chapter 07's engine: chapter 06's containers, and a container named with
// --name keeps its writable layer when it exits, to be read three ways: as an OCI layer tar
// (its changes, deletions as .wh. whiteouts), as a new image on top of its own (commit), or
// flattened with its image into one tree (export).
//
//	ch07 [--root DIR] import TARBALL NAME | images
//	ch07 [--root DIR] run [--name NAME] [-v HOST:CONTAINER[:ro]]... [-m BYTES] ... IMAGE [COMMAND [ARG...]]
//	ch07 [--root DIR] diff NAME > layer.tar
//	ch07 [--root DIR] commit NAME IMAGE
//	ch07 [--root DIR] export NAME > rootfs.tar
//	ch07 [--root DIR] rm NAME
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/mydocker/mydocker/chapters/internal/chapter"
	"github.com/mydocker/mydocker/workspace"
)

var root string

func main() {
	global := flag.NewFlagSet("ch07", flag.ExitOnError)
	global.StringVar(&root, "root", "/var/lib/mydocker", "directory of the image store")
	commands := chapter.ImageCommands(&root)
	commands["run"] = chapter.Command{Usage: "[--name NAME] [OPTIONS] IMAGE [COMMAND [ARG...]]", Run: run}
	commands["diff"] = chapter.Command{Usage: "NAME > layer.tar", Run: diff}
	commands["commit"] = chapter.Command{Usage: "NAME IMAGE", Run: commit}
	commands["export"] = chapter.Command{Usage: "NAME > rootfs.tar", Run: export}
	commands["rm"] = chapter.Command{Usage: "NAME", Run: rm}
	chapter.Main("ch07", global, commands)
}

func run(args []string) (int, error) {
	flags := chapter.NewRunFlags("ch07 run", true)
	name := flags.String("name", "", "keep the container's layer under this name when it exits")
	volumes := flags.Volumes()
	opts, args, err := flags.Parse(args, 1, "IMAGE [COMMAND [ARG...]]")
	if err != nil {
		return 0, err
	}
	opts.Cmd, opts.Mounts = args[1:], *volumes
	return chapter.RunKept(root, *name, args[0], flags.Driver, opts)
}

// diff writes the container's writable layer as an OCI layer tar: what it added or changed,
// and a .wh. entry for what it deleted.
func diff(args []string) (int, error) {
	return withKept("diff NAME", args, 1, func(store *workspace.Store, c *chapter.Kept) error {
		changes, err := c.Driver.Changes(c.Dir, c.Layers)
		if err != nil {
			return err
		}
		defer changes.Close()
		_, err = io.Copy(os.Stdout, changes)
		return err
	})
}

// commit stores that layer as a new image: the container's image, one layer higher.
func commit(args []string) (int, error) {
	return withKept("commit NAME IMAGE", args, 2, func(store *workspace.Store, c *chapter.Kept) error {
		changes, err := c.Driver.Changes(c.Dir, c.Layers)
		if err != nil {
			return err
		}
		defer changes.Close()
		img, err := store.Commit(c.Image, changes, args[1], c.Image.Config.Config, "ch07 commit "+args[0])
		if err != nil {
			return err
		}
		fmt.Println(img.ID)
		return nil
	})
}

// export writes the container's whole filesystem, its image's layers and its own merged, as
// one tar: what docker export gives, a rootfs with no history and no whiteouts.
func export(args []string) (int, error) {
	return withKept("export NAME", args, 1, func(store *workspace.Store, c *chapter.Kept) error {
		return c.Driver.Export(c.Dir, c.Layers, os.Stdout)
	})
}

func rm(args []string) (int, error) {
	return withKept("rm NAME", args, 1, func(store *workspace.Store, c *chapter.Kept) error {
		return c.Driver.Remove(c.Dir)
	})
}

// withKept opens the kept container named by args[0] and runs fn on it.
func withKept(usage string, args []string, n int, fn func(*workspace.Store, *chapter.Kept) error) (int, error) {
	if len(args) != n {
		return 0, fmt.Errorf("usage: ch07 %s", usage)
	}
	store, err := workspace.Open(root)
	if err != nil {
		return 0, err
	}
	c, err := chapter.OpenKept(store, root, args[0])
	if err != nil {
		return 0, err
	}
	return 0, fn(store, c)
}
