package commands

import (
	"context"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/mydocker/mydocker/internal/preflight"
	"github.com/urfave/cli/v3"
)

func doctorCommand() *cli.Command {
	return &cli.Command{
		Name:  "doctor",
		Usage: "check that this machine can run containers, and say what is missing",
		Action: func(_ context.Context, cmd *cli.Command) error {
			checks := preflight.Run()
			tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
			missing := 0
			for _, c := range checks {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", c.What, c.Found, c.Level)
				if c.Level == preflight.Missing {
					missing++
				}
			}
			tw.Flush()
			for _, c := range checks {
				if c.Fix != "" {
					fmt.Printf("- %s: %s\n", c.What, c.Fix)
				}
			}
			if missing > 0 {
				return &statusError{code: 1}
			}
			return nil
		},
	}
}
