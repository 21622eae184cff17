package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v3"
	"golang.org/x/sys/unix"

	"github.com/mydocker/mydocker/cgroups"
	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/internal/fsutil"
)

var createFlags = []cli.Flag{
	&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Value: ".", Usage: "the bundle directory (config.json and the root filesystem)"},
	&cli.StringFlag{Name: "pid-file", Usage: "write the init's pid to this file"},
	&cli.StringFlag{Name: "console-socket", Usage: "send the terminal's master side to this unix socket"},
	&cli.BoolFlag{Name: "no-pivot", Usage: "chroot instead of pivot_root (a root on a ramdisk)"},
	&cli.BoolFlag{Name: "no-new-keyring", Usage: "ignored: the session keyring is the caller's"},
	&cli.IntFlag{Name: "preserve-fds", Usage: "not supported beyond 0"},
}

func createCommand() *cli.Command {
	return &cli.Command{
		Name:      "create",
		Usage:     "create a container: its init waits until start",
		ArgsUsage: "ID",
		Flags:     append(createFlags, &cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Hidden: true}),
		Action: func(_ context.Context, cmd *cli.Command) error {
			_, err := create(cmd, true)
			return err
		},
	}
}

func runCommand() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "create and start a container; without --detach, wait for it, remove it and exit with its status",
		ArgsUsage: "ID",
		Flags:     append(createFlags, &cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "return once the container runs"}),
		Action: func(_ context.Context, cmd *cli.Command) error {
			detach := cmd.Bool("detach")
			var sigs container.Signals
			if !detach {
				sigs = container.CatchSignals()
				defer sigs.Stop()
			}
			p, err := create(cmd, detach)
			if err != nil {
				return err
			}
			id := cmd.Args().First()
			if err := start(storeOf(cmd), id); err != nil {
				return err
			}
			if detach {
				return nil
			}
			code := p.WaitForeground(sigs, stdio(), true)
			if err := remove(storeOf(cmd), id, true); err != nil {
				logrus.Warn(err)
			}
			os.Exit(code)
			return nil
		},
	}
}

func startCommand() *cli.Command {
	return &cli.Command{
		Name:      "start",
		Usage:     "start a created container: its command runs",
		ArgsUsage: "ID",
		Action: func(_ context.Context, cmd *cli.Command) error {
			return start(storeOf(cmd), cmd.Args().First())
		},
	}
}

func stdio() container.Stdio {
	return container.Stdio{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
}

// create makes container ID from its bundle: its state directory, its exec fifo, its init (in
// its namespaces and cgroups, waiting on the fifo), the pid file. A create that fails leaves
// nothing: no directory, no cgroup, no process.
func create(cmd *cli.Command, detached bool) (_ *container.Init, err error) {
	s, id := storeOf(cmd), cmd.Args().First()
	if err := validID(id); err != nil {
		return nil, err
	}
	if n := cmd.Int("preserve-fds"); n > 0 {
		return nil, fmt.Errorf("--preserve-fds %d: passing descriptors beyond stdio is not supported", n)
	}
	bundle, err := filepath.Abs(cmd.String("bundle"))
	if err != nil {
		return nil, err
	}
	spec, err := readSpec(bundle)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(string(s), 0o711); err != nil {
		return nil, err
	}
	if err := os.Mkdir(s.dir(id), 0o711); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("container with id %s exists already", id)
		}
		return nil, err
	}
	var (
		p  *container.Init
		cg cgroups.Manager
	)
	defer func() {
		if err != nil {
			if p != nil {
				p.Kill()
			}
			if cg != nil {
				destroyCgroups(cg, spec)
			}
			os.RemoveAll(s.dir(id))
		}
	}()
	if err := unix.Mkfifo(s.fifo(id), 0o622); err != nil {
		return nil, fmt.Errorf("make the exec fifo: %w", err)
	}
	start := container.StartInit
	if detached {
		start = container.StartDetachedInit
	}
	if p, err = start(spec.Linux.Namespaces, spec.Process.Terminal, stdio()); err != nil {
		return nil, err
	}
	if err := p.Send(&container.Bundle{Spec: spec, NoPivot: cmd.Bool("no-pivot"), ExecFifo: s.fifo(id)}); err != nil {
		return nil, err
	}
	path := spec.Linux.CgroupsPath
	if path == "" {
		path = filepath.Join(defaultCgroupParent, id)
	}
	if cg, err = cgroups.NewAt(path); err != nil {
		return nil, fmt.Errorf("cgroups %s: %w", path, err)
	}
	if err := p.JoinCgroups(cg, spec.Linux.Resources); err != nil {
		return nil, err
	}
	if err := p.Created(); err != nil {
		return nil, err
	}
	// A foreground run keeps the terminal, and copies it to its own stdio.
	if spec.Process.Terminal && (detached || cmd.String("console-socket") != "") {
		if err := sendConsole(cmd.String("console-socket"), p.Pty()); err != nil {
			return nil, err
		}
	}
	r := &record{ID: id, Bundle: bundle, Init: p.Process(), Created: time.Now().UTC(), Cgroups: cg.Paths(), Spec: spec}
	if err := s.save(r); err != nil {
		return nil, err
	}
	if err := writePidFile(cmd.String("pid-file"), p.Pid()); err != nil {
		return nil, err
	}
	return p, nil
}

// defaultCgroupParent holds the cgroups of containers whose spec names none (delete removes it
// once empty).
const defaultCgroupParent = "/mydocker-runc"

// destroyCgroups removes a container's cgroups, and the default parent once no other
// container is in it.
func destroyCgroups(cg cgroups.Manager, spec *specs.Spec) error {
	err := cg.Destroy()
	if spec.Linux.CgroupsPath == "" {
		for _, dir := range cg.Paths() {
			os.Remove(filepath.Dir(dir))
		}
	}
	return err
}

// readSpec reads the bundle's config.json, with its root made absolute and the device nodes
// every container gets (runc's list) added when the spec does not name them.
func readSpec(bundle string) (*specs.Spec, error) {
	var spec specs.Spec
	if err := fsutil.ReadJSON(filepath.Join(bundle, "config.json"), &spec); err != nil {
		return nil, fmt.Errorf("read the bundle's spec: %w", err)
	}
	if spec.Process == nil || len(spec.Process.Args) == 0 {
		return nil, errors.New("the spec has no process to run (process.args)")
	}
	if spec.Root == nil || spec.Root.Path == "" {
		return nil, errors.New("the spec has no root filesystem (root.path)")
	}
	if spec.Linux == nil {
		return nil, errors.New("the spec has no linux section")
	}
	if !filepath.IsAbs(spec.Root.Path) {
		spec.Root.Path = filepath.Join(bundle, spec.Root.Path)
	}
	if spec.Process.Cwd == "" {
		spec.Process.Cwd = "/"
	}
	for _, d := range container.DefaultSpec().Linux.Devices {
		if !hasDevice(spec.Linux.Devices, d.Path) {
			spec.Linux.Devices = append(spec.Linux.Devices, d)
		}
	}
	return &spec, nil
}

func hasDevice(devices []specs.LinuxDevice, path string) bool {
	for _, d := range devices {
		if d.Path == path {
			return true
		}
	}
	return false
}

// start lets a created container's command run: it reads the init's exec fifo, which the init
// writes right before it executes the command.
func start(s store, id string) error {
	r, err := s.load(id)
	if err != nil {
		return err
	}
	if st := s.status(r); st != specs.StateCreated {
		return fmt.Errorf("cannot start a container that is %s", st)
	}
	opened := make(chan error, 1)
	var fifo *os.File
	go func() {
		var err error
		fifo, err = os.OpenFile(s.fifo(id), os.O_RDONLY, 0)
		opened <- err
	}()
	// The open waits for the init's; an init that died meanwhile never opens it.
	for waited := 0; ; waited++ {
		select {
		case err := <-opened:
			if err != nil {
				return fmt.Errorf("open the exec fifo: %w", err)
			}
			defer fifo.Close()
			if n, err := fifo.Read(make([]byte, 1)); n != 1 {
				return fmt.Errorf("the container's init exited before its command ran (%v)", err)
			}
			return os.Remove(s.fifo(id))
		case <-time.After(50 * time.Millisecond):
			if !r.Init.Alive() || zombie(r.Init.Pid) {
				return errors.New("the container's init exited before its command ran")
			}
		}
	}
}

// sendConsole sends the terminal's master side to the unix socket path, as runc does: the
// descriptor in SCM_RIGHTS, its name as the message.
func sendConsole(path string, pty *os.File) error {
	if path == "" {
		return errors.New("the spec asks for a terminal: --console-socket is required")
	}
	if pty == nil {
		return errors.New("the init sent no terminal")
	}
	defer pty.Close()
	conn, err := net.Dial("unix", path)
	if err != nil {
		return fmt.Errorf("connect to the console socket: %w", err)
	}
	defer conn.Close()
	_, _, err = conn.(*net.UnixConn).WriteMsgUnix([]byte(pty.Name()), unix.UnixRights(int(pty.Fd())), nil)
	if err != nil {
		return fmt.Errorf("send the terminal to the console socket: %w", err)
	}
	return nil
}

// writePidFile writes pid to path (when set) atomically: the caller may read it at any time.
func writePidFile(path string, pid int) error {
	if path == "" {
		return nil
	}
	if err := fsutil.WriteFileAtomic(path, []byte(strconv.Itoa(pid)), 0o644); err != nil {
		return fmt.Errorf("write the pid file: %w", err)
	}
	return nil
}
