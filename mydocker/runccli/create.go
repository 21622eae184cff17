package runccli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
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
	// An ordinary user's container limits nothing, or gets cgroups where the host delegates
	// a tree to the user (cgroups.Needed).
	needCgroups, err := cgroups.Needed(spec.Linux.Resources)
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
	if p, err = start(spec.Linux, spec.Process.Terminal, stdio()); err != nil {
		return nil, err
	}
	state, err := json.Marshal(specs.State{Version: specs.Version, ID: id, Status: specs.StateCreating, Pid: p.Pid(), Bundle: bundle, Annotations: spec.Annotations})
	if err != nil {
		return nil, err
	}
	if err := p.Send(&container.Bundle{Spec: spec, NoPivot: cmd.Bool("no-pivot"), ExecFifo: s.fifo(id), HookState: state}); err != nil {
		return nil, err
	}
	if needCgroups {
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
	}
	if h := spec.Hooks; h != nil {
		// In the runtime's namespaces, once the container's exist (prestart is the old name).
		if err := container.RunHooks("prestart", h.Prestart, state); err != nil {
			return nil, err
		}
		if err := container.RunHooks("createRuntime", h.CreateRuntime, state); err != nil {
			return nil, err
		}
	}
	// The limits are set on the way, once the init is ready (Init.Start); this returns once it
	// waits on the exec fifo.
	if err := p.Start(); err != nil {
		return nil, err
	}
	// A foreground run keeps the terminal, and copies it to its own stdio.
	if spec.Process.Terminal && (detached || cmd.String("console-socket") != "") {
		if err := sendConsole(cmd.String("console-socket"), p.Pty()); err != nil {
			return nil, err
		}
	}
	r := &record{ID: id, Bundle: bundle, Init: p.Process(), Created: time.Now().UTC(), Spec: spec}
	if cg != nil {
		r.Cgroups = cg.Paths()
	}
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
			cgroups.RemoveEmptyParent(dir)
		}
	}
	return err
}

// readSpec reads the bundle's config.json, with its root made absolute and, as runc, the
// device nodes every container gets added when the spec does not name them, and allowed.
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
	// The root is made (mounts, pivot_root) in the container's own mount namespace, new or
	// joined by path: without one, it would be made in the caller's, the host's.
	if !slices.ContainsFunc(spec.Linux.Namespaces, func(ns specs.LinuxNamespace) bool {
		return ns.Type == specs.MountNamespace
	}) {
		return nil, errors.New("the spec must give the container a mount namespace (linux.namespaces: mount, new or by path)")
	}
	if !filepath.IsAbs(spec.Root.Path) {
		spec.Root.Path = filepath.Join(bundle, spec.Root.Path)
	}
	if spec.Process.Cwd == "" {
		spec.Process.Cwd = "/"
	}
	if err := withinHostCapabilities(spec.Process); err != nil {
		return nil, err
	}
	defaults := container.DefaultSpec().Linux
	for _, d := range defaults.Devices {
		if !hasDevice(spec.Linux.Devices, d.Path) {
			spec.Linux.Devices = append(spec.Linux.Devices, d)
		}
	}
	// As runc, the spec's device rules are followed by the runtime's own allow list (what the
	// nodes above need, and mknod): Docker counts on it. The list's first rule, deny all, is
	// the spec's to give.
	if spec.Linux.Resources == nil {
		spec.Linux.Resources = &specs.LinuxResources{}
	}
	spec.Linux.Resources.Devices = append(spec.Linux.Resources.Devices, defaults.Resources.Devices[1:]...)
	return &spec, nil
}

// withinHostCapabilities keeps of the process's capabilities those this host can give: a
// capability the host lacks (CAP_SYS_RESOURCE on some VMs) would only fail the start, as a
// privileged container asks for them all. Unknown names are left for the runtime to refuse.
func withinHostCapabilities(p *specs.Process) error {
	if p.Capabilities == nil {
		return nil
	}
	host, err := container.HostCapabilities()
	if err != nil {
		return err
	}
	known := container.Capabilities()
	dropped := map[string]bool{}
	keep := func(set []string) []string {
		return slices.DeleteFunc(slices.Clone(set), func(c string) bool {
			drop := slices.Contains(known, c) && !slices.Contains(host, c)
			dropped[c] = dropped[c] || drop
			return drop
		})
	}
	c := p.Capabilities
	c.Bounding, c.Effective, c.Permitted, c.Inheritable, c.Ambient = keep(c.Bounding), keep(c.Effective), keep(c.Permitted), keep(c.Inheritable), keep(c.Ambient)
	for name, drop := range dropped {
		if drop {
			logrus.Warnf("%s left out: this host cannot give it", name)
		}
	}
	return nil
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
	initExe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", r.Init.Pid))
	release := ReleaseInit
	if f := Seams.ReleaseInit; f != nil {
		release = f
	}
	if err := release(s.fifo(id)); err != nil {
		return err
	}
	// As runc, start returns once the command runs: a signal sent right after must reach the
	// command, not the init on its way to execve. The link can be unreadable in the middle of
	// the execve: only a new program or the init's end says the wait is over (a poststart hook
	// was told "stopped" in the slow v2 VM).
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", r.Init.Pid))
		if (err == nil && exe != initExe) || !r.Init.Alive() {
			break
		}
	}
	if r.Spec.Hooks != nil {
		// A poststart hook that fails is reported; the container runs on.
		if err := runHooks(s, r, "poststart", r.Spec.Hooks.Poststart); err != nil {
			logrus.Warn(err)
		}
	}
	return nil
}

// ReleaseInit lets a created container's command run, the second step of the two-step start:
// it writes a byte to the exec fifo, which the init opened before it changed root and reads
// last, right before it executes the command; then it removes the fifo, so that the container
// is no longer created. The open does not wait: the init holds the fifo open to read, and
// without a reader (an init that died) the kernel refuses a non-blocking open for writing
// (ENXIO) where a blocking one would wait for ever.
func ReleaseInit(fifo string) error {
	f, err := os.OpenFile(fifo, os.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("the container's init is gone before its command ran: %w", err)
	}
	_, err = f.Write([]byte{0})
	f.Close()
	if err != nil {
		return fmt.Errorf("write the exec fifo: %w", err)
	}
	return os.Remove(fifo)
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
