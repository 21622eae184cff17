// Package runccli is runc's command line over the runtime (package container): the program
// mydocker-runc (mydocker/runc), which containerd's shim (ctr run --runc-binary, Kubernetes
// through CRI) and dockerd (--add-runtime) drive, and chapter 17's. It keeps each container's
// state under --root, as runc does, and nothing else: images, names and networks are its
// caller's.
//
//	NAME [--root DIR] [--log FILE] [--log-format text|json] COMMAND ...
//
// create leaves the container's init waiting on a fifo (exec.fifo) until start: the two-step
// start the OCI runtime spec asks for.
package runccli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v3"

	"github.com/mydocker/mydocker/container"
)

// Program is the runtime's command line under a name.
type Program struct {
	Name string // "mydocker-runc", "ch17": for usage and messages
	// Helper: the containers' inits start from mydocker-init beside this binary when it is
	// there (mydocker-runc, which make builds beside it). A chapter's program re-executes
	// itself, so that the learner's code runs in the init too.
	Helper bool
	// DefaultRoot is --root's default: where the containers' state is kept.
	DefaultRoot string
}

// Main runs the container's init when this process was re-executed as one, else the command
// line; it exits with status 1 on an error.
func (p Program) Main() {
	if container.Reexec() {
		return
	}
	app := &cli.Command{
		Name:  p.Name,
		Usage: "run containers from OCI bundles, with runc's command line",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "root", Value: p.DefaultRoot, Usage: "directory of the containers' state"},
			&cli.StringFlag{Name: "log", Usage: "write the log to this file (default stderr)"},
			&cli.StringFlag{Name: "log-format", Value: "text", Usage: "text or json"},
			&cli.BoolFlag{Name: "debug", Usage: "log debug messages"},
			&cli.BoolFlag{Name: "systemd-cgroup", Usage: "not supported: cgroups are managed through cgroupfs"},
			&cli.StringFlag{Name: "rootless", Usage: "ignored"},
			&cli.StringFlag{Name: "criu", Usage: "ignored: checkpoints are not supported"},
		},
		Before: p.setup,
		Commands: []*cli.Command{
			createCommand(), startCommand(), runCommand(), stateCommand(), killCommand(), deleteCommand(),
			execCommand(), psCommand(), listCommand(), specCommand(), featuresCommand(),
			pauseCommand(), resumeCommand(), updateCommand(), eventsCommand(),
		},
		Version: "1.1.0-mydocker (runtime-spec " + specVersion() + ")",
	}
	if err := app.Run(context.Background(), os.Args); err != nil {
		// containerd reads the reason from the log; a person reads it on stderr.
		logrus.Error(err)
		if logrus.StandardLogger().Out != os.Stderr {
			fmt.Fprintf(os.Stderr, "%s: %v\n", p.Name, err)
		}
		os.Exit(1)
	}
}

// setup sends the log where the caller asked, in its format, and uses mydocker-init for the
// containers' init when the program is to and it is there.
func (p Program) setup(ctx context.Context, cmd *cli.Command) (context.Context, error) {
	if path := cmd.String("log"); path != "" {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_SYNC, 0o644)
		if err != nil {
			return ctx, fmt.Errorf("open the log %s: %w", path, err)
		}
		logrus.SetOutput(f)
	}
	if cmd.String("log-format") == "json" {
		logrus.SetFormatter(&logrus.JSONFormatter{})
	}
	if cmd.Bool("debug") {
		logrus.SetLevel(logrus.DebugLevel)
	}
	if cmd.Bool("systemd-cgroup") {
		return ctx, fmt.Errorf("--systemd-cgroup is not supported: %s manages cgroups through cgroupfs (configure the runtime with SystemdCgroup = false)", p.Name)
	}
	if !p.Helper {
		return ctx, nil
	}
	if exe, err := os.Executable(); err == nil {
		if helper := filepath.Join(filepath.Dir(exe), "mydocker-init"); fileExists(helper) {
			container.UseHelper(helper)
		}
	}
	return ctx, nil
}
