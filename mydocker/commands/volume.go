package commands

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v3"

	"github.com/mydocker/mydocker/engine"
)

func volumeCommand() *cli.Command {
	return &cli.Command{
		Name:  "volume",
		Usage: "manage named volumes",
		Commands: []*cli.Command{
			{
				Name:         "create",
				Usage:        "create a volume",
				ArgsUsage:    "[NAME]",
				OnUsageError: onUsageError,
				Flags: []cli.Flag{
					&cli.StringSliceFlag{Name: "label", Usage: "set a label on the volume (KEY=VALUE)"},
				},
				Action: func(_ context.Context, cmd *cli.Command) error {
					if err := maxArgs(cmd, 1, "volume create [OPTIONS] [VOLUME]"); err != nil {
						return err
					}
					labels, err := parseLabels(cmd)
					if err != nil {
						return err
					}
					e, err := openEngine(cmd)
					if err != nil {
						return err
					}
					v, err := e.VolumeCreate(cmd.Args().First(), labels)
					if err != nil {
						return err
					}
					fmt.Println(v.Name)
					return nil
				},
			},
			{
				Name:                   "ls",
				Aliases:                []string{"list"},
				Usage:                  "list volumes",
				UseShortOptionHandling: true,
				OnUsageError:           onUsageError,
				Flags: []cli.Flag{
					&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "only display volume names"},
					&cli.StringFlag{Name: "format", Usage: "format output with a Go template (table for columns)"},
				},
				Action: func(_ context.Context, cmd *cli.Command) error {
					format := cmd.String("format")
					if cmd.Bool("quiet") {
						format = "{{.Name}}"
					}
					f, err := parseRowFormat(format, "table {{.Driver}}\\t{{.Name}}", map[string]string{
						"Driver": "DRIVER", "Name": "VOLUME NAME", "Mountpoint": "MOUNTPOINT", "CreatedAt": "CREATED",
					})
					if err != nil {
						return err
					}
					e, err := openEngine(cmd)
					if err != nil {
						return err
					}
					all, err := e.Volumes()
					if err != nil {
						return err
					}
					rows := make([]any, len(all))
					for i, v := range all {
						rows[i] = v
					}
					out := bufio.NewWriter(os.Stdout)
					if err := f.write(out, rows); err != nil {
						return err
					}
					return out.Flush()
				},
			},
			{
				Name:         "inspect",
				Usage:        "show volumes in detail",
				ArgsUsage:    "VOLUME [VOLUME...]",
				OnUsageError: onUsageError,
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Usage: "format the output with a Go template"},
				},
				Action: func(_ context.Context, cmd *cli.Command) error {
					if err := needArgs(cmd, 1, "volume inspect [OPTIONS] VOLUME [VOLUME...]"); err != nil {
						return err
					}
					e, err := openEngine(cmd)
					if err != nil {
						return err
					}
					return inspectEach(cmd, func(name string) (any, error) {
						v, err := e.VolumeInspect(name)
						if err != nil {
							return nil, errors.New(userMessage(err))
						}
						return v.API(), nil // Docker's shape, as the API's
					})
				},
			},
			{
				Name:         "rm",
				Aliases:      []string{"remove"},
				Usage:        "remove volumes (not one a container mounts)",
				ArgsUsage:    "VOLUME [VOLUME...]",
				OnUsageError: onUsageError,
				Action: func(_ context.Context, cmd *cli.Command) error {
					return eachArg(cmd, "volume rm VOLUME [VOLUME...]", func(e *engine.Engine, name string) (string, error) {
						return name, e.VolumeRemove(name)
					})
				},
			},
			{
				Name:         "prune",
				Usage:        "remove every volume no container mounts",
				OnUsageError: onUsageError,
				Flags: []cli.Flag{
					&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "do not ask (mydocker never asks)"},
				},
				Action: func(_ context.Context, cmd *cli.Command) error {
					e, err := openEngine(cmd)
					if err != nil {
						return err
					}
					removed, err := e.VolumePrune()
					if len(removed) > 0 {
						fmt.Println("Deleted Volumes:")
						for _, n := range removed {
							fmt.Println(n)
						}
					}
					return err
				},
			},
		},
	}
}
