package commands

import (
	"context"
	"fmt"

	"github.com/mydocker/mydocker/engine"
	"github.com/mydocker/mydocker/network"
	"github.com/urfave/cli/v3"
)

func networkCommand() *cli.Command {
	return &cli.Command{
		Name:  "network",
		Usage: "manage bridge networks",
		Commands: []*cli.Command{
			{
				Name:         "create",
				Usage:        "create a bridge network",
				ArgsUsage:    "NAME",
				OnUsageError: onUsageError,
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "driver", Aliases: []string{"d"}, Value: "bridge", Usage: "network driver (bridge)"},
					&cli.StringFlag{Name: "subnet", Usage: "subnet in CIDR form, e.g. 172.30.0.0/24 (default: a free one of Docker's pools)"},
					&cli.StringFlag{Name: "gateway", Usage: "gateway address (default: the subnet's first)"},
					&cli.StringSliceFlag{Name: "label", Usage: "set a label on the network (KEY=VALUE)"},
				},
				Action: func(_ context.Context, cmd *cli.Command) error {
					if err := needArgs(cmd, 1, "network create [OPTIONS] NAME"); err != nil {
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
					n, err := e.NetworkCreate(cmd.Args().First(), network.CreateOptions{Driver: cmd.String("driver"), Subnet: cmd.String("subnet"), Gateway: cmd.String("gateway"), Labels: labels})
					if err != nil {
						return err
					}
					fmt.Println(n.ID)
					return nil
				},
			},
			{
				Name:    "ls",
				Aliases: []string{"list"},
				Usage:   "list networks",
				Action: func(_ context.Context, cmd *cli.Command) error {
					e, err := openEngine(cmd)
					if err != nil {
						return err
					}
					nets, err := e.Networks().List()
					if err != nil {
						return err
					}
					tw := newTable()
					fmt.Fprintln(tw, "NETWORK ID\tNAME\tDRIVER\tSUBNET\tGATEWAY")
					for _, n := range nets {
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", n.ID[:12], n.Name, n.Driver, n.Subnet, n.Gateway)
					}
					return tw.Flush()
				},
			},
			{
				Name:         "inspect",
				Usage:        "show networks, with the containers on them",
				ArgsUsage:    "NAME [NAME...]",
				OnUsageError: onUsageError,
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Usage: "format the output with a Go template"},
				},
				Action: func(_ context.Context, cmd *cli.Command) error {
					if err := needArgs(cmd, 1, "network inspect NAME [NAME...]"); err != nil {
						return err
					}
					e, err := openEngine(cmd)
					if err != nil {
						return err
					}
					return inspectEach(cmd, func(name string) (any, error) { return e.NetworkInspect(name) })
				},
			},
			{
				Name:         "connect",
				Usage:        "connect a container to a network",
				ArgsUsage:    "NETWORK CONTAINER",
				OnUsageError: onUsageError,
				Flags: []cli.Flag{
					&cli.StringSliceFlag{Name: "alias", Usage: "another name the container answers to on the network"},
				},
				Action: func(_ context.Context, cmd *cli.Command) error {
					if err := needArgs(cmd, 2, "network connect [OPTIONS] NETWORK CONTAINER"); err != nil {
						return err
					}
					e, err := openEngine(cmd)
					if err != nil {
						return err
					}
					return e.NetworkConnect(cmd.Args().Get(0), cmd.Args().Get(1), cmd.StringSlice("alias"))
				},
			},
			{
				Name:         "disconnect",
				Usage:        "disconnect a container from a network",
				ArgsUsage:    "NETWORK CONTAINER",
				OnUsageError: onUsageError,
				Flags: []cli.Flag{
					&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "accepted, as Docker's (a disconnect is always forced)"},
				},
				Action: func(_ context.Context, cmd *cli.Command) error {
					if err := needArgs(cmd, 2, "network disconnect [OPTIONS] NETWORK CONTAINER"); err != nil {
						return err
					}
					e, err := openEngine(cmd)
					if err != nil {
						return err
					}
					return e.NetworkDisconnect(cmd.Args().Get(0), cmd.Args().Get(1))
				},
			},
			{
				Name:      "rm",
				Aliases:   []string{"remove"},
				Usage:     "remove networks",
				ArgsUsage: "NAME [NAME...]",
				Action: func(_ context.Context, cmd *cli.Command) error {
					return eachArg(cmd, "network rm NAME [NAME...]", func(e *engine.Engine, name string) (string, error) {
						return name, e.NetworkRemove(name)
					})
				},
			},
		},
	}
}
