package commands

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/docker/go-units"
	"github.com/urfave/cli/v3"

	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/engine"
	"github.com/mydocker/mydocker/internal/compat"
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
			&cli.StringSliceFlag{Name: "filter", Aliases: []string{"f"}, Usage: "filter output: name=, id=, status=, label=KEY[=VALUE], ancestor=, exited="},
			&cli.StringFlag{Name: "format", Usage: "format output with a Go template (table for columns)"},
			&cli.IntFlag{Name: "last", Aliases: []string{"n"}, Value: -1, Usage: "show the n last created containers (all states)"},
			&cli.BoolFlag{Name: "latest", Aliases: []string{"l"}, Usage: "show the latest created container (all states)"},
			&cli.BoolFlag{Name: "no-trunc", Usage: "don't truncate output"},
			&cli.BoolFlag{Name: "size", Aliases: []string{"s"}, Usage: "display total file sizes"},
		},
		Action: func(_ context.Context, cmd *cli.Command) error {
			filter, err := engine.ParseContainerFilter(cmd.StringSlice("filter"))
			if err != nil {
				return &statusError{code: 125, err: err}
			}
			format := cmd.String("format")
			if cmd.Bool("quiet") {
				format = "{{.ID}}"
			}
			table := psTable
			if cmd.Bool("size") {
				table += "\t{{.Size}}"
			}
			f, err := parseRowFormat(format, table, psHeaders)
			if err != nil {
				return err
			}
			e, err := openEngine(cmd)
			if err != nil {
				return err
			}
			listOnce()
			all, err := e.List() // newest first
			if err != nil {
				return err
			}
			last := cmd.Int("last")
			if cmd.Bool("latest") {
				last = 1
			}
			// Flags are read once: urfave/cli looks each up by name, which over hundreds
			// of containers costs more than the rows.
			showAll := cmd.Bool("all") || last >= 0 || filter.Has("status")
			noTrunc := cmd.Bool("no-trunc")
			withSize := cmd.Bool("size") || strings.Contains(format, ".Size")
			now := time.Now()
			var rows []any
			for _, st := range all {
				if last >= 0 && len(rows) == last {
					break
				}
				if st.Status != engine.Running && !showAll {
					continue
				}
				paused := e.Paused(st)
				if !filter.Match(st, paused) {
					continue
				}
				row := newPsRow(st, paused, now, noTrunc)
				if withSize {
					rw, virtual := e.Size(st)
					row.Size = fmt.Sprintf("%s (virtual %s)", units.HumanSizeWithPrecision(float64(rw), 3), units.HumanSizeWithPrecision(float64(virtual), 3))
				}
				rows = append(rows, row)
			}
			out := bufio.NewWriter(os.Stdout) // one write(2) for the whole listing
			if err := f.write(out, rows); err != nil {
				return err
			}
			return out.Flush()
		},
	}
}

// listOnce readies this process to read every container's state once and exit: the garbage
// collector is not run before the heap reaches a limit far above what thousands of states
// take. Collecting meanwhile only cost time, a quarter of ps -a over 500 containers here
// (its workers take every idle CPU while it runs); the program is gone a moment later.
func listOnce() {
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(256 << 20)
}

const psTable = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"

var psHeaders = map[string]string{
	"ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "CreatedAt": "CREATED AT",
	"RunningFor": "CREATED", "Ports": "PORTS", "State": "STATE", "Status": "STATUS",
	"Names": "NAMES", "Labels": "LABELS", "Networks": "NETWORKS", "Size": "SIZE",
}

// psRow is one container as ps --format reads it: Docker's fields, as Docker writes them.
type psRow struct {
	ID, Image, Command, CreatedAt, RunningFor, Ports, State, Status, Names, Labels, Networks, Size string
	labels                                                                                         map[string]string
}

// Label is the value of one label ({{.Label "tier"}}).
func (r psRow) Label(name string) string { return r.labels[name] }

func newPsRow(st *engine.State, paused bool, now time.Time, noTrunc bool) psRow {
	args := append(append([]string{}, st.Config.Entrypoint...), st.Config.Cmd...)
	id, command := container.ShortID(st.ID), commandText(args)
	if noTrunc {
		id, command = st.ID, strconv.Quote(strings.Join(args, " "))
	}
	var labels []string
	for k, v := range st.Config.Labels {
		labels = append(labels, k+"="+v)
	}
	slices.Sort(labels)
	return psRow{
		ID: id, Image: st.Image, Command: command,
		CreatedAt:  st.Created.Local().Format("2006-01-02 15:04:05 -0700 MST"),
		RunningFor: engine.HumanDuration(now.Sub(st.Created)) + " ago",
		Ports:      portsText(st), State: string(engine.StateText(st, paused)), Status: engine.StatusText(st, paused, now),
		Names: st.Name, Labels: strings.Join(labels, ","), Networks: st.Network,
		labels: st.Config.Labels,
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
		Name:                   "logs",
		UseShortOptionHandling: true,
		Usage:                  "fetch the logs of a container",
		ArgsUsage:              "CONTAINER",
		OnUsageError:           onUsageError,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "follow log output"},
			&cli.StringFlag{Name: "tail", Aliases: []string{"n"}, Value: "all", Usage: "number of lines to show from the end of the logs"},
			&cli.BoolFlag{Name: "timestamps", Aliases: []string{"t"}, Usage: "show timestamps"},
			&cli.StringFlag{Name: "since", Usage: `show logs since a timestamp (e.g. "2013-01-02T13:23:37Z", or 1356700000 in Unix seconds) or relative (e.g. "42m" for 42 minutes)`},
			&cli.StringFlag{Name: "until", Usage: `show logs before a timestamp (e.g. "2013-01-02T13:23:37Z", or 1356700000 in Unix seconds) or relative (e.g. "42m" for 42 minutes)`},
		},
		Action: func(_ context.Context, cmd *cli.Command) error {
			if err := needArgs(cmd, 1, "logs [OPTIONS] CONTAINER"); err != nil {
				return err
			}
			opts := engine.LogOptions{Follow: cmd.Bool("follow"), Tail: -1, Timestamps: cmd.Bool("timestamps")}
			now := time.Now()
			var err error
			if opts.Since, err = parseTimestamp(cmd.String("since"), now); err != nil {
				return err
			}
			if opts.Until, err = parseTimestamp(cmd.String("until"), now); err != nil {
				return err
			}
			if t := cmd.String("tail"); t != "all" {
				n, err := strconv.Atoi(t)
				if err != nil {
					return usageError{msg: fmt.Sprintf("invalid value %q for --tail: a number of lines, or all", t)}
				}
				opts.Tail = max(n, -1)
			}
			e, err := openEngine(cmd)
			if err != nil {
				return err
			}
			return e.Logs(cmd.Args().First(), opts, os.Stdout, os.Stderr)
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
			fmt.Fprintf(os.Stderr, "%s: %s\n", cmd.Root().Name, userMessage(err))
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
			timeout := stopTimeout(cmd)
			return eachArg(cmd, "stop [OPTIONS] CONTAINER [CONTAINER...]", func(e *engine.Engine, ref string) (string, error) {
				return ref, e.Stop(ref, timeout)
			})
		},
	}
}

// stopTimeout is stop's and restart's -t: nil, for the container's own, unless it is given.
func stopTimeout(cmd *cli.Command) *time.Duration {
	if !cmd.IsSet("time") {
		return nil
	}
	t := time.Duration(cmd.Int("time")) * time.Second
	return &t
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
			sig, err := container.ParseSignal(cmd.String("signal"))
			if err != nil {
				return usageError{msg: err.Error()}
			}
			return eachArg(cmd, "kill [OPTIONS] CONTAINER [CONTAINER...]", func(e *engine.Engine, ref string) (string, error) {
				return ref, e.Kill(ref, sig)
			})
		},
	}
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
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Usage: "format the output with a Go template"},
			&cli.StringFlag{Name: "type", Usage: "only this type of object: container or image"},
		},
		Action: func(_ context.Context, cmd *cli.Command) error {
			if err := needArgs(cmd, 1, "inspect NAME|ID [NAME|ID...]"); err != nil {
				return err
			}
			kind := cmd.String("type")
			if kind != "" && kind != "container" && kind != "image" {
				return &statusError{code: 1, err: fmt.Errorf("%q is not a valid value for --type", kind)}
			}
			e, err := openEngine(cmd)
			if err != nil {
				return err
			}
			return inspectEach(cmd, func(ref string) (any, error) { return inspectOne(e, ref, kind) })
		},
	}
}

// inspectEach prints what get finds of each argument, as printInspected does; one it does not
// find is told on stderr ("Error: " and get's error) and makes the status 1, as Docker's.
func inspectEach(cmd *cli.Command, get func(ref string) (any, error)) error {
	var out []any
	var failed error
	for _, ref := range cmd.Args().Slice() {
		v, err := get(ref)
		if err != nil {
			fmt.Fprintf(os.Stderr, "Error: %v\n", err)
			failed = &statusError{code: 1}
			continue
		}
		out = append(out, v)
	}
	return printInspected(cmd.String("format"), out, failed)
}

// printInspected prints what an inspect found: each through format (-f), or all as Docker's
// JSON array; failed is the status for what it did not find.
func printInspected(format string, out []any, failed error) error {
	if format != "" {
		w := bufio.NewWriter(os.Stdout)
		for _, v := range out {
			if err := executeOn(w, format, v); err != nil {
				return err
			}
		}
		if err := w.Flush(); err != nil {
			return err
		}
		return failed
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "    ")
	enc.SetEscapeHTML(false) // as dockerd writes it: "a <b>", not "a \u003cb\u003e"
	if out == nil {
		out = []any{}
	}
	if err := enc.Encode(out); err != nil {
		return err
	}
	return failed
}

// inspectOne describes a container (or, failing that, an image) in Docker's shape; kind
// ("container", "image" or "" for either) says which to look for.
func inspectOne(e *engine.Engine, ref, kind string) (any, error) {
	var st *engine.State
	err := engine.ErrNotFound
	if kind != "image" {
		st, err = e.Get(ref)
	}
	if errors.Is(err, engine.ErrNotFound) {
		img, ierr := inspectImage(e, ref)
		if ierr != nil || kind == "container" {
			if kind == "container" {
				return nil, fmt.Errorf("No such container: %s", ref)
			}
			if kind == "image" {
				return nil, fmt.Errorf("No such image: %s", ref)
			}
			return nil, fmt.Errorf("No such object: %s", ref)
		}
		return img, nil
	}
	if err != nil {
		return nil, err
	}
	resp, err := e.Inspect(st.ID)
	if err != nil {
		return nil, err
	}
	return compat.Container(resp, compat.CLIVersion, st.CleanupError)
}

func commitCommand() *cli.Command {
	return &cli.Command{
		Name:         "commit",
		Usage:        "create a new image from a container's changes",
		ArgsUsage:    "CONTAINER [REPOSITORY[:TAG]]",
		OnUsageError: onUsageError,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "message", Aliases: []string{"m"}, Usage: "commit message"},
			&cli.StringFlag{Name: "author", Aliases: []string{"a"}, Usage: "author (\"A Name <a@example.org>\")"},
			&cli.StringSliceFlag{Name: "change", Aliases: []string{"c"}, Usage: "apply a Dockerfile instruction: CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL, EXPOSE, STOPSIGNAL, VOLUME"},
		},
		Action: func(_ context.Context, cmd *cli.Command) error {
			if err := needArgs(cmd, 1, "commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]"); err != nil {
				return err
			}
			e, err := openEngine(cmd)
			if err != nil {
				return err
			}
			img, err := e.Commit(cmd.Args().First(), cmd.Args().Get(1), engine.CommitOptions{
				Comment: cmd.String("message"), Author: cmd.String("author"), Changes: cmd.StringSlice("change"),
			})
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
