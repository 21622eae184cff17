package container

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/mydocker/mydocker/cgroups"
	"github.com/mydocker/mydocker/internal/faults"
)

// Stdio are the files the container's command gets when it has no terminal. They are passed
// as they are (no copying goroutine), so stdout and stderr stay apart and a pipe stays a pipe.
type Stdio struct {
	Stdin  *os.File // nil: /dev/null
	Stdout *os.File
	Stderr *os.File
}

// Init is the parent's handle on a container's init: forked by StartInit, it waits in its new
// namespaces for its bundle (Send) and the word to go on (Start), then becomes the container's
// command. Between the two the init decodes its bundle while the parent puts it in its cgroups
// and networks.
type Init struct {
	cmd    *exec.Cmd
	child  *sealedChild // the thread that started it, for its exit and a handoff
	wait   sync.Once
	err    error    // what cmd.Wait returned
	config *os.File // write end of the config pipe
	sync   *os.File // parent end of the sync socket
	// What the init gets with the word to go on (nil: nothing): its exec fifo, opened here,
	// its root filesystem as a detached mount (see idmap.go), and the sources of its bind
	// mounts as detached mounts, by their place in the spec's mounts.
	fifo, rootfs *os.File
	binds        map[int]*os.File
	pty          *os.File // the terminal's master side, when the spec asks for one
	proc         Process  // the init, named for good
	// The cgroups JoinCgroups put the init in, and the limits Start sets once it is ready.
	cgroups cgroups.Manager
	limits  *specs.LinuxResources
	// made and moved, once JoinCgroupsMeanwhile started, wait for the cgroups to be made and
	// for the init to be moved into them, and return how it went; an init that moves itself
	// (joinsItself) does once made sent it their files.
	made, moved func() error
	joinsItself bool
}

// StartInit re-executes this binary as a container's init in new namespaces (those of
// linux.Namespaces without a path; a new user namespace gets linux's mappings, see userns.go).
// The init waits for its bundle, so the caller can fork it early — its Go runtime then starts
// while the caller prepares the container — and put it in cgroups and networks before it goes
// on.
//
// The init dies with the thread that started it (the parent's watcher), unless detached.
func StartInit(linux *specs.Linux, terminal bool, stdio Stdio) (*Init, error) {
	return startInit(linux, terminal, stdio, false)
}

// StartDetachedInit is StartInit for an init that outlives its parent, as an OCI runtime's
// create leaves it: the process that waits for it is the parent's own parent (containerd's
// shim, a subreaper), to which the kernel hands it when the parent exits.
func StartDetachedInit(linux *specs.Linux, terminal bool, stdio Stdio) (*Init, error) {
	return startInit(linux, terminal, stdio, true)
}

func startInit(linux *specs.Linux, terminal bool, stdio Stdio, detached bool) (*Init, error) {
	namespaces := linux.Namespaces
	flags, err := namespaceFlags(namespaces)
	if err != nil {
		return nil, fmt.Errorf("namespaces of the container: %w", err)
	}
	attr := &syscall.SysProcAttr{Cloneflags: flags}
	var how mapper
	if newUserNamespace(namespaces) {
		if how, err = chooseMapper(linux.UIDMappings, linux.GIDMappings); err != nil {
			return nil, err
		}
		if how == mapByGo {
			// Go writes them between the fork and the execve, and makes the child the root of
			// its namespace (as root, uid 0 is not the host's root there): it keeps its
			// capabilities across the execve.
			attr.UidMappings, attr.GidMappings = sysProcIDMaps(linux.UIDMappings), sysProcIDMaps(linux.GIDMappings)
			attr.GidMappingsEnableSetgroups = mayMapAnything()
			attr.Credential = &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: !attr.GidMappingsEnableSetgroups}
		}
	}
	configR, configW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("config pipe: %w", err)
	}
	defer configR.Close()
	syncParent, syncChild, err := socketPair()
	if err != nil {
		configW.Close()
		return nil, err
	}
	defer syncChild.Close()

	cmd := &exec.Cmd{
		Args:        []string{initName},
		Env:         runtimeEnv(),
		ExtraFiles:  []*os.File{configR, syncChild},
		SysProcAttr: attr,
	}
	if how == mapByHelpers {
		cmd.Args = append(cmd.Args, awaitMappingsArg)
	}
	if !detached {
		// If the process that watches the container dies, so does the container: a later
		// rm then finds it gone and cleans up after it.
		cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	}
	if !terminal {
		cmd.Stdin, cmd.Stdout, cmd.Stderr = stdio.Stdin, stdio.Stdout, stdio.Stderr
		if stdio.Stdin == nil {
			cmd.Stdin = nil // exec.Cmd opens /dev/null
		}
	}
	child, err := startSealed(cmd, func() error { return joinNamespacePaths(namespaces) }, launch{byDescriptor: how != 0, peerMounts: sharesMounts(linux)})
	if err != nil {
		configW.Close()
		syncParent.Close()
		return nil, fmt.Errorf("start container init: %w", err)
	}
	p := &Init{cmd: cmd, child: child, config: configW, sync: syncParent}
	p.proc.Pid = cmd.Process.Pid
	p.proc.Start, _ = processStartTime(p.proc.Pid)
	if how == mapByHelpers {
		// The init waits, unmapped, for these (awaitMappings).
		err := writeMappingsWithHelpers(p.proc.Pid, linux.UIDMappings, linux.GIDMappings)
		if err == nil {
			err = sendMsg(int(syncParent.Fd()), syncMsg{Type: "mapped"})
		}
		if err != nil {
			p.Kill()
			return nil, err
		}
	}
	return p, nil
}

// WarmUp does ahead, from the caller's goroutine, what the first start of a container in a
// process pays for on its way, so that a caller that runs it beside StartInit — whose clone
// and execve mostly wait — has it done by the time the bundle goes: encoding/json builds its
// encoder for each type of a bundle once (Send's encoding took 1.4 ms here, most of it that),
// and the Go runtime checks once, with a child of its own, that pidfds work (os.StartProcess).
func WarmUp() {
	json.Marshal(&wireBundle{Spec: &initSpec{}})
	if p, err := os.FindProcess(os.Getpid()); err == nil {
		p.Release()
	}
}

// sharesMounts reports whether the container's root shares mounts with the host, both ways.
func sharesMounts(linux *specs.Linux) bool {
	return linux.RootfsPropagation == "shared" || linux.RootfsPropagation == "rshared"
}

// InitEnvVar names a variable of the caller's environment that the runtime's own processes
// (a container's init, an exec'd process's helper) take their environment from, as NAME=value
// words: the tests run them under the Go runtime settings they choose (GOMAXPROCS=1) and
// stall them where they want (internal/faults). Unset, as outside tests, that environment is
// empty: nothing of the caller's reaches the container, whose command gets its spec's.
const InitEnvVar = "MYDOCKER_INIT_ENV"

// runtimeEnv is the environment of the runtime's own processes (see InitEnvVar); never nil,
// which exec.Cmd would read as the caller's.
func runtimeEnv() []string {
	return append([]string{}, strings.Fields(os.Getenv(InitEnvVar))...)
}

// Pid is the init's pid, seen from the host.
func (p *Init) Pid() int { return p.proc.Pid }

// Process names the init for good (pid and start time), for a record that outlives this handle.
func (p *Init) Process() Process { return p.proc }

// Pty is the master side of the container's terminal, once Start has received it (nil without -t).
func (p *Init) Pty() *os.File { return p.pty }

// JoinCgroups puts the init in its cgroups (cg) and, for a privileged runtime, sets their
// device rules; the other limits of r, Start sets once the init is ready to execute the
// command.
//
// The limits on what a process uses count the init's own use too, and the init is a Go
// program: pids.max counts its threads, and a limit below their number (which the kernel
// takes) would refuse its runtime the next one it starts — "fatal error: newosproc", the
// container dead — while the command, once executed, is one thread. So they wait for the init
// to have done all its work: from "ready" to execve it makes raw system calls only (lastSteps).
// The device rules do not count anything the init does, and go first: a runtime's prestart
// hooks, which run before the init goes on, may add to them (runc, too, sets them before).
func (p *Init) JoinCgroups(cg cgroups.Manager, r *specs.LinuxResources) error {
	if err := cg.Apply(p.Pid()); err != nil {
		return err
	}
	p.keepLimits(cg, r)
	return setDeviceRules(cg, r)
}

// keepLimits keeps cg and the limits of r but its device rules, for Start to set.
func (p *Init) keepLimits(cg cgroups.Manager, r *specs.LinuxResources) {
	p.cgroups = cg
	if r == nil {
		return
	}
	limits := *r
	limits.Devices = nil
	p.limits = &limits
}

// setDeviceRules sets the device rules of r in cg.
func setDeviceRules(cg cgroups.Manager, r *specs.LinuxResources) error {
	// The device rules are root's to set (on v2 an eBPF program, which the kernel lets only
	// the host's root attach): an unprivileged runtime's container has no node it could
	// make, only the host's nodes its spec binds in.
	if r == nil || len(r.Devices) == 0 || !cgroups.Privileged() {
		return nil
	}
	return cg.Set(&specs.LinuxResources{Devices: r.Devices})
}

// JoinCgroupsMeanwhile is JoinCgroups for an init whose spec does not need it in its cgroups
// before it goes on: the cgroups are made, with their device rules, from a goroutine of their
// own while the init starts and decodes its bundle, and Start waits for them before it tells
// the init to go on. The init is moved in while it prepares the container. The first move of
// a whole process into a cgroup after a quiet while waits for a grace period of the kernel's
// RCU (5 to 15 ms on this course's v1 host; see cgroups.ThreadFiles), so:
//
//   - on v1, the init moves itself: once they are made, the cgroups' tasks files go to it in a
//     "cgroups" message (sendCgroups), and the thread that is to execute the command writes
//     "0" to each as soon as it has its bundle (Bundle.JoinsCgroups), which moves that thread
//     alone and waits for nothing. The Go runtime's other threads stay where they were
//     forked, and end at execve. Not for an init in a user namespace of its own (the host's
//     cgroup files are not its to write) nor one that stays as PID 1 (keepsInit: run --init),
//     a Go program for good;
//   - otherwise the parent moves it, from that goroutine, and Start waits for the move before
//     it sets the limits; an init that enters a cgroup namespace of its own when it goes on
//     is moved before then.
//
// An init whose spec has hooks is moved now (JoinCgroups): they may look for it there.
// WaitCgroups waits for what this started.
func (p *Init) JoinCgroupsMeanwhile(cg cgroups.Manager, spec *specs.Spec, keepsInit bool) error {
	var r *specs.LinuxResources
	if spec.Linux != nil {
		r = spec.Linux.Resources
	}
	if spec.Hooks != nil {
		return p.JoinCgroups(cg, r)
	}
	p.keepLimits(cg, r)
	tasks := cgroups.ThreadFiles(cg)
	movesItself := tasks != nil && !keepsInit && !newUserNamespace(spec.Linux.Namespaces)
	p.joinsItself = movesItself
	made := sync.OnceValue(func() error {
		if err := cg.Create(); err != nil {
			return err
		}
		if err := setDeviceRules(cg, r); err != nil {
			return err
		}
		if movesItself {
			return p.sendCgroups(tasks)
		}
		return nil
	})
	p.made, p.moved = made, made
	if !movesItself {
		p.moved = sync.OnceValue(func() error {
			if err := made(); err != nil {
				return err
			}
			return cg.Join(p.Pid())
		})
		if hasNewNamespace(spec, specs.CgroupNamespace) {
			p.made = p.moved // in its cgroups before it goes on
		}
	}
	go p.moved()
	return nil
}

// sendCgroups sends the init the tasks files it writes to, to move itself into its cgroups
// (joinCgroupsAlone), opened here: with this process's rights, which the kernel checks on the
// write.
func (p *Init) sendCgroups(tasks []string) error {
	var fds []int
	defer func() { closeAll(fds) }()
	for _, t := range tasks {
		fd, err := unix.Open(t, unix.O_WRONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open %s: %w", t, err)
		}
		fds = append(fds, fd)
	}
	if err := sendMsg(int(p.sync.Fd()), syncMsg{Type: "cgroups"}, fds...); err != nil {
		return fmt.Errorf("send the init its cgroups: %w", err)
	}
	return nil
}

// WaitCgroups waits until the work JoinCgroupsMeanwhile started is done — the cgroups made
// and, unless the init moves itself, the init moved in — and returns how it went.
func (p *Init) WaitCgroups() error {
	if p.moved == nil {
		return nil
	}
	return p.moved()
}

// Send hands the init its bundle: it decodes it while the caller goes on to put it in its
// cgroups (JoinCgroups) and networks, and then waits for Start. The exec fifo is opened here,
// and a root filesystem seen through the container's mappings (IDMapRootfs) is made here, as
// a detached mount: the init gets both with the word to go on, as descriptors, for an init in
// a user namespace of its own may not reach or make them (see idmap.go).
func (p *Init) Send(b *Bundle) error {
	if err := CheckSysctls(b.Spec); err != nil {
		return err
	}
	sent := *b
	if b.Seccomp == nil && b.Spec.Linux != nil {
		filter, err := CompileSeccomp(b.Spec.Linux.Seccomp)
		if err != nil {
			return err
		}
		sent.Seccomp = filter
	}
	if b.ExecFifo != "" {
		// Read and write: the open does not wait for a writer, and the init, a writer itself,
		// never reads an end of file from it, only the byte start writes.
		f, err := os.OpenFile(b.ExecFifo, os.O_RDWR, 0)
		if err != nil {
			return fmt.Errorf("open the exec fifo: %w", err)
		}
		p.fifo = f
	}
	if b.IDMapRootfs || newUserNamespace(b.Spec.Linux.Namespaces) && b.Spec.Root.Path != "/" && mayMount() {
		f, err := detachedRootfs(p.Pid(), b)
		if err != nil {
			return err
		}
		p.rootfs = f
		if p.binds, err = detachedBinds(b.Spec.Mounts); err != nil {
			return err
		}
	}
	if p.made != nil {
		sent.CgroupDirs, sent.JoinsCgroups = p.cgroups.Paths(), p.joinsItself
		sent.PrepareEarly = p.rootfs == nil && len(p.binds) == 0 && mayPrepareEarly(b.Spec, p.joinsItself)
	}
	// The init needs the compiled filter, not the profile, and no cgroup settings (the caller
	// applies them): a shorter spec to decode, of fewer types (initSpec), on the critical path
	// of every start.
	return p.send(&wireBundle{Bundle: sent, Spec: forInit(sent.Spec)})
}

// mayPrepareEarly reports whether an init put in its cgroups meanwhile (JoinCgroupsMeanwhile)
// may prepare the container described by spec before its parent says go: when nothing it does
// then needs what its parent does meanwhile — no hooks (the container's run in the namespaces
// as they are when it goes on), no sysctl of the network (which may name an interface the
// parent has yet to make), and no cgroup namespace of its own unless it is in its cgroups from
// the start (joinsItself). Its /etc files are bound from files the parent writes in place.
func mayPrepareEarly(spec *specs.Spec, joinsItself bool) bool {
	if spec.Hooks != nil || !joinsItself && hasNewNamespace(spec, specs.CgroupNamespace) {
		return false
	}
	for key := range spec.Linux.Sysctl {
		if strings.HasPrefix(key, "net.") {
			return false
		}
	}
	return true
}

// Start tells the init to go on (the "go" message) and waits until it has executed the
// command — or, for a bundle with an ExecFifo, until it has done all but that and waits on the
// fifo. On the way the init says it is ready to execute the command, its work done: Start then
// sets the container's limits (see JoinCgroups) and tells it to go on again. A failure before
// then comes back as a *StartError.
func (p *Init) Start() error {
	if p.made != nil {
		if err := p.made(); err != nil {
			return err
		}
	}
	goOn := syncMsg{Type: "go"}
	var fds []int
	for _, d := range []struct {
		name string
		f    *os.File
	}{{"fifo", p.fifo}, {"rootfs", p.rootfs}} {
		if d.f != nil {
			goOn.Fds = append(goOn.Fds, d.name)
			fds = append(fds, int(d.f.Fd()))
		}
	}
	for i, f := range p.binds {
		goOn.Fds = append(goOn.Fds, bindFdName(i))
		fds = append(fds, int(f.Fd()))
	}
	err := sendMsg(int(p.sync.Fd()), goOn, fds...)
	p.closeFds() // the init has its own now
	if err != nil {
		// An init that failed on its bundle has said why before it went away.
		if werr := p.waitExec(p.setLimits); werr != nil {
			return werr
		}
		return fmt.Errorf("tell the init to go on: %w", err)
	}
	return p.waitExec(p.setLimits)
}

// closeFds closes the descriptors kept for the init.
func (p *Init) closeFds() {
	for _, f := range []**os.File{&p.fifo, &p.rootfs} {
		if *f != nil {
			(*f).Close()
			*f = nil
		}
	}
	for _, f := range p.binds {
		f.Close()
	}
	p.binds = nil
}

// setLimits sets the limits JoinCgroups left for when the init is ready, once the init is in
// its cgroups.
func (p *Init) setLimits() error {
	if err := p.WaitCgroups(); err != nil {
		return err
	}
	if p.limits == nil {
		return nil
	}
	if err := p.cgroups.Set(p.limits); err != nil {
		return fmt.Errorf("set the container's limits: %w", err)
	}
	faults.Stall("init:limited") // the init waits under its limits meanwhile
	return nil
}

// run sends the config and waits for the command to run: an exec'd process's handshake, in
// one step. ready, when set, runs when the process says it is about to execve, before it may
// go on (see Exec).
func (p *Init) run(config any, ready func() error) error {
	if err := p.send(config); err != nil {
		return err
	}
	return p.waitExec(ready)
}

// send writes the config down the pipe and closes it.
func (p *Init) send(config any) error {
	data, err := json.Marshal(config)
	if err != nil {
		p.config.Close()
		return fmt.Errorf("encode config: %w", err)
	}
	_, err = p.config.Write(data)
	p.config.Close()
	if err != nil {
		return fmt.Errorf("send config to init: %w", err)
	}
	return nil
}

// waitExec collects what the init reports until its end of the sync socket closes at execve.
// ready answers a "ready" message: once it has run, the process is told to go on.
func (p *Init) waitExec(ready func() error) error {
	defer p.sync.Close()
	for {
		m, fds, ok, err := recvMsg(int(p.sync.Fd()))
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		if m.Type != "pty" {
			closeAll(fds)
		}
		switch m.Type {
		case "pty":
			if len(fds) != 1 {
				closeAll(fds)
				return fmt.Errorf("init sent a terminal without its fd")
			}
			p.pty = os.NewFile(uintptr(fds[0]), "pty-master")
		case "error":
			return &StartError{Code: m.Code, Message: m.Message}
		case "created":
			return nil // it waits on its ExecFifo (see Created)
		case "ready":
			if ready == nil {
				return fmt.Errorf("unexpected message %q from init", m.Type)
			}
			if err := ready(); err != nil {
				return err
			}
			if err := sendMsg(int(p.sync.Fd()), syncMsg{Type: "go"}); err != nil {
				return fmt.Errorf("tell the process to go on: %w", err)
			}
		default:
			return fmt.Errorf("unexpected message %q from init", m.Type)
		}
	}
}

// Signal sends sig to the init (the container's command, once it runs).
func (p *Init) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// Kill ends the init and reaps it; used to undo a start that failed half-way.
func (p *Init) Kill() {
	p.cmd.Process.Kill()
	p.reap()
	p.WaitCgroups() // not done in cgroups the caller goes on to remove
	p.config.Close()
	p.sync.Close()
	p.closeFds()
	if p.pty != nil {
		p.pty.Close()
	}
}

// Exited is closed once the init has exited (Wait then returns at once).
func (p *Init) Exited() <-chan struct{} { return p.child.done }

// Wait reaps the init and returns its exit status as Docker reports it: the exit code, or
// 128+n when signal n killed it.
func (p *Init) Wait() int {
	err := p.reap()
	return exitStatus(p.cmd.ProcessState, err)
}

// Handoff replaces this process with the program at path (argv args, this environment), which
// inherits the files keep at their numbers. The init stays this process's child, unreaped if
// it exited meanwhile, and dies with it as StartInit says: the exec is made from the thread
// that started the init. Call it once the init runs the command, and not with Wait. It returns
// when the process was not replaced: the init had exited already (nil), or the exec failed.
func (p *Init) Handoff(path string, args []string, keep []*os.File) error {
	execute := func() error {
		defer func() { // the exec failed: they go back to staying here
			for _, f := range keep {
				unix.CloseOnExec(int(f.Fd()))
			}
		}()
		for _, f := range keep {
			if _, err := unix.FcntlInt(f.Fd(), unix.F_SETFD, 0); err != nil {
				return fmt.Errorf("pass %s on: %w", f.Name(), err)
			}
		}
		return fmt.Errorf("execute %s: %w", path, unix.Exec(path, args, os.Environ()))
	}
	select {
	case p.child.handoff <- execute:
		return <-p.child.handoffFailed
	case <-p.child.noHandoff:
		return nil
	}
}

// reap waits for the child's exit, once.
func (p *Init) reap() error {
	p.wait.Do(func() { p.err = p.child.wait() })
	return p.err
}

func exitStatus(ps *os.ProcessState, err error) int {
	if ps == nil {
		return 125
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}
