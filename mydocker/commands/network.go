package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/mydocker/mydocker/engine"
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
					&cli.StringFlag{Name: "subnet", Usage: "subnet in CIDR form, e.g. 172.30.0.0/24", Required: true},
					&cli.StringFlag{Name: "gateway", Usage: "gateway address (default: the subnet's first)"},
				},
				Action: func(_ context.Context, cmd *cli.Command) error {
					if err := needArgs(cmd, 1, "network create [OPTIONS] NAME"); err != nil {
						return err
					}
					e, err := openEngine(cmd)
					if err != nil {
						return err
					}
					n, err := e.Networks().Create(cmd.Args().First(), cmd.String("driver"), cmd.String("subnet"), cmd.String("gateway"))
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
				Name:      "inspect",
				Usage:     "show a network",
				ArgsUsage: "NAME",
				Action: func(_ context.Context, cmd *cli.Command) error {
					if err := needArgs(cmd, 1, "network inspect NAME"); err != nil {
						return err
					}
					e, err := openEngine(cmd)
					if err != nil {
						return err
					}
					n, err := e.Networks().Get(cmd.Args().First())
					if err != nil {
						return err
					}
					enc := json.NewEncoder(os.Stdout)
					enc.SetIndent("", "    ")
					return enc.Encode([]any{n})
				},
			},
			{
				Name:      "rm",
				Aliases:   []string{"remove"},
				Usage:     "remove networks",
				ArgsUsage: "NAME [NAME...]",
				Action: func(_ context.Context, cmd *cli.Command) error {
					return eachArg(cmd, "network rm NAME [NAME...]", func(e *engine.Engine, name string) (string, error) {
						return name, e.Networks().Remove(name)
					})
				},
			},
		},
	}
}
