package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v3"
	"golang.org/x/sys/unix"

	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/engine"
)

func psCommand() *cli.Command {
	return &cli.Command{
		Name:                   "ps",
		Usage:                  "list containers",
		UseShortOptionHandling: true,
		OnUsageError:           onUsageError,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "show all containers (default shows just running)"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "only display container ids"},
		},
		Action: func(_ context.Context, cmd *cli.Command) error {
			e, err := openEngine(cmd)
			if err != nil {
				return err
			}
			all, err := e.List()
			if err != nil {
				return err
			}
			now := time.Now()
			tw := newTable()
			if !cmd.Bool("quiet") {
				fmt.Fprintln(tw, "CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tPORTS\tNAMES")
			}
			for _, st := range all {
				if st.Status != engine.Running && !cmd.Bool("all") {
					continue
				}
				if cmd.Bool("quiet") {
					fmt.Fprintln(tw, container.ShortID(st.ID))
					continue
				}
				args := append(append([]string{}, st.Config.Entrypoint...), st.Config.Cmd...)
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s ago\t%s\t%s\t%s\n", container.ShortID(st.ID), st.Image,
					commandText(args), humanDuration(now.Sub(st.Created)), statusText(st, now), portsText(st), st.Name)
			}
			return tw.Flush()
		},
	}
}

func waitCommand() *cli.Command {
	return &cli.Command{
		Name:         "wait",
		Usage:        "block until containers stop, then print their exit codes",
		ArgsUsage:    "CONTAINER [CONTAINER...]",
		OnUsageError: onUsageError,
		Action: func(_ context.Context, cmd *cli.Command) error {
			return eachArg(cmd, "wait CONTAINER [CONTAINER...]", func(e *engine.Engine, ref string) (string, error) {
				code, err := e.Wait(ref)
				return strconv.Itoa(code), err
			})
		},
	}
}

func logsCommand() *cli.Command {
	return &cli.Command{
		Name:         "logs",
		Usage:        "fetch the logs of a container",
		ArgsUsage:    "CONTAINER",
		OnUsageError: onUsageError,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "follow log output"},
		},
		Action: func(_ context.Context, cmd *cli.Command) error {
			if err := needArgs(cmd, 1, "logs [OPTIONS] CONTAINER"); err != nil {
				return err
			}
			e, err := openEngine(cmd)
			if err != nil {
				return err
			}
			return e.Logs(cmd.Args().First(), engine.LogOptions{Follow: cmd.Bool("follow")}, os.Stdout, os.Stderr)
		},
	}
}

// portsText is ps's PORTS column (published ports show while the container runs).
func portsText(st *engine.State) string {
	if st.Status != engine.Running {
		return ""
	}
	var out []string
	for _, p := range st.Ports {
		out = append(out, p.String())
	}
	return strings.Join(out, ", ")
}

// eachArg runs fn on every argument and prints what it returns, or its error, going on with
// the others as Docker's stop, kill, rm, wait and rmi do; the exit status is 1 if any failed.
func eachArg(cmd *cli.Command, usage string, fn func(e *engine.Engine, arg string) (string, error)) error {
	if err := needArgs(cmd, 1, usage); err != nil {
		return err
	}
	e, err := openEngine(cmd)
	if err != nil {
		return err
	}
	failed := false
	for _, arg := range cmd.Args().Slice() {
		out, err := fn(e, arg)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", cmd.Root().Name, err)
			failed = true
			continue
		}
		if out != "" {
			fmt.Println(out)
		}
	}
	if failed {
		return &statusError{code: 1}
	}
	return nil
}

func stopCommand() *cli.Command {
	return &cli.Command{
		Name:         "stop",
		Usage:        "stop running containers (SIGTERM, then SIGKILL after a grace period)",
		ArgsUsage:    "CONTAINER [CONTAINER...]",
		OnUsageError: onUsageError,
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "time", Aliases: []string{"t"}, Value: 10, Usage: "seconds to wait before killing it"},
		},
		Action: func(_ context.Context, cmd *cli.Command) error {
			timeout := time.Duration(cmd.Int("time")) * time.Second
			return eachArg(cmd, "stop [OPTIONS] CONTAINER [CONTAINER...]", func(e *engine.Engine, ref string) (string, error) {
				return ref, e.Stop(ref, timeout)
			})
		},
	}
}

func killCommand() *cli.Command {
	return &cli.Command{
		Name:         "kill",
		Usage:        "send a signal to running containers",
		ArgsUsage:    "CONTAINER [CONTAINER...]",
		OnUsageError: onUsageError,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "signal", Aliases: []string{"s"}, Value: "KILL", Usage: "signal to send (name or number)"},
		},
		Action: func(_ context.Context, cmd *cli.Command) error {
			sig, err := parseSignal(cmd.String("signal"))
			if err != nil {
				return usageError{msg: err.Error()}
			}
			return eachArg(cmd, "kill [OPTIONS] CONTAINER [CONTAINER...]", func(e *engine.Engine, ref string) (string, error) {
				return ref, e.Kill(ref, sig)
			})
		},
	}
}

// parseSignal accepts "KILL", "SIGKILL", "kill" or "9".
func parseSignal(s string) (unix.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil && n > 0 && n < 65 {
		return unix.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("invalid signal: %s", s)
}

func rmCommand() *cli.Command {
	return &cli.Command{
		Name:         "rm",
		Usage:        "remove containers",
		ArgsUsage:    "CONTAINER [CONTAINER...]",
		OnUsageError: onUsageError,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "kill and remove a running container"},
		},
		Action: func(_ context.Context, cmd *cli.Command) error {
			err := eachArg(cmd, "rm [OPTIONS] CONTAINER [CONTAINER...]", func(e *engine.Engine, ref string) (string, error) {
				return ref, e.Remove(ref, cmd.Bool("force"))
			})
			if e, oerr := openEngine(cmd); oerr == nil {
				if perr := e.PruneUnfinished(); perr != nil {
					fmt.Fprintf(os.Stderr, "%s: clean up unfinished containers: %v\n", cmd.Root().Name, perr)
				}
			}
			return err
		},
	}
}

func inspectCommand() *cli.Command {
	return &cli.Command{
		Name:         "inspect",
		Usage:        "show low-level information on containers or images",
		ArgsUsage:    "NAME|ID [NAME|ID...]",
		OnUsageError: onUsageError,
		Action: func(_ context.Context, cmd *cli.Command) error {
			if err := needArgs(cmd, 1, "inspect NAME|ID [NAME|ID...]"); err != nil {
				return err
			}
			e, err := openEngine(cmd)
			if err != nil {
				return err
			}
			var out []any
			var failed error
			for _, ref := range cmd.Args().Slice() {
				v, err := inspectOne(e, ref)
				if err != nil {
					failed = err
					continue
				}
				out = append(out, v)
			}
			enc := json.NewEncoder(os.Stdout)
			enc.SetIndent("", "    ")
			if out == nil {
				out = []any{}
			}
			if err := enc.Encode(out); err != nil {
				return err
			}
			return failed
		},
	}
}

// inspectOne describes a container (or, failing that, an image) in Docker's shape.
func inspectOne(e *engine.Engine, ref string) (any, error) {
	st, err := e.Get(ref)
	if errors.Is(err, engine.ErrNotFound) {
		img, ierr := e.Images().Get(ref)
		if ierr != nil {
			return nil, fmt.Errorf("no such object: %s", ref)
		}
		return map[string]any{
			"Id":       img.ID.String(),
			"RepoTags": img.RepoTags,
			"Created":  img.Config.Created,
			"Config":   img.Config.Config,
			"RootFS":   img.Config.RootFS,
			"Size":     img.Size,
		}, nil
	}
	if err != nil {
		return nil, err
	}
	spec, err := e.Containers().Spec(st.ID)
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"Id":      st.ID,
		"Created": st.Created,
		"Path":    spec.Process.Args[0],
		"Args":    spec.Process.Args[1:],
		"State": map[string]any{
			"Status":       st.Status,
			"Running":      st.Status == engine.Running,
			"Dead":         st.Status == engine.Dead,
			"Pid":          st.Pid,
			"ExitCode":     st.ExitCode,
			"OOMKilled":    st.OOMKilled,
			"Error":        st.Error,
			"CleanupError": st.CleanupError,
			"StartedAt":    st.StartedAt,
			"FinishedAt":   st.FinishedAt,
		},
		"Image":  st.ImageID,
		"Name":   "/" + st.Name,
		"Driver": st.Driver,
		"Config": map[string]any{
			"Hostname":   spec.Hostname,
			"Env":        spec.Process.Env,
			"Cmd":        st.Config.Cmd,
			"Entrypoint": st.Config.Entrypoint,
			"WorkingDir": spec.Process.Cwd,
			"Image":      st.Image,
			"Tty":        spec.Process.Terminal,
		},
		"HostConfig": map[string]any{
			"AutoRemove":  st.AutoRemove,
			"NetworkMode": st.Network,
			"CapAdd":      st.HostConfig.CapAdd,
			"CapDrop":     st.HostConfig.CapDrop,
			"Privileged":  st.HostConfig.Privileged,
			"SecurityOpt": st.HostConfig.SecurityOpt,
		},
		"NetworkSettings": map[string]any{
			"IPAddress": st.IP,
			"Ports":     st.Ports,
		},
		"Mounts": spec.Mounts,
	}, nil
}

func commitCommand() *cli.Command {
	return &cli.Command{
		Name:         "commit",
		Usage:        "create a new image from a container's changes",
		ArgsUsage:    "CONTAINER [REPOSITORY[:TAG]]",
		OnUsageError: onUsageError,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "message", Aliases: []string{"m"}, Usage: "commit message"},
		},
		Action: func(_ context.Context, cmd *cli.Command) error {
			if err := needArgs(cmd, 1, "commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]"); err != nil {
				return err
			}
			e, err := openEngine(cmd)
			if err != nil {
				return err
			}
			img, err := e.Commit(cmd.Args().First(), cmd.Args().Get(1), cmd.String("message"))
			if err != nil {
				return err
			}
			fmt.Println(img.ID)
			return nil
		},
	}
}

func exportCommand() *cli.Command {
	return &cli.Command{
		Name:         "export",
		Usage:        "export a container's filesystem as a tar archive",
		ArgsUsage:    "CONTAINER",
		OnUsageError: onUsageError,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write to a file instead of stdout"},
		},
		Action: func(_ context.Context, cmd *cli.Command) error {
			if err := needArgs(cmd, 1, "export [OPTIONS] CONTAINER"); err != nil {
				return err
			}
			e, err := openEngine(cmd)
			if err != nil {
				return err
			}
			path := cmd.String("output")
			if path == "" {
				return e.Export(cmd.Args().First(), os.Stdout)
			}
			return writeFileWith(path, func(f *os.File) error { return e.Export(cmd.Args().First(), f) })
		},
	}
}

// writeFileWith writes path through fn, removing the file if fn fails.
func writeFileWith(path string, fn func(*os.File) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := fn(f); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}
