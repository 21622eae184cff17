package container

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/mydocker/mydocker/internal/prefault"
)

// The fds the init (and an exec'd process) inherits: exec.Cmd.ExtraFiles start at 3.
const (
	initConfigFd = 3
	initSyncFd   = 4
)

// runInit is the container's init: the re-executed binary, already PID 1 in its new
// namespaces. It never returns on success: the command replaces it.
func runInit() {
	prefault.Heap() // the init fills its heap's first megabyte, and more
	// No garbage collection: the init lives a few milliseconds and allocates a few megabytes,
	// and a collection has goroutines of its own run, which want threads of their own after
	// the container's limits are set (see lastSteps). As --init, it collects again later.
	gcPercent = debug.SetGCPercent(-1)
	// The init's work is this goroutine's, on this thread: namespaces, credentials and the
	// seccomp filter belong to the thread that executes the command. (LockOSThread also has
	// the Go runtime start its template thread now, the one it starts threads from when the
	// thread asking is locked.)
	runtime.LockOSThread()
	warmed := make(chan struct{})
	go warmUpDecoders(warmed)
	if err := awaitMappings(); err != nil {
		reportStartFailure(err)
	}
	if err := closeInheritedFds(); err != nil {
		reportStartFailure(fmt.Errorf("close inherited descriptors: %w", err))
	}
	reportStartFailure(initContainer(warmed))
}

// gcPercent is the init's garbage collection setting as its runtime started, before runInit
// turned collections off.
var gcPercent int

// warmBundle holds one of each kind of value a Bundle and the parent's messages carry. The
// init decodes it while the parent still prepares the container: that builds encoding/json's
// decoders for each type and pages in their code, which the real bundle, decoded cold, paid
// for on the critical path of every start (3 ms alone, 7 ms beside a busy parent here).
const warmBundle = `{"spec":{"ociVersion":"","process":{"terminal":false,"consoleSize":{"height":0,"width":0},
"user":{"uid":0,"gid":0,"umask":18,"additionalGids":[0]},"args":[""],"env":[""],"cwd":"/",
"capabilities":{"bounding":[""],"effective":[""],"inheritable":[""],"permitted":[""],"ambient":[""]},
"rlimits":[{"type":"","hard":0,"soft":0}],"noNewPrivileges":false},"root":{"path":"","readonly":false},
"hostname":"","mounts":[{"destination":"","type":"","source":"","options":[""]}],
"linux":{"namespaces":[{"type":"","path":""}],"devices":[{"path":"","type":"c","major":1,"minor":3,"fileMode":438,"uid":0,"gid":0}],
"maskedPaths":[""],"readonlyPaths":[""],"sysctl":{"":""}}},
"rootfs_mount":{"destination":"","type":"","source":"","options":[""]},"no_pivot":false,"seccomp":{"program":"AAAA","flags":[""]}}`

func warmUpDecoders(done chan<- struct{}) {
	defer close(done)
	var b wireBundle
	json.Unmarshal([]byte(warmBundle), &b)
	var m syncMsg
	json.Unmarshal([]byte(`{"type":"","code":0,"message":""}`), &m)
}

// reportStartFailure sends why the command could not start to the parent, which turns it into
// the error the user sees and the exit status, and exits.
func reportStartFailure(err error) {
	code := 125
	var se *StartError
	if errors.As(err, &se) {
		code = se.Code
	}
	sendMsg(initSyncFd, syncMsg{Type: "error", Code: code, Message: err.Error()})
	os.Exit(code)
}

// initContainer makes the container and executes its command; warmed is closed once
// warmUpDecoders is done.
func initContainer(warmed <-chan struct{}) error {
	cfgFile := os.NewFile(initConfigFd, "init-config")
	var sent wireBundle
	if err := json.NewDecoder(cfgFile).Decode(&sent); err != nil {
		return fmt.Errorf("read init config: %w", err)
	}
	cfgFile.Close()
	cfg := *sent.bundle()
	spec := cfg.Spec
	if cfg.JoinsCgroups {
		if err := joinCgroupsAlone(); err != nil {
			return err
		}
	}
	// Wait for the parent to have put it in its cgroups and networks, unless it prepares the
	// container meanwhile (Bundle.PrepareEarly).
	var given map[string]int
	if !cfg.PrepareEarly {
		var err error
		if given, err = awaitGo(); err != nil {
			return err
		}
	}
	// A root filesystem the parent made (detachedRootfs).
	made, ok := given["rootfs"]
	if !ok {
		made = -1
		if cfg.IDMapRootfs {
			return errors.New("the root filesystem seen through the container's mappings did not come with the word to go on")
		}
	}
	if hasNewNamespace(spec, specs.CgroupNamespace) {
		if err := enterCgroupNamespace(); err != nil {
			return err
		}
	}

	binds := map[int]int{}
	for name, fd := range given {
		if i, ok := strings.CutPrefix(name, "bind:"); ok {
			n, err := strconv.Atoi(i)
			if err != nil {
				return fmt.Errorf("bad descriptor name %q from the parent", name)
			}
			binds[n] = fd
		}
	}
	if err := joinMountNamespace(spec.Linux.Namespaces); err != nil {
		return err
	}
	if err := prepareRoot(&cfg, made, binds); err != nil {
		return err
	}
	if spec.Hooks != nil {
		// In the container's namespaces, before its root changes: the hooks are the host's.
		if err := RunHooks("createContainer", spec.Hooks.CreateContainer, cfg.HookState); err != nil {
			return err
		}
	}
	if hasNewNamespace(spec, specs.NetworkNamespace) {
		if err := loopbackUp(); err != nil {
			return err
		}
	}
	if spec.Hostname != "" {
		if err := unix.Sethostname([]byte(spec.Hostname)); err != nil {
			return fmt.Errorf("sethostname %q: %w", spec.Hostname, err)
		}
	}
	if err := changeRoot(&cfg); err != nil {
		return err
	}
	// In the container's namespaces, before /proc/sys is made read-only.
	if err := writeSysctls(spec.Linux.Sysctl); err != nil {
		return err
	}
	if err := readonlyPaths(spec.Linux.ReadonlyPaths); err != nil {
		return err
	}
	if err := maskPaths(spec.Linux.MaskedPaths); err != nil {
		return err
	}
	if spec.Root.Readonly {
		if err := remountReadonly("/"); err != nil {
			return err
		}
	}
	if spec.Process.Terminal {
		if err := setupConsole(true); err != nil {
			return err
		}
	}
	if adj := spec.Process.OOMScoreAdj; adj != nil {
		// Inherited by the command; lowering it needs CAP_SYS_RESOURCE, still held here.
		if err := os.WriteFile("/proc/self/oom_score_adj", []byte(strconv.Itoa(*adj)), 0); err != nil {
			return fmt.Errorf("set oom_score_adj %d: %w", *adj, err)
		}
	}
	steps, err := prepareProcess(spec.Process, cfg.Seccomp)
	if err != nil {
		return err
	}
	if cfg.PrepareEarly {
		if given, err = awaitGo(); err != nil {
			return err
		}
	}
	// The exec fifo, opened by the parent (where the host's filesystem is in reach, and with
	// its user's rights), to read start's byte from.
	execFifo, ok := given["fifo"]
	if !ok {
		execFifo = -1
		if cfg.ExecFifo != "" {
			return fmt.Errorf("the exec fifo %s did not come with the word to go on", cfg.ExecFifo)
		}
	}
	steps.fifo = execFifo
	<-warmed // no goroutine of the init's own runs any more (see lastSteps)
	startHooks := execFifo >= 0 && spec.Hooks != nil && len(spec.Hooks.StartContainer) > 0
	if !cfg.Init && !startHooks {
		return steps.run() // no Go code between the limits and the command
	}
	if err := steps.err(steps.await()); err != nil {
		return err
	}
	if startHooks {
		// Run by this Go program under the container's limits, as runc runs them: a pids
		// limit the init already fills refuses them (EAGAIN), or its runtime a thread.
		if err := RunHooks("startContainer", spec.Hooks.StartContainer, cfg.HookState); err != nil {
			return err
		}
	}
	if cfg.Init {
		return execAsInit(steps)
	}
	return steps.err(steps.execute())
}

// awaitGo waits for the parent's word to go on, and returns the descriptors that came with
// it, by name.
func awaitGo() (map[string]int, error) {
	m, fds, ok, err := recvMsg(initSyncFd)
	if err != nil || !ok || m.Type != "go" {
		closeAll(fds)
		return nil, fmt.Errorf("wait for the word to go on: %v (message %q)", err, m.Type)
	}
	given := map[string]int{}
	for i, name := range m.Fds {
		if i < len(fds) {
			given[name] = fds[i]
		}
	}
	return given, nil
}

// joinCgroupsAlone moves this thread — the init's main thread, which executes the command —
// into the container's cgroups: it writes "0" to each tasks file the parent sends, once the
// cgroups are made, in a "cgroups" message. That moves the thread alone, without the wait a
// whole process's move has (see Init.JoinCgroupsMeanwhile). The files are the parent's, opened
// with its rights, which the kernel checks.
func joinCgroupsAlone() error {
	m, fds, ok, err := recvMsg(initSyncFd)
	defer closeAll(fds)
	if err != nil || !ok || m.Type != "cgroups" {
		return fmt.Errorf("wait for the container's cgroups: %v (message %q)", err, m.Type)
	}
	for _, fd := range fds {
		if _, err := unix.Write(fd, []byte("0")); err != nil {
			return fmt.Errorf("join the container's cgroups: %w", err)
		}
	}
	return nil
}

// changeRoot makes the container's root filesystem its "/": pivot_root, or chroot with
// --no-pivot, or nothing when the root is the host's "/" (chapter 01).
func changeRoot(b *Bundle) error {
	var err error
	switch {
	case b.Spec.Root.Path == "/":
	case b.NoPivot:
		err = moveRoot(b.Spec.Root.Path)
	default:
		err = pivotRoot(b.Spec.Root.Path)
	}
	if err != nil {
		return err
	}
	// The root the spec asks to share or follow the host's mounts, as the rest (rootPropagation).
	if p := b.Spec.Linux.RootfsPropagation; p != "" {
		if err := unix.Mount("", "/", "", propagationNames[p], ""); err != nil {
			return fmt.Errorf("make the root %s: %w", p, err)
		}
	}
	return nil
}

// enterCgroupNamespace gives the init a cgroup namespace rooted at its cgroup, where the
// parent has put it by now. Namespaces belong to threads: the init's goroutine stays locked to
// this thread, which mounts the container's /sys/fs/cgroup and at last executes the command,
// taking the namespace along.
func enterCgroupNamespace() error {
	runtime.LockOSThread()
	if err := unix.Unshare(unix.CLONE_NEWCGROUP); err != nil {
		return fmt.Errorf("create cgroup namespace: %w", err)
	}
	return nil
}

// hasNewNamespace reports whether the spec creates (rather than joins or skips) a namespace.
func hasNewNamespace(spec *specs.Spec, t specs.LinuxNamespaceType) bool {
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type == t && ns.Path == "" {
			return true
		}
	}
	return false
}

// loopbackUp brings up lo in the container's new network namespace — down in a fresh one —
// as runc's loopback strategy does: two ioctls on a throwaway socket, no netlink needed.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("bring lo up: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return fmt.Errorf("bring lo up: %w", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("read the flags of lo: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bring lo up: %w", err)
	}
	return nil
}

// execProcess finds the command inside the container and executes it in place of an exec'd
// process's helper (prepareProcess, lastSteps).
func execProcess(p *specs.Process, filter *Seccomp) error {
	steps, err := prepareProcess(p, filter)
	if err != nil {
		return err
	}
	return steps.run()
}

// prepareProcess does all a process of the runtime does before its last steps (lastSteps),
// which it returns ready: working directory, environment with HOME, confinement (confine),
// PATH lookup as the container's user.
func prepareProcess(p *specs.Process, filter *Seccomp) (*lastSteps, error) {
	if err := os.MkdirAll(p.Cwd, 0o755); err != nil {
		return nil, fmt.Errorf("create working directory %s: %w", p.Cwd, err)
	}
	if err := unix.Chdir(p.Cwd); err != nil {
		return nil, fmt.Errorf("chdir to %s: %w", p.Cwd, err)
	}
	if p.User.Umask != nil {
		unix.Umask(int(*p.User.Umask))
	}
	env := p.Env
	if !hasEnv(env, "HOME") {
		env = append(env, "HOME="+homeDir(p.User.UID))
	}
	restoreNofile()
	var path string
	late, err := confine(p, filter, func() error {
		var err error
		if path, err = lookPath(p.Args[0], env); err != nil {
			return startError(err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	quiesce()
	return newLastSteps(path, p.Args, env, late)
}

// execAsInit is run --init: the init stays the container's PID 1, starts the command as its
// child from its confined thread (the child inherits that thread's user, capabilities and
// seccomp filter), and from then on only passes signals on to it and reaps whatever exits —
// orphans the kernel hands to PID 1 included — as tini and docker-init do. It exits with the
// command's status. Being this running process, it needs no binary inside the container.
//
// It lives on as a Go program under the container's limits, set by now (lastSteps.await): its
// threads count against the pids limit, as tini's one does, and a limit its runtime fills
// refuses it a new one.
func execAsInit(steps *lastSteps) error {
	// It collects its garbage again, and starts goroutines: from here on it needs its
	// runtime's threads, as any Go program does.
	debug.SetGCPercent(gcPercent)
	if steps.filter != nil {
		if errno := steps.filter.Install(); errno != 0 {
			return fmt.Errorf("load seccomp filter: %w", errno)
		}
	}
	sigs := make(chan os.Signal, 32)
	signal.Notify(sigs) // every signal that can be caught, to pass on
	pid, err := syscall.ForkExec(steps.path, steps.args, &syscall.ProcAttr{Env: steps.env, Files: []uintptr{0, 1, 2}})
	if err != nil {
		return startError(fmt.Errorf("exec %q: %w", steps.args[0], err))
	}
	// The command runs: what an execve would have told the parent by closing these.
	unix.Close(initSyncFd)
	go func() {
		for s := range sigs {
			if s != unix.SIGCHLD && s != unix.SIGURG { // SIGURG: the Go runtime's own
				unix.Kill(pid, s.(unix.Signal))
			}
		}
	}()
	for {
		var ws unix.WaitStatus
		wpid, err := unix.Wait4(-1, &ws, 0, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			os.Exit(125)
		}
		if wpid != pid {
			continue // an orphan, reaped
		}
		if ws.Signaled() {
			os.Exit(128 + int(ws.Signal()))
		}
		os.Exit(ws.ExitStatus())
	}
}

// LookPath resolves the command as exec(3p) does, but with the container's PATH and inside
// the container's root. Its errors carry the errno that decides 126 or 127.
func LookPath(file string, env []string) (string, error) {
	if strings.Contains(file, "/") {
		if err := checkExecutable(file); err != nil {
			return "", fmt.Errorf("exec: %q: %w", file, err)
		}
		return file, nil
	}
	path := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range strings.Split(path, ":") {
		if dir == "" {
			dir = "."
		}
		candidate := dir + "/" + file
		if checkExecutable(candidate) == nil {
			return candidate, nil
		}
	}
	return "", &notInPathError{file: file}
}

// notInPathError says what Docker says, and counts as ENOENT (exit status 127).
type notInPathError struct{ file string }

func (e *notInPathError) Error() string {
	return fmt.Sprintf("exec: %q: executable file not found in $PATH", e.file)
}

func (e *notInPathError) Unwrap() error { return unix.ENOENT }

func checkExecutable(path string) error {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return unix.EACCES // what execve says of a directory, and runc after it
	}
	return unix.Access(path, unix.X_OK)
}

func hasEnv(env []string, key string) bool {
	for _, kv := range env {
		if strings.HasPrefix(kv, key+"=") {
			return true
		}
	}
	return false
}

// homeDir reads the user's home from the container's /etc/passwd, "/" when there is none
// (what runc does).
func homeDir(uid uint32) string {
	// The image's file: opened without blocking (a FIFO would hold the start forever) and read
	// only if it is a regular file.
	f, err := os.OpenFile("/etc/passwd", os.O_RDONLY|unix.O_NONBLOCK|unix.O_NOFOLLOW, 0)
	if err != nil {
		return "/"
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return "/"
	}
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Split(s.Text(), ":")
		if len(fields) >= 6 && fields[2] == fmt.Sprint(uid) {
			return fields[5]
		}
	}
	return "/"
}

// setupConsole makes a pseudo-terminal from the container's own devpts, hands the master to
// the parent over the sync socket and makes the slave the command's controlling terminal.
// The init also binds it on /dev/console, as runc does; an exec'd process leaves that alone.
func setupConsole(bindConsole bool) error {
	master, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open /dev/ptmx: %w", err)
	}
	if err := unix.IoctlSetPointerInt(master, unix.TIOCSPTLCK, 0); err != nil {
		return fmt.Errorf("unlock pty: %w", err)
	}
	n, err := unix.IoctlGetInt(master, unix.TIOCGPTN)
	if err != nil {
		return fmt.Errorf("get pty number: %w", err)
	}
	slavePath := fmt.Sprintf("/dev/pts/%d", n)
	slave, err := unix.Open(slavePath, unix.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", slavePath, err)
	}
	if bindConsole {
		if err := bindDevConsole(slavePath); err != nil {
			return err
		}
	}
	if err := sendMsg(initSyncFd, syncMsg{Type: "pty"}, master); err != nil {
		return fmt.Errorf("send pty to parent: %w", err)
	}
	unix.Close(master)
	if _, err := unix.Setsid(); err != nil {
		return fmt.Errorf("setsid: %w", err)
	}
	if err := unix.IoctlSetInt(slave, unix.TIOCSCTTY, 0); err != nil {
		return fmt.Errorf("set controlling terminal: %w", err)
	}
	for fd := 0; fd <= 2; fd++ {
		if err := unix.Dup2(slave, fd); err != nil {
			return fmt.Errorf("dup pty: %w", err)
		}
	}
	if slave > 2 {
		unix.Close(slave)
	}
	return nil
}

// bindDevConsole makes /dev/console the container's terminal.
func bindDevConsole(slavePath string) error {
	f, err := os.OpenFile("/dev/console", os.O_CREATE|os.O_RDONLY, 0o600)
	if err != nil {
		return fmt.Errorf("create /dev/console: %w", err)
	}
	f.Close()
	if err := unix.Mount(slavePath, "/dev/console", "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind %s on /dev/console: %w", slavePath, err)
	}
	return nil
}
