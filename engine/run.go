package engine

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/moby/moby/api/types/events"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"

	"github.com/mydocker/mydocker/cgroups"
	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/internal/faults"
	"github.com/mydocker/mydocker/internal/fsutil"
	"github.com/mydocker/mydocker/network"
	"github.com/mydocker/mydocker/rootless"
	"github.com/mydocker/mydocker/runconfig"
	"github.com/mydocker/mydocker/workspace"
)

// Run creates a container from opts and starts it. A detached container returns as soon as
// its command runs; otherwise Run waits and returns the command's exit status (128+n for
// signal n). An error means the container did not start, and nothing of it is left.
func (e *Engine) Run(opts *Options, stdio container.Stdio) (id string, exitCode int, err error) {
	opts.HostNetwork = len(opts.Networks) > 0 && opts.Networks[0] == "host"
	// Before the init is forked, which gets the user namespace at once.
	if err := e.chooseUserNS(opts); err != nil {
		return "", 0, err
	}
	if opts.CIDFile != "" {
		if _, err := os.Stat(opts.CIDFile); err == nil {
			return "", 0, fmt.Errorf("container ID file found, make sure the other container isn't running or delete %s", opts.CIDFile)
		}
	}
	if opts.Detach {
		c, err := e.create(opts, nil)
		if err != nil {
			return "", 0, err
		}
		return c.st.ID, 0, e.startMonitor(c.st, c.owner)
	}
	// A container that stays is logged, as Docker logs it, while its output still goes to the
	// caller's files (teeOutput). A --rm container's goes straight to them: no copy on the
	// way, and no container is left to ask for its logs.
	initStdio := stdio
	var tee *teeOutput
	if !opts.AutoRemove && !opts.Tty {
		if tee, err = newTeeOutput(stdio); err != nil {
			return "", 0, fmt.Errorf("output pipes: %w", err)
		}
		defer tee.close()
		initStdio = tee.stdio
	}
	// Signals to relay are caught while the container is made (it takes a millisecond),
	// before it starts.
	catch := sync.OnceValue(container.CatchSignals)
	go catch()
	defer func() { catch().Stop() }()
	var forked func()
	if tee != nil {
		forked = tee.started
	}
	c, p, err := e.createForeground(opts, opts.Tty, initStdio, forked)
	if err != nil {
		return "", 0, err
	}
	defer c.owner.Unlock()
	if tee != nil {
		if err := tee.copy(e.containers.LogPath(c.st.ID), c.st.LogConfig); err != nil {
			p.Kill()
			e.startFailed(c.st, err)
			return "", 0, err
		}
	}
	faults.Point("run:created")
	e.containerEvent(c.st, events.ActionAttach, nil) // the caller's terminal or pipes are its streams
	sigs := catch()
	if err := e.start(c, p); err != nil {
		return "", 0, err
	}
	faults.Point("run:started")
	code := p.WaitForeground(sigs, stdio, opts.Interactive)
	if tee != nil {
		tee.close() // the whole output logged before the exit is recorded, as the monitor does
	}
	e.finish(c.st, code)
	return c.st.ID, code, nil
}

// createForeground makes a foreground container while its init is forked (forkInit, create):
// the init's Go runtime starts up meanwhile, and what a process's first start pays once is
// paid beside the fork (warmUp). forked, when set, runs once the init is forked. On failure
// nothing of either is left; on success the caller unlocks c.owner.
func (e *Engine) createForeground(opts *Options, terminal bool, stdio container.Stdio, forked func()) (*created, *container.Init, error) {
	go warmUp()
	fork := forkInit(opts.InitLinux(), terminal, stdio, forked)
	c, err := e.create(opts, fork)
	if err != nil {
		if p, err := fork(); err == nil {
			p.Kill()
		}
		return nil, nil, err
	}
	p, err := fork()
	if err != nil {
		e.startFailed(c.st, err)
		c.owner.Unlock()
		return nil, nil, err
	}
	return c, p, nil
}

// warmUp does what a process's first start pays once (container.WarmUp), and builds the
// state's encoder: from a goroutine of its own, beside the init's fork.
func warmUp() {
	container.WarmUp()
	json.Marshal(&State{})
}

// forking waits for a container's init being forked, and returns it.
type forking func() (*container.Init, error)

// forkInit forks a container's init (container.StartInit) from a goroutine of its own: its
// clone and execve mostly wait for the kernel, and the container is made meanwhile. forked,
// when set, runs once the init is forked.
func forkInit(linux *specs.Linux, terminal bool, stdio container.Stdio, forked func()) forking {
	done := make(chan struct{})
	var p *container.Init
	var err error
	go func() {
		defer close(done)
		p, err = container.StartInit(linux, terminal, stdio)
		if forked != nil {
			forked()
		}
	}()
	return func() (*container.Init, error) {
		<-done
		return p, err
	}
}

// created is a container that create made and recorded, for start to start.
type created struct {
	st     *State
	bundle *container.Bundle
	owner  *fsutil.Lock // held for the container's life
	// joining says create started to put the init in its cgroups (JoinCgroupsMeanwhile) and
	// sent it its bundle; otherwise start does.
	joining bool
}

// startFailed cleans up after a start that failed: run's container is removed whole; one that
// create made, or that start started again, is kept (failed).
func (e *Engine) startFailed(st *State, err error) {
	if st.Waiting {
		e.failed(st, err)
		return
	}
	e.discard(st)
}

// failed records a start that failed on a container that is to stay: what it held is given
// back, and the error is kept in its state, where inspect shows it.
func (e *Engine) failed(st *State, err error) {
	cleanup := e.release(st)
	if serr := e.record(st, func(st *State) {
		st.Pid, st.PidStart = 0, 0
		st.Error = err.Error()
		keepCleanupError(st, cleanup)
	}); serr != nil {
		logFor(st.ID).WithError(serr).Warn("could not record a failed start")
	}
}

// create makes the container and records it (Created), in steps each later one relies on,
// with one rollback (discard) for all of them:
//
//  1. check the options, which touch nothing;
//  2. reserve: the container's id, its directory, owner lock and name;
//  3. hold what it uses, its image and volumes (those the image declares included), so that
//     no rmi, prune or volume rm takes them from now on (holdImageAndVolumes);
//  4. fill the volumes that are empty with what the image has where they are mounted
//     (fillVolumes), as Docker does;
//  5. the spec: the image's config and the options merged, the user resolved in the image,
//     the /etc files;
//  6. the root filesystem on the image's layers, the spec and the bind sources on disk;
//  7. publish the state: from here the container is listed.
//
// Given the container's init being forked (a foreground run), it makes all but the root
// filesystem meanwhile, then puts the init in its cgroups (Init.JoinCgroupsMeanwhile: the
// cgroup filesystem's calls overlap with create's own writes) and sends it its bundle as soon
// as it is whole: the init prepares the container while create records it. The network is
// joined at start.
func (e *Engine) create(opts *Options, fork forking) (_ *created, retErr error) {
	netNames, err := e.checkOptions(opts)
	if err != nil {
		return nil, err
	}
	if err := e.chooseUserNS(opts); err != nil {
		return nil, err
	}
	driver, err := remapDriver(opts)
	if err != nil {
		return nil, err
	}
	id := container.NewID()
	cg, err := containerCgroups(id, opts)
	if err != nil {
		return nil, err
	}
	st := &State{
		ID:            id,
		Network:       netNames[0],
		Links:         opts.Links,
		PortBindings:  opts.Ports,
		Name:          opts.Name,
		Image:         opts.Image,
		Created:       time.Now().UTC(),
		Status:        Created,
		Driver:        driver.Name(),
		AutoRemove:    opts.AutoRemove,
		Detached:      opts.Detach,
		NoPivot:       opts.NoPivot,
		Init:          opts.Init,
		OpenStdin:     opts.Interactive && opts.Detach,
		LogConfig:     opts.LogConfig,
		Etc:           opts.Etc,
		RestartPolicy: opts.RestartPolicy,
		StopTimeout:   opts.StopTimeout,
		HostConfig: HostConfig{
			CapAdd:      opts.CapAdd,
			CapDrop:     opts.CapDrop,
			Privileged:  opts.Privileged,
			SecurityOpt: opts.SecurityOpt,
			UsernsMode:  opts.UsernsMode,
		},
	}
	if cg != nil {
		st.Cgroups = cg.Paths()
	}
	for i, n := range netNames {
		if isBridgeNetwork(n) {
			a := NetworkAttachment{Name: n}
			if i == 0 {
				a.Aliases = opts.NetworkAliases
			}
			st.Networks = append(st.Networks, a)
		}
	}
	owner, err := e.containers.Reserve(st)
	if err != nil {
		return nil, err
	}
	var p *container.Init // forked, once create waited for it
	joining, sent := false, false
	var madeSources []string
	defer func() {
		if retErr != nil {
			switch {
			case sent:
				p.Kill() // out of the root filesystem it may have mounted; waits for its cgroups
			case joining:
				p.WaitCgroups() // done before its cgroups are removed
			}
			workspace.RemoveVolumeSources(madeSources)
			e.discard(st)
			owner.Unlock()
		}
	}()
	h, err := e.holdImageAndVolumes(id, opts)
	if err != nil {
		return nil, err
	}
	faults.Point("create:held")
	img := h.image
	st.ImageID, st.NewVolumes, st.AnonymousVolumes = img.ID.String(), h.made, h.anonymous
	layers, err := e.images.LayerDirs(img)
	if err != nil {
		return nil, err
	}
	if err := e.fillVolumes(workspace.NewUnion(layers), h.volumes); err != nil {
		return nil, err
	}
	spec, err := e.buildSpec(st, opts, img, h.volumes, layers)
	if err != nil {
		return nil, err
	}
	if fork != nil && cg != nil {
		if p, err = fork(); err != nil {
			return nil, err
		}
		if err := p.JoinCgroupsMeanwhile(cg, spec, opts.Init); err != nil {
			return nil, err
		}
		joining = true
	}
	lower := layers
	if opts.UserNS == nil { // an id-mapped rootfs has its init make the mount points
		if lower, err = e.withInitLayer(driver, layers); err != nil {
			return nil, err
		}
	}
	rootfs, err := driver.Prepare(e.containers.layerDir(id), lower)
	if err != nil {
		return nil, fmt.Errorf("prepare root filesystem: %w", err)
	}
	spec.Root.Path = rootfs.Path
	st.Rootfs = rootfs.Mount
	if madeSources, err = workspace.MakeVolumeSources(spec.Mounts); err != nil {
		return nil, err
	}
	filter, err := e.seccompFilter(spec.Linux.Seccomp)
	if err != nil {
		return nil, err
	}
	b := &container.Bundle{Spec: spec, RootfsMount: rootfs.Mount, IDMapRootfs: opts.UserNS != nil, NoPivot: opts.NoPivot, Init: opts.Init, Seccomp: filter}
	if joining {
		// The bundle goes as soon as it is whole: the init decodes it, and may prepare the
		// container (Bundle.PrepareEarly), while the container is recorded.
		if err := p.Send(b); err != nil {
			return nil, err
		}
		sent = true
	}
	if err := e.containers.SaveSpec(st, spec); err != nil {
		return nil, err
	}
	if err := e.containers.Publish(st); err != nil {
		return nil, err
	}
	e.containerEvent(st, events.ActionCreate, nil)
	if opts.CIDFile != "" {
		if err := writeCIDFile(opts.CIDFile, id); err != nil {
			return nil, err
		}
	}
	return &created{st: st, bundle: b, owner: owner, joining: joining}, nil
}

// checkOptions refuses what create cannot make before anything is made, and returns the
// networks the container joins (Docker's default one made on first use). A container of a
// dead watcher that holds the name asked for is repaired, so that the name can be taken.
func (e *Engine) checkOptions(opts *Options) (netNames []string, err error) {
	if opts.Name != "" {
		if err := ValidateName(opts.Name); err != nil {
			return nil, err
		}
		if err := e.repairNameHolder(opts.Name); err != nil {
			return nil, err
		}
	}
	if err := opts.Etc.Validate(); err != nil {
		return nil, err
	}
	if opts.AutoRemove && opts.RestartPolicy.Name != "" {
		return nil, errors.New("conflicting options: --restart and --rm")
	}
	if netNames, err = opts.networkNames(); err != nil {
		return nil, err
	}
	if rootless.Active() {
		if netNames, err = rootlessNetworks(netNames); err != nil {
			return nil, err
		}
	}
	for _, n := range netNames {
		switch n {
		case "none", "host", network.UserModeName:
		case network.DefaultName: // made by the first start that needs it (connect)
		default:
			if _, err := e.networks.Get(n); err != nil {
				return nil, err
			}
		}
	}
	return netNames, nil
}

// buildSpec merges the image's config and the options into the container's spec (its config
// in the image's terms into st), with its named volumes mounted, its user resolved in the
// image and its /etc files written. -P's ports are the image's exposed ones, given host
// ports when the container starts.
func (e *Engine) buildSpec(st *State, opts *Options, img *workspace.Image, volumes []NamedVolume, layers []string) (*specs.Spec, error) {
	mounts := slices.Clone(opts.Mounts)
	for _, nv := range volumes {
		v, err := e.volume(nv.Name)
		if err != nil {
			return nil, err
		}
		mode := "rw"
		if nv.ReadOnly {
			mode = "ro"
		}
		mounts = append(mounts, specs.Mount{Type: "bind", Source: v.Mountpoint, Destination: nv.Destination, Options: []string{"rbind", "rprivate", mode}})
	}
	ro := opts.Options
	ro.Mounts = mounts
	spec, config, err := ro.Spec(st.ID, img.Config.Config)
	if err != nil {
		return nil, err
	}
	st.Config = config
	if opts.PublishAll {
		for _, p := range slices.Sorted(maps.Keys(config.ExposedPorts)) {
			num, proto, _ := strings.Cut(p, "/")
			port, err := strconv.ParseUint(num, 10, 16)
			if err != nil || port == 0 {
				return nil, fmt.Errorf("invalid exposed port %q", p)
			}
			st.PortBindings = append(st.PortBindings, network.PortMapping{ContainerPort: uint16(port), Proto: cmp.Or(proto, "tcp")})
		}
	}
	// -u, else the image's USER, resolved in the image.
	if err := setUser(spec, cmp.Or(opts.User, config.User), layers); err != nil {
		return nil, err
	}
	etcMounts, err := e.writeEtcFiles(st, spec.Hostname)
	if err != nil {
		return nil, err
	}
	// Its root writes them, and a new volume, as root of its own user namespace.
	var owned []string
	for _, m := range etcMounts {
		owned = append(owned, m.Source)
	}
	for _, v := range st.NewVolumes {
		nv, err := e.volume(v)
		if err != nil {
			return nil, err
		}
		owned = append(owned, nv.Mountpoint)
	}
	if err := giveToRoot(spec, owned...); err != nil {
		return nil, err
	}
	// Docker's order: the default mounts, the /etc files, then the volumes (Spec put last).
	spec.Mounts = slices.Insert(spec.Mounts, len(spec.Mounts)-len(mounts), etcMounts...)
	return spec, nil
}

// writeCIDFile writes a new container's id to path (run --cidfile), which must not exist.
func writeCIDFile(path, id string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("create the container ID file: %w", err)
	}
	_, err = f.WriteString(id)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("write the container ID file: %w", err)
	}
	return nil
}

// setUser resolves -u against the image's /etc/passwd and /etc/group into the spec's
// numeric user (an image without them knows only root and numeric ids).
func setUser(spec *specs.Spec, user string, layers []string) error {
	passwd, perr := workspace.ReadImageFile(layers, "etc/passwd")
	group, gerr := workspace.ReadImageFile(layers, "etc/group")
	u, err := runconfig.LookupUser(user, passwd, perr, group, gerr)
	if err != nil {
		return err
	}
	runconfig.SetUser(spec, u)
	return nil
}

// start lets the container's init (started by container.StartInit) run the command and
// records the container as running. On failure the container is removed whole.
func (e *Engine) start(c *created, p *container.Init) (retErr error) {
	st, b := c.st, c.bundle
	defer func() {
		if retErr != nil {
			p.Kill() // and waits for its cgroups' work, not done in cgroups being removed
			e.startFailed(st, retErr)
		}
	}()
	if !c.joining {
		if st.Cgroups != nil {
			// Made and joined while the init starts and prepares the container (see
			// JoinCgroupsMeanwhile), as early as can be.
			if err := p.JoinCgroupsMeanwhile(cgroups.Load(st.Cgroups), b.Spec, b.Init); err != nil {
				return err
			}
		}
		// The init decodes its bundle while it is put in its cgroups and on its network;
		// then it goes on, and its limits are set once it is ready to execute the command
		// (Init.Start). (A bundle create sent went as soon as it was whole.)
		if err := p.Send(b); err != nil {
			return err
		}
	}
	if err := e.holdUserNamespace(st); err != nil {
		return err
	}
	if err := e.connect(st, b.Spec.Hostname, p.Pid()); err != nil {
		return err
	}
	if err := p.Start(); err != nil {
		return err
	}
	proc, ip, ports, attached := p.Process(), st.IP, st.Ports, st.Networks
	if err := e.record(st, func(st *State) {
		st.Status, st.Waiting, st.Error, st.ExitCode = Running, false, "", 0
		st.Pid, st.PidStart = proc.Pid, proc.Start
		st.IP, st.Ports = ip, ports
		st.Networks = withEndpoints(st.attachments(), attached)
		st.StartedAt = time.Now().UTC()
	}); err != nil {
		return err
	}
	e.containerEvent(st, events.ActionStart, nil)
	return nil
}

// finish records the exit, gives back what the container held and, for --rm, removes it.
// What it cannot do is logged, and kept in the state of a container that stays.
func (e *Engine) finish(st *State, code int) {
	e.containerEvent(st, events.ActionDie, map[string]string{"exitCode": strconv.Itoa(code)})
	if st.AutoRemove {
		// No record stays to keep the exit in; removeFiles gives back what the container held.
		faults.Point("finish:removing")
		if err := e.removeFiles(st); err != nil {
			logFor(st.ID).WithError(err).Warn("could not remove the container after it exited (--rm)")
			return
		}
		e.discardVolumes(st.ID, st.AnonymousVolumes)
		e.containerEvent(st, events.ActionDestroy, nil)
		return
	}
	stats, err := cgroups.Load(st.Cgroups).Stats()
	oomKilled := err == nil && stats.OOMKills > 0
	cleanup := e.release(st)
	faults.Point("finish:released")
	if err := e.record(st, func(st *State) {
		st.OOMKilled = oomKilled
		st.Status = Exited
		st.ExitCode = code
		st.FinishedAt = time.Now().UTC()
		st.Pid, st.PidStart = 0, 0
		keepCleanupError(st, cleanup)
	}); err != nil {
		logFor(st.ID).WithError(err).Warn("could not record the container's exit")
	}
}

// startReport is what the monitor tells `run -d` once the container started, or failed to.
type startReport struct {
	Code    int    `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
}

// startMonitor hands the container to a monitor process (this binary re-executed in its own
// session) that starts it, logs its output, records its exit and performs --rm. The monitor
// inherits the owner lock, so the container stays owned after this process exits.
func (e *Engine) startMonitor(st *State, owner *fsutil.Lock) (retErr error) {
	defer owner.Unlock()
	reportR, reportW, err := os.Pipe()
	if err != nil {
		err = fmt.Errorf("monitor pipe: %w", err)
		e.startFailed(st, err)
		return err
	}
	defer reportR.Close()
	// The monitor's own log: what it logs, and anything it prints, a panic included.
	monitorLog, err := os.OpenFile(e.containers.monitorLogPath(st.ID), os.O_CREATE|os.O_WRONLY|os.O_APPEND|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		reportW.Close()
		err = fmt.Errorf("open the monitor's log: %w", err)
		e.startFailed(st, err)
		return err
	}
	defer monitorLog.Close()
	cmd := &exec.Cmd{
		Path:        monitorBinary,
		Args:        []string{monitorName, e.root, st.ID},
		Env:         monitorEnv(),
		Stdout:      monitorLog,
		Stderr:      monitorLog,
		ExtraFiles:  []*os.File{owner.File(), reportW},
		SysProcAttr: &syscall.SysProcAttr{Setsid: true},
	}
	err = cmd.Start()
	reportW.Close()
	if err != nil {
		err = fmt.Errorf("start monitor: %w", err)
		e.startFailed(st, err)
		return err
	}
	// The monitor outlives a command (init reaps it then); a server that lives on reaps it
	// when it ends, as it must: a long-lived process would gather its zombies otherwise.
	go cmd.Wait()
	var rep startReport
	if err := json.NewDecoder(reportR).Decode(&rep); err != nil {
		return fmt.Errorf("the monitor of container %s died before the container started (see %s): %w", container.ShortID(st.ID), e.containers.monitorLogPath(st.ID), err)
	}
	if rep.Message != "" {
		return &container.StartError{Code: rep.Code, Message: rep.Message}
	}
	return nil
}

// monitorEnv is the monitor's environment: its PATH, its log level, and the tests' settings: for the inits it starts (container.InitEnvVar),
// and the points where they stop it (faults.Env).
func monitorEnv() []string {
	env := []string{monitorPath(), "MYDOCKER_LOG_LEVEL=" + logrus.GetLevel().String()}
	env = append(env, rootless.Env()...)
	if v, ok := os.LookupEnv(container.InitEnvVar); ok {
		env = append(env, container.InitEnvVar+"="+v)
	}
	return append(env, faults.Env()...)
}

// monitorPath is the PATH the monitor runs with: the caller's, to find iptables as it would.
func monitorPath() string {
	if p := os.Getenv("PATH"); p != "" {
		return "PATH=" + p
	}
	return "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
}

// startErrorReport turns a start failure into a report for `run -d`.
func startErrorReport(err error) startReport {
	var se *container.StartError
	if errors.As(err, &se) {
		return startReport{Code: se.Code, Message: se.Message}
	}
	return startReport{Code: 125, Message: err.Error()}
}

// bundleOf rebuilds what a stored container's init needs: its spec and rootfs mount.
func (e *Engine) bundleOf(st *State) (*container.Bundle, error) {
	spec, err := e.containers.Spec(st.ID)
	if err != nil {
		return nil, err
	}
	filter, err := e.seccompFilter(spec.Linux.Seccomp)
	if err != nil {
		return nil, err
	}
	return &container.Bundle{Spec: spec, RootfsMount: st.Rootfs, IDMapRootfs: hasUserNS(spec), NoPivot: st.NoPivot, Init: st.Init, Seccomp: filter}, nil
}

// repairNameHolder repairs the container that holds name if its watcher died: a run that
// wants the name of a container killed before it ever ran (or of a --rm one) gets it.
func (e *Engine) repairNameHolder(name string) error {
	holder, err := e.Get(name)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	_, err = e.repair(holder)
	return err
}
