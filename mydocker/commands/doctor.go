package commands

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v3"

	"github.com/mydocker/mydocker/engine"
	"github.com/mydocker/mydocker/internal/preflight"
	"github.com/mydocker/mydocker/rootless"
)

func doctorCommand() *cli.Command {
	return &cli.Command{
		Name:  "doctor",
		Usage: "check that this machine can run containers, and say what is missing",
		Action: func(_ context.Context, cmd *cli.Command) error {
			checks := preflight.Run()
			// An ordinary user is looked at as such, not from its user namespace; and its
			// engine has no user networks to resolve names on.
			if !rootless.Needed() {
				if e, err := openEngine(cmd); err == nil {
					checks = append(checks, resolverCheck(e))
				}
			}
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

// resolverCheck says whether the names of this root's user networks are answered.
func resolverCheck(e *engine.Engine) preflight.Check {
	c := preflight.Check{What: "names resolver", Found: "not needed (no container on a user network)"}
	networks, running, err := e.Networks().NamedNetworks()
	switch {
	case err != nil:
		c.Found, c.Level = err.Error(), preflight.Warn
	case len(networks) > 0 && running:
		c.Found = fmt.Sprintf("running, for %s", strings.Join(networks, ", "))
	case len(networks) > 0:
		c.Found, c.Level = fmt.Sprintf("down: the containers on %s cannot find each other by name", strings.Join(networks, ", ")), preflight.Warn
		c.Fix = fmt.Sprintf("it starts again with the next container that joins one of those networks (mydocker run --rm --network %s busybox true); its log is %s", networks[0], filepath.Join(e.Networks().DNSDir(), "resolver.log"))
	}
	return c
}
