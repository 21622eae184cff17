package runccli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v3"
	"golang.org/x/sys/unix"

	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/runconfig"
)

func stateCommand() *cli.Command {
	return &cli.Command{
		Name:      "state",
		Usage:     "print a container's state (the runtime spec's JSON)",
		ArgsUsage: "ID",
		Action: func(_ context.Context, cmd *cli.Command) error {
			s := storeOf(cmd)
			r, err := s.load(cmd.Args().First())
			if err != nil {
				return err
			}
			return printJSON(s.ociState(r))
		},
	}
}

func killCommand() *cli.Command {
	return &cli.Command{
		Name:      "kill",
		Usage:     "send a signal (default SIGTERM) to a container's init, or with --all to all its processes",
		ArgsUsage: "ID [SIGNAL]",
		Flags:     []cli.Flag{&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "every process in the container"}},
		Action: func(_ context.Context, cmd *cli.Command) error {
			s := storeOf(cmd)
			r, err := s.load(cmd.Args().First())
			if err != nil {
				return err
			}
			name := cmd.Args().Get(1)
			if name == "" {
				name = "SIGTERM"
			}
			sig, err := parseSignal(name)
			if err != nil {
				return err
			}
			if cmd.Bool("all") && r.cgroups() != nil {
				return signalAll(r, sig)
			}
			if s.status(r) == specs.StateStopped {
				return errors.New("container not running")
			}
			return r.Init.Signal(sig)
		},
	}
}

// signalAll sends sig to every process in the container's cgroups, as runc's kill --all: its
// init's, and, stopped as it may be, what its init left behind. containerd's shim counts on
// it for a container that shares its pod's PID namespace: once the init has exited, the
// container's other processes have no PID 1 of their own whose end would take them along, and
// the shim's kill --all KILL is what ends them. The cgroups are frozen meanwhile, so that no
// process forks one the signal misses (without a freezer, they are signalled as they run, as
// runc does); a process killed while frozen dies once thawed.
func signalAll(r *record, sig unix.Signal) (err error) {
	cg := r.cgroups()
	if !cg.Frozen() {
		if err := cg.Freeze(); err != nil {
			logrus.Warnf("signal the container's processes unfrozen: %v", err)
		}
		defer func() {
			if terr := cg.Thaw(); terr != nil {
				err = errors.Join(err, fmt.Errorf("thaw the container: %w", terr))
			}
		}()
	}
	var errs []error
	for _, pid := range r.pids() {
		if err := unix.Kill(pid, sig); err != nil && !errors.Is(err, unix.ESRCH) {
			errs = append(errs, fmt.Errorf("signal process %d: %w", pid, err))
		}
	}
	return errors.Join(errs...)
}

// parseSignal takes a number, or a name with or without SIG.
func parseSignal(s string) (unix.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > 64 {
			return 0, fmt.Errorf("invalid signal %q", s)
		}
		return unix.Signal(n), nil
	}
	return container.ParseSignal(s)
}

// pids are the processes in the container's cgroups.
func (r *record) pids() []int {
	var pids []int
	for _, dir := range r.Cgroups {
		data, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(data)) {
			if pid, err := strconv.Atoi(f); err == nil && !slices.Contains(pids, pid) {
				pids = append(pids, pid)
			}
		}
		break // every hierarchy holds the same processes
	}
	return pids
}

func deleteCommand() *cli.Command {
	return &cli.Command{
		Name:      "delete",
		Usage:     "remove a stopped container (--force: a running one too, killed first)",
		ArgsUsage: "ID",
		Flags:     []cli.Flag{&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "kill it if it runs"}},
		Action: func(_ context.Context, cmd *cli.Command) error {
			return remove(storeOf(cmd), cmd.Args().First(), cmd.Bool("force"))
		},
	}
}

// remove deletes container id: its processes (a created container's waiting init, or with
// force a running one's), its cgroups and its state.
func remove(s store, id string, force bool) error {
	r, err := s.load(id)
	if err != nil {
		if force && validID(id) == nil && !fileExists(filepath.Join(s.dir(id), "state.json")) {
			// Gone already, or a create that died before it recorded the container: as runc.
			return os.RemoveAll(s.dir(id))
		}
		return err
	}
	switch st := s.status(r); st {
	case specs.StateStopped:
	case specs.StateCreated:
		r.Init.Kill(5 * time.Second)
	default:
		if !force {
			return fmt.Errorf("cannot delete container %s that is not stopped: %s", id, st)
		}
		if cg := r.cgroups(); cg != nil {
			cg.Thaw()
		}
		r.Init.Kill(5 * time.Second)
	}
	if cg := r.cgroups(); cg != nil {
		if err := destroyCgroups(cg, r.Spec); err != nil {
			return fmt.Errorf("remove the cgroups of %s: %w", id, err)
		}
	}
	if r.Spec.Hooks != nil {
		if err := runHooks(s, r, "poststop", r.Spec.Hooks.Poststop); err != nil {
			logrus.Warn(err) // the container is gone all the same
		}
	}
	return os.RemoveAll(s.dir(id))
}

var one = 1

func execCommand() *cli.Command {
	return &cli.Command{
		Name:      "exec",
		Usage:     "run one more process in a running container",
		ArgsUsage: "ID [COMMAND [ARG...]]",
		// The command's own flags are its own: parsing stops at the ID.
		StopOnNthArg: &one,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "process", Aliases: []string{"p"}, Usage: "the process, as the spec's process JSON"},
			&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "return once it runs"},
			&cli.StringFlag{Name: "pid-file", Usage: "write its pid to this file"},
			&cli.StringFlag{Name: "console-socket", Usage: "send its terminal's master side to this unix socket"},
			&cli.BoolFlag{Name: "tty", Aliases: []string{"t"}, Usage: "give it a terminal"},
			&cli.StringFlag{Name: "cwd", Usage: "its working directory"},
			&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "add K=V to its environment"},
			&cli.StringFlag{Name: "user", Aliases: []string{"u"}, Usage: "UID[:GID]"},
			&cli.BoolFlag{Name: "no-new-privs", Usage: "set no_new_privs"},
			&cli.IntFlag{Name: "preserve-fds", Usage: "not supported beyond 0"},
		},
		Action: func(_ context.Context, cmd *cli.Command) error {
			s := storeOf(cmd)
			r, err := s.load(cmd.Args().First())
			if err != nil {
				return err
			}
			if st := s.status(r); st != specs.StateRunning {
				return fmt.Errorf("cannot exec in a container that is %s", st)
			}
			p, err := execProcess(cmd, r)
			if err != nil {
				return err
			}
			var filter *container.Seccomp
			if r.Spec.Linux.Seccomp != nil {
				if filter, err = container.CompileSeccomp(r.Spec.Linux.Seccomp); err != nil {
					return err
				}
			}
			detach := cmd.Bool("detach")
			var sigs container.Signals
			if !detach {
				sigs = container.CatchSignals()
				defer sigs.Stop()
			}
			h, err := container.StartExec(r.Init.Pid, r.cgroups(), p, filter, stdio())
			if err != nil {
				return err
			}
			if p.Terminal && (detach || cmd.String("console-socket") != "") {
				if err := sendConsole(cmd.String("console-socket"), h.Pty()); err != nil {
					return err
				}
			}
			if err := writePidFile(cmd.String("pid-file"), h.Pid()); err != nil {
				return err
			}
			if detach {
				return nil
			}
			os.Exit(h.WaitForeground(sigs, stdio(), true))
			return nil
		},
	}
}

// execProcess is the process exec runs: --process's JSON, or the container's own process with
// the command line's arguments and flags.
func execProcess(cmd *cli.Command, r *record) (*specs.Process, error) {
	if path := cmd.String("process"); path != "" {
		var p specs.Process
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(data, &p); err != nil {
			return nil, fmt.Errorf("read the process %s: %w", path, err)
		}
		if len(p.Args) == 0 {
			return nil, errors.New("the process has no args")
		}
		return &p, nil
	}
	if cmd.Args().Len() < 2 {
		return nil, errors.New("exec needs a command, or --process")
	}
	p := *r.Spec.Process
	p.Args = cmd.Args().Slice()[1:]
	p.Terminal = cmd.Bool("tty")
	p.Env = append(slices.Clone(p.Env), cmd.StringSlice("env")...)
	if cwd := cmd.String("cwd"); cwd != "" {
		p.Cwd = cwd
	}
	if cmd.Bool("no-new-privs") {
		p.NoNewPrivileges = true
	}
	if u := cmd.String("user"); u != "" {
		uid, gid, _ := strings.Cut(u, ":")
		n, err := strconv.ParseUint(uid, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("--user %q: a UID[:GID] is needed", u)
		}
		p.User = specs.User{UID: uint32(n)}
		if gid != "" {
			g, err := strconv.ParseUint(gid, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("--user %q: a UID[:GID] is needed", u)
			}
			p.User.GID = uint32(g)
		}
	}
	return &p, nil
}

func psCommand() *cli.Command {
	return &cli.Command{
		Name:      "ps",
		Usage:     "list a container's processes",
		ArgsUsage: "ID",
		Flags:     []cli.Flag{&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "table", Usage: "table or json"}},
		Action: func(_ context.Context, cmd *cli.Command) error {
			r, err := storeOf(cmd).load(cmd.Args().First())
			if err != nil {
				return err
			}
			pids := r.pids()
			if pids == nil {
				pids = []int{}
			}
			if cmd.String("format") == "json" {
				return json.NewEncoder(os.Stdout).Encode(pids)
			}
			fmt.Println("PID\tCMD")
			for _, pid := range pids {
				data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
				fmt.Printf("%d\t%s\n", pid, strings.TrimSpace(strings.ReplaceAll(string(data), "\x00", " ")))
			}
			return nil
		},
	}
}

// listed is a container as list --format json prints it (runc's fields).
type listed struct {
	Version     string            `json:"ociVersion"`
	ID          string            `json:"id"`
	Pid         int               `json:"pid"`
	Status      string            `json:"status"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Created     time.Time         `json:"created"`
	Owner       string            `json:"owner"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

func listCommand() *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "list the containers",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "table", Usage: "table or json"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "ids only"},
		},
		Action: func(_ context.Context, cmd *cli.Command) error {
			s := storeOf(cmd)
			entries, err := os.ReadDir(string(s))
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
			all := []listed{}
			for _, e := range entries {
				r, err := s.load(e.Name())
				if err != nil {
					continue // being created, or not a container
				}
				st := s.ociState(r)
				all = append(all, listed{Version: st.Version, ID: r.ID, Pid: st.Pid, Status: string(st.Status), Bundle: r.Bundle,
					Rootfs: r.Spec.Root.Path, Created: r.Created, Owner: "root", Annotations: st.Annotations})
			}
			switch {
			case cmd.Bool("quiet"):
				for _, c := range all {
					fmt.Println(c.ID)
				}
			case cmd.String("format") == "json":
				return json.NewEncoder(os.Stdout).Encode(all)
			default:
				w := tabwriter.NewWriter(os.Stdout, 12, 1, 3, ' ', 0)
				fmt.Fprintln(w, "ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER")
				for _, c := range all {
					fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\n", c.ID, c.Pid, c.Status, c.Bundle, c.Created.Format(time.RFC3339Nano), c.Owner)
				}
				return w.Flush()
			}
			return nil
		},
	}
}

func specCommand() *cli.Command {
	return &cli.Command{
		Name:  "spec",
		Usage: "write a starting config.json: the runtime's default spec running sh on a terminal",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Value: ".", Usage: "where to write it"},
			&cli.BoolFlag{Name: "rootless", Usage: "a spec an ordinary user can run: a user namespace mapping root to the user, the host's network, no cgroup settings"},
		},
		Action: func(_ context.Context, cmd *cli.Command) error {
			spec := container.DefaultSpec()
			spec.Process.Terminal = true
			spec.Process.Env = append(spec.Process.Env, "TERM=xterm")
			caps := runconfig.DefaultCapabilities
			spec.Process.Capabilities = &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps}
			spec.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 1024, Soft: 1024}}
			spec.Process.NoNewPrivileges = true
			spec.Hostname = "mydocker"
			if cmd.Bool("rootless") {
				toRootless(spec)
			}
			path := filepath.Join(cmd.String("bundle"), "config.json")
			if _, err := os.Stat(path); err == nil {
				return fmt.Errorf("%s exists already: remove it first", path)
			}
			data, err := json.MarshalIndent(spec, "", "\t")
			if err != nil {
				return err
			}
			return os.WriteFile(path, append(data, '\n'), 0o666)
		},
	}
}

// toRootless makes spec one an ordinary user can run, as runc spec --rootless does: a user
// namespace where the user is root (to map more, add a range of /etc/subuid: the runtime
// writes it with newuidmap), the host's network (a user cannot make a network namespace
// reach anything), the host's /sys bound read-only (sysfs is mounted only from the network
// namespace's owner), no gid= on devpts (gid 5 is not mapped), no cgroup settings.
func toRootless(spec *specs.Spec) {
	var namespaces []specs.LinuxNamespace
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type != specs.NetworkNamespace && ns.Type != specs.UserNamespace {
			namespaces = append(namespaces, ns)
		}
	}
	spec.Linux.Namespaces = append([]specs.LinuxNamespace{{Type: specs.UserNamespace}}, namespaces...)
	spec.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: uint32(os.Geteuid()), Size: 1}}
	spec.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: uint32(os.Getegid()), Size: 1}}
	var mounts []specs.Mount
	for _, m := range spec.Mounts {
		if strings.HasPrefix(m.Destination, "/sys") {
			continue
		}
		m.Options = slices.DeleteFunc(slices.Clone(m.Options), func(o string) bool {
			return strings.HasPrefix(o, "gid=") || strings.HasPrefix(o, "uid=")
		})
		mounts = append(mounts, m)
	}
	spec.Mounts = append(mounts, specs.Mount{Destination: "/sys", Type: "none", Source: "/sys", Options: []string{"rbind", "nosuid", "noexec", "nodev", "ro"}})
	spec.Linux.Resources = nil
}

func featuresCommand() *cli.Command {
	return &cli.Command{
		Name:  "features",
		Usage: "print what this runtime supports (the runtime spec's features JSON)",
		Action: func(context.Context, *cli.Command) error {
			yes := true
			ns := []string{string(specs.PIDNamespace), string(specs.NetworkNamespace), string(specs.IPCNamespace),
				string(specs.UTSNamespace), string(specs.MountNamespace), string(specs.CgroupNamespace), string(specs.UserNamespace)}
			return printJSON(features.Features{
				OCIVersionMin: "1.0.0",
				OCIVersionMax: specs.Version,
				Hooks:         []string{},
				MountOptions:  []string{"ro", "rw", "nosuid", "nodev", "noexec", "bind", "rbind", "private", "rprivate", "relatime", "strictatime"},
				Linux: &features.Linux{
					Namespaces:   ns,
					Capabilities: container.Capabilities(),
					Cgroup:       &features.Cgroup{V1: &yes, V2: &yes, Systemd: new(bool)},
					Seccomp:      &features.Seccomp{Enabled: &yes},
				},
			})
		},
	}
}

func pauseCommand() *cli.Command {
	return freezeCommand("pause", "freeze every process of a container", true)
}
func resumeCommand() *cli.Command {
	return freezeCommand("resume", "let a paused container go on", false)
}

func freezeCommand(name, usage string, freeze bool) *cli.Command {
	return &cli.Command{
		Name:      name,
		Usage:     usage,
		ArgsUsage: "ID",
		Action: func(_ context.Context, cmd *cli.Command) error {
			r, err := storeOf(cmd).load(cmd.Args().First())
			if err != nil {
				return err
			}
			cg := r.cgroups()
			if cg == nil {
				return errors.New("the container has no cgroups")
			}
			if freeze {
				return cg.Freeze()
			}
			return cg.Thaw()
		},
	}
}

func updateCommand() *cli.Command {
	return &cli.Command{
		Name:      "update",
		Usage:     "change a container's resource limits",
		ArgsUsage: "ID",
		Flags:     []cli.Flag{&cli.StringFlag{Name: "resources", Aliases: []string{"r"}, Usage: "the spec's linux.resources JSON, in a file or - for stdin"}},
		Action: func(_ context.Context, cmd *cli.Command) error {
			r, err := storeOf(cmd).load(cmd.Args().First())
			if err != nil {
				return err
			}
			path := cmd.String("resources")
			if path == "" {
				return errors.New("update takes its limits from --resources")
			}
			var in io.Reader = os.Stdin
			if path != "-" {
				f, err := os.Open(path)
				if err != nil {
					return err
				}
				defer f.Close()
				in = f
			}
			var res specs.LinuxResources
			if err := json.NewDecoder(in).Decode(&res); err != nil {
				return fmt.Errorf("read the resources: %w", err)
			}
			return r.cgroups().Set(&res)
		},
	}
}

func eventsCommand() *cli.Command {
	return &cli.Command{
		Name:      "events",
		Usage:     "print a container's resource usage (--stats)",
		ArgsUsage: "ID",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "stats", Usage: "print the usage once"},
			&cli.DurationFlag{Name: "interval", Value: 5 * time.Second, Usage: "ignored"},
		},
		Action: func(_ context.Context, cmd *cli.Command) error {
			if !cmd.Bool("stats") {
				return errors.New("only events --stats is supported")
			}
			r, err := storeOf(cmd).load(cmd.Args().First())
			if err != nil {
				return err
			}
			st, err := r.cgroups().Stats()
			if err != nil {
				return err
			}
			// runc's shape (libcontainer's types.Stats), the fields containerd reads.
			data := map[string]any{
				"cpu":    map[string]any{"usage": map[string]any{"total": st.CPUUsage}},
				"memory": map[string]any{"usage": map[string]any{"usage": st.MemoryUsage, "limit": st.MemoryLimit}},
				"pids":   map[string]any{"current": st.Pids, "limit": st.PidsLimit},
			}
			return json.NewEncoder(os.Stdout).Encode(map[string]any{"type": "stats", "id": r.ID, "data": data})
		},
	}
}
