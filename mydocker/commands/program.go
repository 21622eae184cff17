// Package commands is mydocker's command line: it parses flags, calls the engine, prints
// results and picks Docker's exit codes. The course's chapters from 08 on run it too, each with
// the commands and flags its lessons have reached so far (Program.Chapter).
package commands

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v3"

	"github.com/mydocker/mydocker/engine"
	"github.com/mydocker/mydocker/internal/prefault"
	"github.com/mydocker/mydocker/rootless"
)

// Program is a command line over the engine: mydocker itself, or one chapter's program.
type Program struct {
	Name string // for usage and error messages: "mydocker", "ch08"
	// Chapter limits the command line to what the course has taught by that chapter; 0 is
	// the whole engine. Before chapter 12, which teaches confinement, a container keeps every
	// capability the host has and no seccomp filter, as in the earlier chapters.
	Chapter int
	// SelfRegistry: the program is its own registry client (chapter 14's, which runs
	// registrycli.Main when started as mydocker-registry): pull, push, login and logout
	// execute it again under that name, not the mydocker-registry beside it.
	SelfRegistry bool
	// Build runs a build in this process (a chapter's program, whose learner's code the
	// builder then runs), returning the exit status; nil: mydocker-build beside this binary
	// does, so that mydocker itself links no Dockerfile parser.
	Build func(root string, req BuildRequest) int
	// Serve serves the Docker Engine API in this process (a chapter's program, whose
	// learner's code the server then runs) with mydocker-serve's arguments, returning the exit
	// status; nil: mydocker-serve beside this binary does, so that mydocker itself links no
	// HTTP server or API types.
	Serve func(args []string) int
}

// Mydocker is the complete engine.
var Mydocker = Program{Name: "mydocker"}

// Main is a program's main: the engine's re-executed roles (container init, exec helper,
// monitor) first, then the command line. It exits with the command's status.
func (p Program) Main() {
	if p.Chapter == 0 {
		engine.UseHelpers()
	}
	if engine.Reexec() {
		return
	}
	os.Exit(p.Run(os.Args))
}

// Run runs the command line args and returns the exit status.
func (p Program) Run(args []string) int {
	app := p.app(args)
	unknown := false
	onCommandNotFound(app, func(_ context.Context, group *cli.Command, name string) {
		// Docker's words for a command it does not have, not urfave/cli's "No help topic".
		fmt.Fprintf(os.Stderr, "%s: '%s' is not a %s command.\nSee '%s --help'\n", p.Name, name, group.FullName(), group.FullName())
		unknown = true
	})
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
		return cmp.Or(ue.status, 125)
	}
	return 1
}

// onCommandNotFound has fn say that a command cmd or one of its groups (volume, network...)
// has no subcommand of the name typed.
func onCommandNotFound(cmd *cli.Command, fn cli.CommandNotFoundFunc) {
	cmd.CommandNotFound = fn
	for _, c := range cmd.Commands {
		if len(c.Commands) > 0 {
			onCommandNotFound(c, fn)
		}
	}
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

// command is one of the program's commands: its name, the chapter that teaches it, and what
// makes it.
type command struct {
	name    string
	chapter int
	make    func() *cli.Command
}

func (p Program) commands() []command {
	return []command{
		{"run", 8, p.runCommand},
		{"exec", 9, execCommand},
		{"ps", 8, psCommand},
		{"logs", 8, logsCommand},
		{"stats", 12, statsCommand},
		{"stop", 8, stopCommand},
		{"wait", 8, waitCommand},
		{"kill", 8, killCommand},
		{"rm", 8, rmCommand},
		{"inspect", 8, inspectCommand},
		{"commit", 7, commitCommand},
		{"build", 15, p.buildCommand},
		{"export", 7, exportCommand},
		{"import", 5, importCommand},
		{"images", 5, imagesCommand},
		{"tag", 5, tagCommand},
		{"save", 13, saveCommand},
		{"load", 13, loadCommand},
		{"history", 13, historyCommand},
		{"pull", 14, p.pullCommand},
		{"push", 14, p.pushCommand},
		{"login", 14, p.loginCommand},
		{"logout", 14, p.logoutCommand},
		{"rmi", 5, rmiCommand},
		{"network", 10, networkCommand},
		{"doctor", 12, doctorCommand},
		{"version", 8, versionCommand},
		{"pause", 8, pauseCommand},
		{"unpause", 8, unpauseCommand},
		{"rename", 8, renameCommand},
		{"top", 8, topCommand},
		{"create", 8, p.createCommand},
		{"start", 8, startCommand},
		{"restart", 8, restartCommand},
		{"volume", 8, volumeCommand},
		{"cp", 8, cpCommand},
		{"diff", 8, diffCommand},
		{"attach", 8, attachCommand},
		{"port", 11, portCommand},
		{"container", 8, containerCommand},
		{"image", 8, imageCommand},
		{"info", 8, infoCommand},
		{"system", 8, p.systemCommand},
	}
}

// app is the program's command line for args. urfave/cli sets up every command it is given,
// flags and help included, on each run: a millisecond and more here, spent before a
// container's init can be started. So app gives it only the command args name, when that is
// one of the program's; none for --version alone; all of them otherwise (help, completion, a
// mistyped name).
func (p Program) app(args []string) *cli.Command {
	flags := p.globalFlags()
	name := invokedCommand(flags, args)
	if startsContainer[name] {
		prefault.Heap() // the start fills the heap's first megabyte, and more
	}
	var commands []*cli.Command
	for _, c := range p.commands() {
		if p.taught(c.chapter) && c.name == name {
			commands = append(commands, c.make())
		}
	}
	versionOnly := len(args) == 2 && (args[1] == "--version" || args[1] == "-v")
	if len(commands) == 0 && !versionOnly { // help, completion, a mistyped name: all of them
		for _, c := range p.commands() {
			if p.taught(c.chapter) {
				commands = append(commands, c.make())
			}
		}
	}
	// --version (-v) prints "mydocker version V, build COMMIT", as docker --version; it can
	// only be asked where no command was found.
	version := Version
	if name == "" {
		version += ", build " + gitCommit()
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
		Flags:                  flags,
		Before:                 setupLog,
		Commands:               commands,
		Version:                version,
		// `completion bash|zsh|fish` prints a completion script for the shell.
		EnableShellCompletion: p.Chapter == 0,
	}
	oneValuePerFlag(root)
	return root
}

// startsContainer are the commands that start a container (or a process in one): their heap's
// first megabyte is mapped in at once (internal/prefault), not page by page.
var startsContainer = map[string]bool{"run": true, "create": true, "start": true, "restart": true, "exec": true}

// globalFlags are the flags given before the command, those the program has taught.
func (p Program) globalFlags() []cli.Flag {
	flags := []cli.Flag{
		&cli.StringFlag{
			Name:    "root",
			Usage:   "directory that holds all of the engine's state",
			Value:   p.defaultRoot(),
			Sources: cli.EnvVars("MYDOCKER_ROOT"),
		},
		&cli.StringFlag{Name: "log-level", Aliases: []string{"l"}, Value: "warn", Usage: `set the logging level ("debug", "info", "warn", "error", "fatal")`},
		&cli.BoolFlag{Name: "debug", Aliases: []string{"D"}, Usage: "enable debug output"},
		&cli.StringSliceFlag{Name: "insecure-registry", Usage: "a registry (HOST[:PORT] or CIDR) pull, push and login may reach over plain http"},
	}
	if p.taught(16) {
		flags = append(flags, &cli.StringFlag{
			Name:    "userns-remap",
			Usage:   "give containers a user namespace of their own, root inside an unprivileged user outside: default (the dockremap user, made if missing) or USER[:GROUP] with ranges in /etc/subuid and /etc/subgid",
			Sources: cli.EnvVars("MYDOCKER_USERNS_REMAP"),
		})
	}
	return flags
}

// invokedCommand is the command args name (args[0] is the program): the first argument that
// is neither one of flags nor such a flag's value. "" when it cannot tell (no command, or a
// flag it does not know), for urfave/cli to sort out.
func invokedCommand(flags []cli.Flag, args []string) string {
	takesValue := map[string]bool{}
	for _, f := range flags {
		_, isBool := f.(*cli.BoolFlag)
		for _, n := range f.Names() {
			takesValue[n] = !isBool
		}
	}
	for i := 1; i < len(args); i++ {
		arg := args[i]
		if !strings.HasPrefix(arg, "-") {
			return arg
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		needsValue, known := takesValue[name]
		if !known {
			return ""
		}
		if needsValue && !hasValue {
			i++
		}
	}
	return ""
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
	case "network", "network-alias", "link", "add-host", "dns", "dns-search", "dns-option":
		return p.taught(10)
	case "publish", "publish-all", "expose":
		return p.taught(11)
	case "userns":
		return p.taught(16)
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

// usageError marks bad flags and arguments: Docker exits 125 for those, but 1 (status) for
// a wrong number of arguments.
type usageError struct {
	msg    string
	status int // 0: 125
}

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

// onUsageError is a bad flag, said as Docker says it, naming the command with its group
// (See 'mydocker volume inspect --help'.).
func onUsageError(_ context.Context, cmd *cli.Command, err error, _ bool) error {
	return usageError{msg: fmt.Sprintf("%v\nSee '%s --help'.", err, cmd.FullName())}
}

// defaultRoot is the engine's state directory unless --root says otherwise: an ordinary
// user's engine keeps its own, $XDG_DATA_HOME/mydocker, as podman does.
func (p Program) defaultRoot() string {
	if p.taught(16) && (rootless.Needed() || rootless.Active()) {
		return rootless.DataHome()
	}
	return engine.DefaultRoot
}

// enterRootless makes mydocker run by an ordinary user execute itself again as root of the
// user's user namespace (rootless.Enter), where the engine's work is done: it returns there,
// and at once for root.
func enterRootless(cmd *cli.Command) error {
	if !rootless.Needed() || !taughtRootless(cmd) {
		return nil
	}
	if remapFlag(cmd) != "" {
		return errors.New("--userns-remap is root's: run by an ordinary user, mydocker is rootless already (its containers' users are the user's subordinate ids)")
	}
	return rootless.Enter()
}

// openEngine opens the engine at the --root the user chose, remapping its containers' users
// as --userns-remap says (rootless first, for an ordinary user: enterRootless).
func openEngine(cmd *cli.Command) (*engine.Engine, error) {
	if err := enterRootless(cmd); err != nil {
		return nil, err
	}
	e, err := engine.New(cmd.Root().String("root"))
	if err != nil {
		return nil, err
	}
	if remap := remapFlag(cmd); remap != "" {
		if err := e.RemapUsers(remap); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// taughtRootless reports whether the program has reached chapter 16, which runs mydocker as an
// ordinary user: it defines --userns-remap.
func taughtRootless(cmd *cli.Command) bool {
	for _, f := range cmd.Root().Flags {
		if f.Names()[0] == "userns-remap" {
			return true
		}
	}
	return false
}

// remapFlag is --userns-remap, "" when not given or not taught.
func remapFlag(cmd *cli.Command) string {
	for _, f := range cmd.Root().Flags {
		if f.Names()[0] == "userns-remap" {
			return cmd.Root().String("userns-remap")
		}
	}
	return ""
}

// needArgs checks that the command has at least min arguments. usage is its usage line, the
// command's name first (its words give way to the command's full name: image rm says so,
// also where its usage is rmi's).
func needArgs(cmd *cli.Command, min int, usage string) error {
	if cmd.Args().Len() >= min {
		return nil
	}
	return argCountError(cmd, fmt.Sprintf("requires at least %d %s", min, arguments(min)), usage)
}

// exactArgs checks that the command has n arguments, usage as needArgs's.
func exactArgs(cmd *cli.Command, n int, usage string) error {
	if cmd.Args().Len() == n {
		return nil
	}
	return argCountError(cmd, fmt.Sprintf("requires exactly %d %s", n, arguments(n)), usage)
}

// maxArgs checks that the command has at most n arguments, usage as needArgs's.
func maxArgs(cmd *cli.Command, n int, usage string) error {
	if cmd.Args().Len() <= n {
		return nil
	}
	return argCountError(cmd, fmt.Sprintf("requires at most %d %s", n, arguments(n)), usage)
}

func arguments(n int) string {
	if n == 1 {
		return "argument"
	}
	return "arguments"
}

// argCountError is a wrong number of arguments in Docker's words, with its status (1):
//
//	"mydocker volume inspect" requires at least 1 argument.
//	See 'mydocker volume inspect --help'.
//
//	Usage:  mydocker volume inspect VOLUME [VOLUME...]
//
//	show volumes in detail
func argCountError(cmd *cli.Command, what, usage string) error {
	name := cmd.FullName()
	words := strings.Fields(usage)
	for len(words) > 0 && isCommandWord(words[0]) {
		words = words[1:]
	}
	line := strings.Join(append([]string{name}, words...), " ")
	return usageError{status: 1, msg: fmt.Sprintf("%q %s.\nSee '%s --help'.\n\nUsage:  %s\n\n%s", name, what, name, line, cmd.Usage)}
}

// isCommandWord reports whether a word of a usage line is a command's name (volume, rm), not
// an argument (IMAGE, [OPTIONS]).
func isCommandWord(w string) bool {
	for _, r := range w {
		if (r < 'a' || r > 'z') && r != '-' {
			return false
		}
	}
	return w != ""
}
