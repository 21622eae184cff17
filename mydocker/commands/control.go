package commands

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v3"

	"github.com/mydocker/mydocker/engine"
	"github.com/mydocker/mydocker/network"
)

func pauseCommand() *cli.Command {
	return &cli.Command{
		Name:         "pause",
		Usage:        "pause all processes within containers",
		ArgsUsage:    "CONTAINER [CONTAINER...]",
		OnUsageError: onUsageError,
		Action: func(_ context.Context, cmd *cli.Command) error {
			return eachArg(cmd, "pause CONTAINER [CONTAINER...]", func(e *engine.Engine, ref string) (string, error) {
				return ref, e.Pause(ref)
			})
		},
	}
}

func unpauseCommand() *cli.Command {
	return &cli.Command{
		Name:         "unpause",
		Usage:        "unpause all processes within containers",
		ArgsUsage:    "CONTAINER [CONTAINER...]",
		OnUsageError: onUsageError,
		Action: func(_ context.Context, cmd *cli.Command) error {
			return eachArg(cmd, "unpause CONTAINER [CONTAINER...]", func(e *engine.Engine, ref string) (string, error) {
				return ref, e.Unpause(ref)
			})
		},
	}
}

func renameCommand() *cli.Command {
	return &cli.Command{
		Name:         "rename",
		Usage:        "rename a container",
		ArgsUsage:    "CONTAINER NEW_NAME",
		OnUsageError: onUsageError,
		Action: func(_ context.Context, cmd *cli.Command) error {
			if err := exactArgs(cmd, 2, "rename CONTAINER NEW_NAME"); err != nil {
				return err
			}
			e, err := openEngine(cmd)
			if err != nil {
				return err
			}
			return e.Rename(cmd.Args().First(), cmd.Args().Get(1))
		},
	}
}

func topCommand() *cli.Command {
	return &cli.Command{
		Name:         "top",
		Usage:        "display the running processes of a container (ps OPTIONS: the host's ps runs with them, -ef by default)",
		ArgsUsage:    "CONTAINER [ps OPTIONS]",
		StopOnNthArg: &one, // what follows the container is ps's
		OnUsageError: onUsageError,
		Action: func(_ context.Context, cmd *cli.Command) error {
			if err := needArgs(cmd, 1, "top CONTAINER [ps OPTIONS]"); err != nil {
				return err
			}
			e, err := openEngine(cmd)
			if err != nil {
				return err
			}
			procs, err := e.Top(cmd.Args().First(), strings.Join(cmd.Args().Tail(), " "))
			if err != nil {
				return err
			}
			// Docker's columns: 20 wide at least, three spaces apart.
			out := bufio.NewWriter(os.Stdout)
			tw := tabwriter.NewWriter(out, 20, 1, 3, ' ', 0)
			fmt.Fprintln(tw, strings.Join(procs.Titles, "\t"))
			for _, p := range procs.Processes {
				fmt.Fprintln(tw, strings.Join(p, "\t"))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			return out.Flush()
		},
	}
}

func diffCommand() *cli.Command {
	return &cli.Command{
		Name:         "diff",
		Usage:        "inspect changes to files or directories on a container's filesystem",
		ArgsUsage:    "CONTAINER",
		OnUsageError: onUsageError,
		Action: func(_ context.Context, cmd *cli.Command) error {
			if err := needArgs(cmd, 1, "diff CONTAINER"); err != nil {
				return err
			}
			e, err := openEngine(cmd)
			if err != nil {
				return err
			}
			changes, err := e.Diff(cmd.Args().First())
			if err != nil {
				return err
			}
			for _, c := range changes {
				fmt.Println(c.Kind, c.Path)
			}
			return nil
		},
	}
}

func portCommand() *cli.Command {
	return &cli.Command{
		Name:         "port",
		Usage:        "list port mappings, or the mapping of one port, of a container",
		ArgsUsage:    "CONTAINER [PRIVATE_PORT[/PROTO]]",
		OnUsageError: onUsageError,
		Action: func(_ context.Context, cmd *cli.Command) error {
			if err := needArgs(cmd, 1, "port CONTAINER [PRIVATE_PORT[/PROTO]]"); err != nil {
				return err
			}
			e, err := openEngine(cmd)
			if err != nil {
				return err
			}
			st, err := e.Get(cmd.Args().First())
			if err != nil {
				return err
			}
			want := cmd.Args().Get(1)
			if want != "" && !strings.Contains(want, "/") {
				want += "/tcp"
			}
			found := false
			var published []network.PortMapping // published while it runs, as ps shows
			if st.Status == engine.Running {
				published = st.Ports
			}
			for _, p := range published {
				private := fmt.Sprintf("%d/%s", p.ContainerPort, p.Proto)
				host := fmt.Sprintf("%s:%d", cmp.Or(p.HostIP, "0.0.0.0"), p.HostPort)
				switch {
				case want == "":
					fmt.Printf("%s -> %s\n", private, host)
				case want == private:
					fmt.Println(host)
					found = true
				}
			}
			if want != "" && !found {
				return fmt.Errorf("no public port '%s' published for %s", want, st.ID[:12])
			}
			return nil
		},
	}
}

func attachCommand() *cli.Command {
	return &cli.Command{
		Name:         "attach",
		Usage:        "attach to a running container: its output until it stops, its stdin when made with -i; exit with its status",
		ArgsUsage:    "CONTAINER",
		OnUsageError: onUsageError,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "no-stdin", Usage: "do not attach stdin"},
		},
		Action: func(_ context.Context, cmd *cli.Command) error {
			if err := needArgs(cmd, 1, "attach CONTAINER"); err != nil {
				return err
			}
			e, err := openEngine(cmd)
			if err != nil {
				return err
			}
			var stdin io.Reader = os.Stdin
			if cmd.Bool("no-stdin") {
				stdin = nil
			}
			code, err := e.Attach(cmd.Args().First(), stdin, os.Stdout, os.Stderr)
			if err != nil {
				return err
			}
			if code != 0 {
				return &statusError{code: code}
			}
			return nil
		},
	}
}
