// Package commands is mydocker's command line: it parses flags, calls the engine, prints
// results and picks Docker's exit codes. The course's chapters 08 to 12 run it too, each with
// the commands and flags its lessons have reached so far (Program.Chapter).
package commands

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v3"

	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/engine"
)

// Program is a command line over the engine: mydocker itself, or one chapter's program.
type Program struct {
	Name string // for usage and error messages: "mydocker", "ch08"
	// Chapter limits the command line to what the course has taught by that chapter; 0 is
	// the whole engine. Before chapter 12, which teaches confinement, a container keeps every
	// capability the host has and no seccomp filter, as in the earlier chapters.
	Chapter int
}

// Mydocker is the complete engine.
var Mydocker = Program{Name: "mydocker"}

// Main is a program's main: the engine's re-executed roles (container init, exec helper,
// monitor) first, then the command line. It exits with the command's status.
func (p Program) Main() {
	if p.Chapter == 0 {
		useHelpers()
	}
	if engine.Reexec() {
		return
	}
	os.Exit(p.Run(os.Args))
}

// useHelpers has the runtime start containers' inits and exec'd processes from mydocker-init,
// and monitors hand detached containers to mydocker-shim, beside this binary where make builds
// them; without them, this binary serves.
func useHelpers() {
	exe, err := os.Executable()
	if err != nil {
		return
	}
	for name, use := range map[string]func(string){"mydocker-init": container.UseHelper, "mydocker-shim": engine.UseShim} {
		path := filepath.Join(filepath.Dir(exe), name)
		if st, err := os.Stat(path); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			use(path)
		}
	}
}

// Run runs the command line args and returns the exit status.
func (p Program) Run(args []string) int {
	app := p.app()
	unknown := false
	app.CommandNotFound = func(_ context.Context, _ *cli.Command, name string) {
		// Docker's words for a command it does not have, not urfave/cli's "No help topic".
		fmt.Fprintf(os.Stderr, "%s: '%s' is not a %s command.\nSee '%s --help'\n", p.Name, name, p.Name, p.Name)
		unknown = true
	}
	err := app.Run(context.Background(), args)
	if unknown {
		return 1
	}
	if err == nil {
		return 0
	}
	var se *statusError
	if errors.As(err, &se) {
		if se.err != nil {
			fmt.Fprintf(os.Stderr, "%s: %s\n", p.Name, userMessage(se.err))
		}
		return se.code
	}
	fmt.Fprintf(os.Stderr, "%s: %s\n", p.Name, userMessage(err))
	var ue usageError
	if errors.As(err, &ue) {
		return 125
	}
	return 1
}

// userMessage is an error as the user reads it; a missing container, volume or image is said
// in Docker's words ("No such container: web").
func userMessage(err error) string {
	msg := err.Error()
	if errors.Is(err, engine.ErrNotFound) || errors.Is(err, engine.ErrNoSuchVolume) {
		if rest, ok := strings.CutPrefix(msg, "no such"); ok {
			return "No such" + rest
		}
	}
	return msg
}

// taught reports whether the program has reached the chapter that teaches a command or flag.
func (p Program) taught(chapter int) bool { return p.Chapter == 0 || p.Chapter >= chapter }

func (p Program) app() *cli.Command {
	// Each command with the chapter that teaches it.
	all := []struct {
		chapter int
		cmd     *cli.Command
	}{
		{8, p.runCommand()},
		{9, execCommand()},
		{8, psCommand()},
		{8, logsCommand()},
		{12, statsCommand()},
		{8, stopCommand()},
		{8, waitCommand()},
		{8, killCommand()},
		{8, rmCommand()},
		{8, inspectCommand()},
		{7, commitCommand()},
		{7, exportCommand()},
		{5, importCommand()},
		{5, imagesCommand()},
		{5, tagCommand()},
		{8, saveCommand()},
		{8, loadCommand()},
		{8, historyCommand()},
		{8, pullCommand()},
		{8, pushCommand()},
		{8, loginCommand()},
		{8, logoutCommand()},
		{5, rmiCommand()},
		{10, networkCommand()},
		{12, doctorCommand()},
		{8, versionCommand()},
		{8, pauseCommand()},
		{8, unpauseCommand()},
		{8, renameCommand()},
		{8, topCommand()},
		{8, p.createCommand()},
		{8, startCommand()},
		{8, restartCommand()},
		{8, volumeCommand()},
		{8, cpCommand()},
		{8, diffCommand()},
		{8, attachCommand()},
		{11, portCommand()},
		{8, containerCommand()},
		{8, imageCommand()},
		{8, infoCommand()},
		{8, systemCommand()},
	}
	var commands []*cli.Command
	for _, c := range all {
		if p.taught(c.chapter) {
			commands = append(commands, c.cmd)
		}
	}
	usage := "a small Docker-compatible container engine"
	if p.Chapter != 0 {
		usage = fmt.Sprintf("the engine as chapter %02d of the course knows it", p.Chapter)
	}
	root := &cli.Command{
		Name:                   p.Name,
		Usage:                  usage,
		UseShortOptionHandling: true,
		HideHelpCommand:        true,
		ExitErrHandler:         func(context.Context, *cli.Command, error) {},
		OnUsageError:           onUsageError,
		Flags: []cli.Flag{
			&cli.StringFlag{
				Name:    "root",
				Usage:   "directory that holds all of the engine's state",
				Value:   engine.DefaultRoot,
				Sources: cli.EnvVars("MYDOCKER_ROOT"),
			},
			&cli.StringFlag{Name: "log-level", Aliases: []string{"l"}, Value: "warn", Usage: `set the logging level ("debug", "info", "warn", "error", "fatal")`},
			&cli.BoolFlag{Name: "debug", Aliases: []string{"D"}, Usage: "enable debug output"},
			&cli.StringSliceFlag{Name: "insecure-registry", Usage: "a registry (HOST[:PORT] or CIDR) pull, push and login may reach over plain http"},
		},
		Before:   setupLog,
		Commands: commands,
		// `completion bash|zsh|fish` prints a completion script for the shell.
		EnableShellCompletion: p.Chapter == 0,
	}
	oneValuePerFlag(root)
	return root
}

// oneValuePerFlag makes every repeatable flag of cmd and its subcommands take its value whole,
// as Docker's do: -e LIST=a,b is one variable, and --mount's fields stay together (urfave/cli
// splits on commas unless told not to, command by command).
func oneValuePerFlag(cmd *cli.Command) {
	cmd.DisableSliceFlagSeparator = true
	for _, c := range cmd.Commands {
		oneValuePerFlag(c)
	}
}

// runFlagTaught reports whether the program has reached the chapter that teaches one of run's
// own flags: networks in 10, published ports in 11 (the security flags, 12, go as a group).
func (p Program) runFlagTaught(name string) bool {
	switch name {
	case "network", "add-host", "dns", "dns-search", "dns-option":
		return p.taught(10)
	case "publish", "publish-all", "expose":
		return p.taught(11)
	}
	return true
}

// statusError carries the exit status a command asks for, as Docker's CLI does: 125 when
// the engine itself fails to run a container, the container's own status otherwise.
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
	return usageError{msg: fmt.Sprintf("%v\nSee '%s %s --help'.", err, cmd.Root().Name, cmd.Name)}
}

// openEngine opens the engine at the --root the user chose.
func openEngine(cmd *cli.Command) (*engine.Engine, error) {
	return engine.New(cmd.Root().String("root"))
}

// needArgs checks the number of positional arguments, Docker-style.
func needArgs(cmd *cli.Command, min int, usage string) error {
	if cmd.Args().Len() < min {
		return usageError{msg: fmt.Sprintf("%q requires at least %d argument(s).\nUsage: %s %s", cmd.Name, min, cmd.Root().Name, usage)}
	}
	return nil
}
