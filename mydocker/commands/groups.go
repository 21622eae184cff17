package commands

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v3"
)

// containerCommand is Docker's management command for containers: ls and prune.
func containerCommand() *cli.Command {
	ls := psCommand()
	ls.Name, ls.Aliases = "ls", []string{"list", "ps"}
	return &cli.Command{
		Name:  "container",
		Usage: "manage containers",
		Commands: []*cli.Command{
			ls,
			{
				Name:         "prune",
				Usage:        "remove all stopped containers",
				OnUsageError: onUsageError,
				Flags:        []cli.Flag{&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "do not ask (mydocker never asks)"}},
				Action: func(_ context.Context, cmd *cli.Command) error {
					e, err := openEngine(cmd)
					if err != nil {
						return err
					}
					removed, err := e.PruneContainers()
					if len(removed) > 0 {
						fmt.Println("Deleted Containers:")
						for _, id := range removed {
							fmt.Println(id)
						}
						fmt.Println()
					}
					fmt.Println("Total reclaimed space: 0B")
					return err
				},
			},
		},
	}
}

// imageCommand is Docker's management command for images: ls, rm, tag, inspect and prune.
func imageCommand() *cli.Command {
	ls := imagesCommand()
	ls.Name, ls.Aliases = "ls", []string{"list"}
	rm := rmiCommand()
	rm.Name, rm.Aliases = "rm", []string{"remove"}
	return &cli.Command{
		Name:  "image",
		Usage: "manage images",
		Commands: []*cli.Command{
			ls, rm, tagCommand(), imageInspectCommand(),
			{
				Name:         "prune",
				Usage:        "remove unused images: the untagged ones, or with -a every one no container uses",
				OnUsageError: onUsageError,
				Flags: []cli.Flag{
					&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "remove all unused images, not just untagged ones"},
					&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "do not ask (mydocker never asks)"},
				},
				Action: func(_ context.Context, cmd *cli.Command) error {
					e, err := openEngine(cmd)
					if err != nil {
						return err
					}
					untagged, deleted, err := e.PruneImages(cmd.Bool("all"))
					if len(untagged)+len(deleted) > 0 {
						fmt.Println("Deleted Images:")
						for _, t := range untagged {
							fmt.Println("untagged: " + t)
						}
						for _, d := range deleted {
							fmt.Println("deleted: " + d.String())
						}
						fmt.Println()
					}
					fmt.Println("Total reclaimed space: 0B")
					return err
				},
			},
		},
	}
}
