// Command mydocker is a small Docker-compatible container engine. This package only wires the
// command line to the engine packages: it parses flags, prints results and picks exit codes.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/mydocker/mydocker/engine"
	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v3"
)

// statusError carries the exit status a command asks for, as Docker's CLI does: 125 when
// mydocker itself fails to run a container, the container's own status otherwise.
type statusError struct {
	code int
	err  error // nil: exit quietly with code
}

func (e *statusError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *statusError) Unwrap() error { return e.err }

// usageError marks bad flags and arguments; Docker exits 125 for those.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func main() {
	if engine.Reexec() {
		return
	}
	os.Exit(run(os.Args))
}

func run(args []string) int {
	err := newApp().Run(context.Background(), args)
	if err == nil {
		return 0
	}
	var se *statusError
	if errors.As(err, &se) {
		if se.err != nil {
			fmt.Fprintln(os.Stderr, "mydocker:", se.err)
		}
		return se.code
	}
	fmt.Fprintln(os.Stderr, "mydocker:", err)
	var ue usageError
	if errors.As(err, &ue) {
		return 125
	}
	return 1
}

func newApp() *cli.Command {
	return &cli.Command{
		Name:                   "mydocker",
		Usage:                  "a small Docker-compatible container engine",
		UseShortOptionHandling: true,
		HideHelpCommand:        true,
		ExitErrHandler:         func(context.Context, *cli.Command, error) {},
		OnUsageError:           onUsageError,
		Flags: []cli.Flag{
			&cli.StringFlag{
				Name:    "root",
				Usage:   "directory that holds all of mydocker's state",
				Value:   engine.DefaultRoot,
				Sources: cli.EnvVars("MYDOCKER_ROOT"),
			},
			&cli.StringFlag{Name: "log-level", Aliases: []string{"l"}, Value: "warn", Usage: `set the logging level ("debug", "info", "warn", "error", "fatal")`},
			&cli.BoolFlag{Name: "debug", Aliases: []string{"D"}, Usage: "enable debug output"},
		},
		Before: setupLog,
		Commands: []*cli.Command{
			runCommand(),
			execCommand(),
			psCommand(),
			logsCommand(),
			statsCommand(),
			stopCommand(),
			waitCommand(),
			killCommand(),
			rmCommand(),
			inspectCommand(),
			commitCommand(),
			exportCommand(),
			importCommand(),
			imagesCommand(),
			rmiCommand(),
			networkCommand(),
			doctorCommand(),
		},
	}
}

// setupLog points the engine's log (logrus) at stderr, at the level asked for.
func setupLog(ctx context.Context, cmd *cli.Command) (context.Context, error) {
	level, err := logrus.ParseLevel(cmd.String("log-level"))
	if err != nil {
		return ctx, usageError{msg: fmt.Sprintf("invalid --log-level %q: %v", cmd.String("log-level"), err)}
	}
	if cmd.Bool("debug") {
		level = logrus.DebugLevel
	}
	logrus.SetLevel(level)
	logrus.SetOutput(os.Stderr)
	return ctx, nil
}

func onUsageError(_ context.Context, cmd *cli.Command, err error, _ bool) error {
	return usageError{msg: fmt.Sprintf("%v\nSee 'mydocker %s --help'.", err, cmd.Name)}
}

// engine opens the engine at the --root the user chose.
func openEngine(cmd *cli.Command) (*engine.Engine, error) {
	return engine.New(cmd.Root().String("root"))
}

// needArgs checks the number of positional arguments, Docker-style.
func needArgs(cmd *cli.Command, min int, usage string) error {
	if cmd.Args().Len() < min {
		return usageError{msg: fmt.Sprintf("%q requires at least %d argument(s).\nUsage: mydocker %s", cmd.Name, min, usage)}
	}
	return nil
}
