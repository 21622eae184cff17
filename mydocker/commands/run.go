package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v3"

	"github.com/mydocker/mydocker/cgroups"
	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/engine"
	"github.com/mydocker/mydocker/network"
	"github.com/mydocker/mydocker/runconfig"
	"github.com/mydocker/mydocker/workspace"
)

// one lets flag parsing stop at the image: what follows is the container's command, flags
// and all (`mydocker run busybox ls -l`).
var one = 1

// processFlags are the flags run and exec share: how the process gets its stdio, environment
// and working directory.
func processFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "interactive", Aliases: []string{"i"}, Usage: "keep stdin open"},
		&cli.BoolFlag{Name: "tty", Aliases: []string{"t"}, Usage: "allocate a pseudo-terminal"},
		&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "set an environment variable (KEY=VALUE)"},
		&cli.StringFlag{Name: "workdir", Aliases: []string{"w"}, Usage: "working directory inside the container"},
	}
}

// containerFlags are the flags of run and create the program has taught.
func (p Program) containerFlags() []cli.Flag {
	flags := processFlags()
	for _, f := range runFlags() {
		if p.runFlagTaught(f.Names()[0]) {
			flags = append(flags, f)
		}
	}
	if p.taught(12) {
		flags = append(flags, securityFlags()...)
	}
	return flags
}

func (p Program) createCommand() *cli.Command {
	return &cli.Command{
		Name:                   "create",
		Usage:                  "create a new container, to start later",
		ArgsUsage:              "IMAGE [COMMAND] [ARG...]",
		UseShortOptionHandling: true,
		StopOnNthArg:           &one,
		OnUsageError:           onUsageError,
		Flags:                  p.containerFlags(),
		Action: func(_ context.Context, cmd *cli.Command) error {
			e, opts, err := p.containerToMake(cmd, "create [OPTIONS] IMAGE [COMMAND] [ARG...]")
			if err != nil {
				return err
			}
			id, err := e.Create(opts)
			if err != nil {
				return &statusError{code: 125, err: err}
			}
			fmt.Println(id)
			return nil
		},
	}
}

func startCommand() *cli.Command {
	return &cli.Command{
		Name:                   "start",
		Usage:                  "start one or more stopped containers",
		ArgsUsage:              "CONTAINER [CONTAINER...]",
		UseShortOptionHandling: true,
		OnUsageError:           onUsageError,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "attach", Aliases: []string{"a"}, Usage: "attach stdout and stderr, and exit with the container's status"},
			&cli.BoolFlag{Name: "interactive", Aliases: []string{"i"}, Usage: "attach stdin too (a container made with -i)"},
		},
		Action: func(_ context.Context, cmd *cli.Command) error {
			if cmd.Bool("attach") || cmd.Bool("interactive") {
				if cmd.Args().Len() != 1 {
					return usageError{msg: "you cannot start and attach multiple containers at once"}
				}
				e, err := openEngine(cmd)
				if err != nil {
					return err
				}
				var stdin io.Reader
				if cmd.Bool("interactive") {
					stdin = os.Stdin
				}
				code, err := e.StartAttached(cmd.Args().First(), stdin, os.Stdout, os.Stderr)
				if err != nil {
					return err
				}
				if code != 0 {
					return &statusError{code: code}
				}
				return nil
			}
			return eachArg(cmd, "start [OPTIONS] CONTAINER [CONTAINER...]", func(e *engine.Engine, ref string) (string, error) {
				return ref, e.Start(ref)
			})
		},
	}
}

func restartCommand() *cli.Command {
	return &cli.Command{
		Name:         "restart",
		Usage:        "restart one or more containers",
		ArgsUsage:    "CONTAINER [CONTAINER...]",
		OnUsageError: onUsageError,
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "time", Aliases: []string{"t"}, Value: 10, Usage: "seconds to wait for stop before killing it"},
		},
		Action: func(_ context.Context, cmd *cli.Command) error {
			timeout := stopTimeout(cmd)
			return eachArg(cmd, "restart [OPTIONS] CONTAINER [CONTAINER...]", func(e *engine.Engine, ref string) (string, error) {
				return ref, e.Restart(ref, timeout)
			})
		},
	}
}

func (p Program) runCommand() *cli.Command {
	flags := p.containerFlags()
	return &cli.Command{
		Name:                   "run",
		Usage:                  "run a command in a new container",
		ArgsUsage:              "IMAGE [COMMAND] [ARG...]",
		UseShortOptionHandling: true,
		StopOnNthArg:           &one,
		OnUsageError:           onUsageError,
		Flags:                  flags,
		Action: func(ctx context.Context, cmd *cli.Command) error {
			return p.runAction(ctx, cmd)
		},
	}
}

// runFlags are run's own flags, besides processFlags and securityFlags.
func runFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "run in the background and print the container id"},
		&cli.BoolFlag{Name: "rm", Usage: "remove the container when it exits"},
		&cli.StringFlag{Name: "name", Usage: "assign a name to the container"},
		&cli.StringFlag{Name: "hostname", Aliases: []string{"h"}, Usage: "container host name"},
		&cli.StringFlag{Name: "user", Aliases: []string{"u"}, Usage: "user[:group] to run as, by name or id"},
		&cli.BoolFlag{Name: "read-only", Usage: "mount the container's root filesystem read-only"},
		&cli.StringSliceFlag{Name: "volume", Aliases: []string{"v"}, Usage: "bind mount a volume (HOST:CONTAINER[:ro])"},
		&cli.StringFlag{Name: "memory", Aliases: []string{"m"}, Usage: "memory limit (b, k, m, g: 32m)"},
		&cli.StringFlag{Name: "memory-swap", Usage: "memory plus swap limit; -1 for unlimited swap"},
		&cli.StringFlag{Name: "cpus", Usage: "number of CPUs (0.5: half a CPU)"},
		&cli.StringFlag{Name: "cpu-shares", Aliases: []string{"c"}, Usage: "CPU weight under contention (1024 by default)"},
		&cli.StringFlag{Name: "cpuset-cpus", Usage: "CPUs the container may use (0-2,4)"},
		&cli.StringFlag{Name: "cpuset-mems", Usage: "memory nodes the container may use"},
		&cli.StringFlag{Name: "pids-limit", Usage: "maximum number of processes (0 or -1: unlimited)"},
		&cli.StringSliceFlag{Name: "network", Aliases: []string{"net"}, Usage: "connect to a network: NAME, bridge, host or none (default bridge); again for more networks"},
		&cli.StringSliceFlag{Name: "network-alias", Usage: "another name the container answers to on its (first) network"},
		&cli.StringSliceFlag{Name: "link", Usage: "add a link to another container (NAME[:ALIAS]): an /etc/hosts entry"},
		&cli.StringSliceFlag{Name: "publish", Aliases: []string{"p"}, Usage: "publish a port: HOSTPORT:CONTAINERPORT[/tcp|udp]"},
		&cli.BoolFlag{Name: "publish-all", Aliases: []string{"P"}, Usage: "publish every exposed port on a free host port"},
		&cli.StringSliceFlag{Name: "expose", Usage: "expose a port (PORT[/tcp|udp]) without publishing it"},
		&cli.BoolFlag{Name: "no-pivot", Usage: "use chroot instead of pivot_root (weaker: the host's mounts stay reachable)"},
		&cli.StringFlag{Name: "storage-driver", Usage: "rootfs driver: overlay, aufs or vfs (default: the first the kernel supports)"},
		&cli.StringSliceFlag{Name: "log-opt", Usage: "log driver options: max-size=10m, max-file=3"},
		&cli.StringSliceFlag{Name: "env-file", Usage: "read environment variables from a file (KEY=VALUE lines)"},
		&cli.StringFlag{Name: "entrypoint", Usage: "overwrite the image's entrypoint (and drop its command)"},
		&cli.StringSliceFlag{Name: "label", Aliases: []string{"l"}, Usage: "set a label on the container (KEY=VALUE)"},
		&cli.StringSliceFlag{Name: "label-file", Usage: "read labels from a file (KEY=VALUE lines)"},
		&cli.StringFlag{Name: "stop-signal", Usage: "signal stop sends the container (default SIGTERM, or the image's)"},
		&cli.IntFlag{Name: "stop-timeout", Usage: "seconds stop waits before SIGKILL (default 10)"},
		&cli.StringFlag{Name: "cidfile", Usage: "write the container id to a file"},
		&cli.BoolFlag{Name: "init", Usage: "run an init as PID 1 that passes signals on and reaps zombies, the command its child"},
		&cli.StringFlag{Name: "restart", Value: "no", Usage: "restart policy: no, always, unless-stopped, on-failure[:MAX] (detached containers)"},
		&cli.StringSliceFlag{Name: "add-host", Usage: "add a line to /etc/hosts (HOST:IP)"},
		&cli.StringSliceFlag{Name: "dns", Usage: "set a DNS server"},
		&cli.StringSliceFlag{Name: "dns-search", Usage: "set a DNS search domain"},
		&cli.StringSliceFlag{Name: "dns-option", Usage: "set a DNS option"},
		&cli.StringSliceFlag{Name: "tmpfs", Usage: "mount a tmpfs (PATH[:OPTIONS], size=64m,mode=1777...)"},
		&cli.StringSliceFlag{Name: "mount", Usage: "attach a filesystem: type=bind|volume|tmpfs,source=...,target=...[,readonly]"},
		&cli.StringFlag{Name: "shm-size", Usage: "size of /dev/shm (b, k, m, g; default 64m)"},
		&cli.StringSliceFlag{Name: "sysctl", Usage: "set a kernel parameter of the container's own namespaces (net.ipv4.ip_forward=1)"},
		&cli.StringFlag{Name: "userns", Usage: "user namespace: host keeps the container in the host's when the engine remaps users (--userns-remap)"},
	}
}

// readKeyValueFile reads an --env-file or --label-file as Docker does: one KEY=VALUE (or KEY)
// per line, leading blanks dropped, blank lines and # comments skipped.
func readKeyValueFile(flag, path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("invalid argument %q for \"--%s\" flag: %w", path, flag, err)
	}
	var out []string
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimLeft(line, " \t")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if k, _, _ := strings.Cut(line, "="); k == "" || strings.ContainsAny(k, " \t") {
			return nil, fmt.Errorf("invalid argument %q for \"--%s\" flag: line %d: variable %q contains whitespaces", path, flag, i+1, k)
		}
		out = append(out, strings.TrimRight(line, "\r"))
	}
	return out, nil
}

// parseLabels turns --label-file and --label settings (later ones win) into a map.
func parseLabels(cmd *cli.Command) (map[string]string, error) {
	var all []string
	for _, f := range cmd.StringSlice("label-file") {
		lines, err := readKeyValueFile("label-file", f)
		if err != nil {
			return nil, err
		}
		all = append(all, lines...)
	}
	all = append(all, cmd.StringSlice("label")...)
	if len(all) == 0 {
		return nil, nil
	}
	labels := map[string]string{}
	for _, l := range all {
		k, v, _ := strings.Cut(l, "=")
		if k == "" {
			return nil, fmt.Errorf("invalid argument %q for \"--label\" flag: no key", l)
		}
		labels[k] = v
	}
	return labels, nil
}

func (p Program) runAction(_ context.Context, cmd *cli.Command) error {
	e, opts, err := p.containerToMake(cmd, "run [OPTIONS] IMAGE [COMMAND] [ARG...]")
	if err != nil {
		return err
	}
	stdio := container.Stdio{Stdout: os.Stdout, Stderr: os.Stderr}
	if opts.Interactive {
		stdio.Stdin = os.Stdin
	}
	id, code, err := e.Run(opts, stdio)
	if errors.Is(err, workspace.ErrImageNotFound) {
		err = fmt.Errorf("%w: import a rootfs tarball as it: %s import FILE.tar %s", err, cmd.Root().Name, opts.Image)
	}
	if err != nil {
		return &statusError{code: container.ExitStatus(err), err: err}
	}
	if opts.Detach {
		fmt.Println(id)
		return nil
	}
	if code != 0 {
		return &statusError{code: code}
	}
	return nil
}

// containerToMake reads run's or create's arguments and opens the engine to make the container.
func (p Program) containerToMake(cmd *cli.Command, usage string) (*engine.Engine, *engine.Options, error) {
	if err := needArgs(cmd, 1, usage); err != nil {
		return nil, nil, err
	}
	opts, err := p.containerOptions(cmd)
	if err != nil {
		return nil, nil, err
	}
	e, err := openEngine(cmd)
	if err != nil {
		return nil, nil, &statusError{code: 125, err: err}
	}
	return e, opts, nil
}

// containerOptions reads what run and create share: the container to make.
func (p Program) containerOptions(cmd *cli.Command) (*engine.Options, error) {
	var v engine.Volumes
	for _, s := range cmd.StringSlice("volume") {
		if err := v.AddVolumeFlag(s); err != nil {
			return nil, &statusError{code: 125, err: err}
		}
	}
	for _, s := range cmd.StringSlice("mount") {
		if err := v.AddMountFlag(s); err != nil {
			return nil, &statusError{code: 125, err: err}
		}
	}
	mounts, named, tmpfs := v.Binds, v.Named, v.Tmpfs
	resources, err := cgroups.ParseResources(cgroups.Limits{
		Memory:     cmd.String("memory"),
		MemorySwap: cmd.String("memory-swap"),
		CPUs:       cmd.String("cpus"),
		CPUShares:  cmd.String("cpu-shares"),
		CpusetCpus: cmd.String("cpuset-cpus"),
		CpusetMems: cmd.String("cpuset-mems"),
		PidsLimit:  cmd.String("pids-limit"),
	})
	if err != nil {
		return nil, &statusError{code: 125, err: limitFlagError(err)}
	}
	var ports []network.PortMapping
	for _, p := range cmd.StringSlice("publish") {
		pm, err := network.ParsePort(p)
		if err != nil {
			return nil, &statusError{code: 125, err: err}
		}
		ports = append(ports, pm)
	}
	security := runconfig.Unconfined() // what a chapter before 12 gives its containers
	if p.taught(12) {
		if security, err = securityOptions(cmd); err != nil {
			return nil, &statusError{code: 125, err: err}
		}
	}
	logConfig, err := engine.ParseLogOpts(cmd.StringSlice("log-opt"))
	if err != nil {
		return nil, &statusError{code: 125, err: err}
	}
	var env []string // --env-file first, -e over it, as Docker
	for _, f := range cmd.StringSlice("env-file") {
		lines, err := readKeyValueFile("env-file", f)
		if err != nil {
			return nil, &statusError{code: 125, err: err}
		}
		env = append(env, lines...)
	}
	env = append(env, cmd.StringSlice("env")...)
	labels, err := parseLabels(cmd)
	if err != nil {
		return nil, &statusError{code: 125, err: err}
	}
	var entrypoint []string
	if cmd.IsSet("entrypoint") {
		entrypoint = []string{}
		if ep := cmd.String("entrypoint"); ep != "" {
			entrypoint = []string{ep}
		}
	}
	var shmSize int64
	if v := cmd.String("shm-size"); v != "" {
		if shmSize, err = cgroups.RAMInBytes(v); err != nil || shmSize <= 0 {
			return nil, &statusError{code: 125, err: fmt.Errorf("invalid argument %q for \"--shm-size\" flag: a size like 64m", v)}
		}
	}
	sysctls, err := runconfig.ParseSysctls(cmd.StringSlice("sysctl"))
	if err != nil {
		return nil, &statusError{code: 125, err: err}
	}
	restart, err := engine.ParseRestartPolicy(cmd.String("restart"))
	if err != nil {
		return nil, &statusError{code: 125, err: err}
	}
	var stopTimeout *int
	if cmd.IsSet("stop-timeout") {
		t := int(cmd.Int("stop-timeout"))
		stopTimeout = &t
	}
	opts := &engine.Options{
		Options: runconfig.Options{
			Cmd:        cmd.Args().Tail(),
			Hostname:   cmd.String("hostname"),
			Env:        env,
			Entrypoint: entrypoint,
			Labels:     labels,
			StopSignal: cmd.String("stop-signal"),
			Tmpfs:      append(cmd.StringSlice("tmpfs"), tmpfs...),
			Expose:     cmd.StringSlice("expose"),
			ShmSize:    shmSize,
			Sysctls:    sysctls,
			Workdir:    cmd.String("workdir"),
			ReadOnly:   cmd.Bool("read-only"),
			Resources:  resources,
			Mounts:     mounts,
			Tty:        cmd.Bool("tty"),
			Security:   security,
		},
		Image:          cmd.Args().First(),
		Name:           cmd.String("name"),
		User:           cmd.String("user"),
		Networks:       p.networks(cmd, len(ports) > 0),
		NetworkAliases: cmd.StringSlice("network-alias"),
		Links:          cmd.StringSlice("link"),
		Ports:          ports,
		Interactive:    cmd.Bool("interactive"),
		Detach:         cmd.Bool("detach"),
		AutoRemove:     cmd.Bool("rm"),
		NoPivot:        cmd.Bool("no-pivot"),
		Driver:         cmd.String("storage-driver"),
		SecurityOpt:    cmd.StringSlice("security-opt"),
		LogConfig:      logConfig,
		Etc: network.EtcOptions{
			ExtraHosts: cmd.StringSlice("add-host"),
			DNS:        cmd.StringSlice("dns"),
			DNSSearch:  cmd.StringSlice("dns-search"),
			DNSOptions: cmd.StringSlice("dns-option"),
		},
		StopTimeout:   stopTimeout,
		CIDFile:       cmd.String("cidfile"),
		NamedVolumes:  named,
		RestartPolicy: restart,
		PublishAll:    cmd.Bool("publish-all"),
		Init:          cmd.Bool("init"),
	}
	if p.runFlagTaught("userns") {
		opts.UsernsMode = cmd.String("userns")
	}
	return opts, nil
}

// networks are --net. Without it mydocker does as Docker, the engine puts the container on the
// default bridge network. The course's programs keep none as their default, as before chapter
// 10 taught networks (unless ports are published, which takes the bridge): every line of a
// lesson names the network it uses, and no lesson leaves a bridge behind.
func (p Program) networks(cmd *cli.Command, publishes bool) []string {
	if n := cmd.StringSlice("network"); len(n) > 0 || p.Chapter == 0 || publishes {
		return n
	}
	return []string{"none"}
}

func execCommand() *cli.Command {
	return &cli.Command{
		Name:                   "exec",
		Usage:                  "run a command in a running container",
		ArgsUsage:              "CONTAINER COMMAND [ARG...]",
		UseShortOptionHandling: true,
		StopOnNthArg:           &one,
		OnUsageError:           onUsageError,
		Flags: append(processFlags(),
			&cli.StringFlag{Name: "user", Aliases: []string{"u"}, Usage: "user[:group] to run as, by name or id"},
			&cli.BoolFlag{Name: "privileged", Usage: "give extended privileges to the command"},
		),
		Action: func(_ context.Context, cmd *cli.Command) error {
			if err := needArgs(cmd, 2, "exec [OPTIONS] CONTAINER COMMAND [ARG...]"); err != nil {
				return err
			}
			e, err := openEngine(cmd)
			if err != nil {
				return err
			}
			opts := engine.ExecOptions{
				Cmd:         cmd.Args().Tail(),
				Env:         cmd.StringSlice("env"),
				Workdir:     cmd.String("workdir"),
				User:        cmd.String("user"),
				Privileged:  cmd.Bool("privileged"),
				Interactive: cmd.Bool("interactive"),
				Tty:         cmd.Bool("tty"),
			}
			stdio := container.Stdio{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
			code, err := e.Exec(cmd.Args().First(), opts, stdio)
			var se *container.StartError
			if errors.As(err, &se) {
				return &statusError{code: se.Code, err: err}
			}
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

// limitFlags are run's flag for each limit (cgroups.Limits), as Docker names them.
var limitFlags = map[string]string{
	"Memory": "-m, --memory", "MemorySwap": "--memory-swap", "CPUs": "--cpus", "CPUShares": "-c, --cpu-shares",
	"CpusetCpus": "--cpuset-cpus", "CpusetMems": "--cpuset-mems", "PidsLimit": "--pids-limit",
}

// limitFlagError says which flag a bad limit came from, in Docker's words.
func limitFlagError(err error) error {
	var le *cgroups.LimitError
	if errors.As(err, &le) {
		return fmt.Errorf("invalid argument %q for %q flag: %w", le.Value, limitFlags[le.Limit], le.Err)
	}
	return err
}
