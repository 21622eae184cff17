package engine

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/internal/fsutil"
	"github.com/mydocker/mydocker/internal/jsonlog"
	"github.com/mydocker/mydocker/network"
	"github.com/mydocker/mydocker/rootless"
)

// monitorName is the name this binary answers to (argv[0]) when it runs as a monitor.
const monitorName = "mydocker-monitor" // the prefix is container.Reexecuted's

// Reexec runs the role this process was re-executed for — the engine's monitor or one of the
// runtime's (container.Reexec) — and then exits. It returns false for a normal start: mydocker
// calls it first thing in main.
func Reexec() bool {
	switch os.Args[0] {
	case monitorName:
		runMonitor()
	case network.ResolverName:
		if network.ResolverMain == nil {
			fmt.Fprintln(os.Stderr, network.ResolverName+": this program does not link the resolver")
			os.Exit(125)
		}
		network.ResolverMain()
	default:
		return rootless.Reexec() || container.Reexec()
	}
	return true
}

// The fds a monitor inherits from `run -d`; only the owner lock when mydocker-shim executes it
// again with the container's exit.
const (
	monitorOwnerFd  = 3
	monitorReportFd = 4
)

// shim is mydocker-shim, the small program a monitor hands a running container to: "" for none
// (the monitor waits itself).
var shim string

// UseHelpers has the runtime start containers' inits and exec'd processes from mydocker-init,
// monitors hand detached containers to mydocker-shim, and monitors be mydocker (a lean binary:
// mydocker-serve's monitors are it too), beside this binary where make builds them; without
// them, this binary serves. mydocker and mydocker-serve call it first thing.
func UseHelpers() {
	exe, err := os.Executable()
	if err != nil {
		return
	}
	for name, use := range map[string]func(string){"mydocker-init": container.UseHelper, "mydocker-shim": UseShim, "mydocker": useMonitor} {
		path := filepath.Join(filepath.Dir(exe), name)
		if st, err := os.Stat(path); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			use(path)
		}
	}
}

// monitorBinary is the program a detached container's monitor runs: this one, or mydocker.
var monitorBinary = "/proc/self/exe"

func useMonitor(path string) { monitorBinary = path }

// UseShim makes monitors hand their running containers to the program at path (mydocker-shim):
// it holds a fraction of the memory this binary does while it waits. The course's programs
// never call it: their monitors are the lesson of chapter 08.
func UseShim(path string) { shim = path }

// runMonitor is the body of the monitor process: mydocker-monitor ROOT ID, or ROOT ID BACKOFF
// HELD CODE when mydocker-shim, which waited for the container, executes it again with how the
// container exited (HELD: the fds of the sockets that hold its published ports, "-" for
// none). Its stdout and stderr are the container's monitor.log, and so is its log.
func runMonitor() {
	resumed := len(os.Args) == 6
	// Nothing of the caller's but the fds it was given (the caller's own, a shell's
	// 7</etc/shadow say, must not live on in a process that outlives it), and none of those
	// may reach the container: the owner lock in particular must die with us.
	var report *os.File // nil once resumed: the start was reported
	var held []*os.File
	keep := []int{monitorOwnerFd, monitorReportFd}
	if resumed {
		fds, err := parseFds(os.Args[4])
		if err != nil {
			logFor(os.Args[2]).Errorf("monitor started with bad held ports: %q", os.Args[4])
			os.Exit(2)
		}
		keep = append([]int{monitorOwnerFd}, fds...)
		for _, fd := range fds {
			held = append(held, os.NewFile(uintptr(fd), "held port"))
		}
	}
	if err := closeInherited(keep...); err != nil {
		logFor(os.Args[2]).Error(err)
		os.Exit(2)
	}
	if !resumed {
		report = os.NewFile(monitorReportFd, "report")
	}
	owner := fsutil.LockFromFile(os.NewFile(monitorOwnerFd, "owner.lock"))
	defer owner.Unlock()
	signal.Ignore(syscall.SIGHUP, syscall.SIGINT, syscall.SIGPIPE)
	logrus.SetOutput(os.Stderr)
	if level, err := logrus.ParseLevel(os.Getenv("MYDOCKER_LOG_LEVEL")); err == nil {
		logrus.SetLevel(level)
	}
	var exit *shimExit
	if resumed {
		backoff, err1 := time.ParseDuration(os.Args[3])
		code, err2 := strconv.Atoi(os.Args[5])
		if err1 != nil || err2 != nil {
			logFor(os.Args[2]).Errorf("monitor started with a bad exit report: %q", os.Args[3:])
			os.Exit(2)
		}
		exit = &shimExit{code: code, backoff: backoff}
	} else if len(os.Args) != 3 {
		json.NewEncoder(report).Encode(startReport{Code: 125, Message: "usage: mydocker-monitor ROOT ID"})
		os.Exit(2)
	}
	log := logFor(os.Args[2])
	e, err := New(os.Args[1])
	if err == nil {
		e.ports.keep(os.Args[2], held)
		err = e.monitor(os.Args[2], owner, report, exit)
	}
	if err != nil {
		log.WithError(err).Error("monitor failed")
		owner.Unlock()
		os.Exit(1)
	}
}

// closeInherited closes the fds this process inherited but those of keep, which it marks
// close-on-exec (none is to reach a process this one starts). An inherited fd is one without
// close-on-exec, for execve closed every other: what the Go runtime or a package's init opened
// before we got here (the poller's epoll, in mydocker-serve, whose protobuf init reads the
// binary) has the flag, and stays.
func closeInherited(keep ...int) error {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return fmt.Errorf("list the fds inherited: %w", err)
	}
	for _, e := range entries {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || fd <= 2 {
			continue
		}
		if slices.Contains(keep, fd) {
			unix.CloseOnExec(fd)
			continue
		}
		if flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil && flags&unix.FD_CLOEXEC == 0 {
			unix.Close(fd)
		}
	}
	return nil
}

// shimExit is how a container mydocker-shim waited for ended, and the restart backoff then.
type shimExit struct {
	code    int
	backoff time.Duration
}

// monitor starts the stored container with its output going to the log, reports the start to
// `run -d` (or start), then waits for the container — or hands it to mydocker-shim, which runs
// this again with exit once it ended — and records how it ended, and starts it again as its
// restart policy says.
func (e *Engine) monitor(id string, owner *fsutil.Lock, report *os.File, exit *shimExit) error {
	fail := func(err error) error {
		if report != nil {
			json.NewEncoder(report).Encode(startErrorReport(err))
			report.Close()
		}
		return err
	}
	st, err := e.containers.Load(id)
	if err != nil {
		return fail(err)
	}
	cfg, err := e.bundleOf(st)
	if err != nil {
		e.startFailed(st, err)
		return fail(err)
	}
	log, err := openLog(e.containers.LogPath(id), st.LogConfig)
	if err != nil {
		e.startFailed(st, err)
		return fail(err)
	}
	defer log.Close()
	backoff := 100 * time.Millisecond
	for {
		var code int
		if exit != nil {
			code, backoff = exit.code, exit.backoff
			exit = nil
		} else {
			w, err := e.runOnce(st, cfg)
			if report != nil {
				if err != nil {
					return fail(err)
				}
				json.NewEncoder(report).Encode(startReport{})
				report.Close()
				report = nil
			} else if err != nil {
				return err // the failed start is recorded (Waiting: kept)
			}
			var copying *copying
			ended := false
			if handoffTo(w) != "" && w.interruptible() {
				// A command that ends at once (docker run --rm IMAGE true) is waited for here,
				// its output logged meanwhile: handed to the shim, which runs the monitor again
				// for the exit, it took 7 ms more.
				copying = w.copy(log)
				if ended = waitExit(w.init, time.After(quickExit)); !ended {
					copying.stop()
				}
			}
			if !ended {
				if err := e.handoff(st, w, owner, backoff); err != nil {
					logFor(id).WithError(err).Warn("could not hand the container to mydocker-shim: the monitor waits for it")
				}
				// From here on the monitor only copies lines and waits, for as long as the
				// container runs: give back what starting it took.
				copying = w.copy(log)
				debug.FreeOSMemory()
				dropCodePages()
			}
			code = waitRelaying(w.init)
			waitTimeout(&copying.wg, 2*time.Second)
		}
		if !e.restarts(st, code) {
			e.finish(st, code)
			return nil
		}
		e.finish(st, code) // recorded as exited meanwhile, its resources given back
		if time.Since(st.StartedAt) > 10*time.Second {
			backoff = 100 * time.Millisecond // as Docker: a container that ran a while starts afresh
		}
		for wake := time.Now().Add(backoff); time.Now().Before(wake); time.Sleep(50 * time.Millisecond) {
			if e.stoppedByUser(id) { // stop or rm meanwhile
				return nil
			}
		}
		backoff = min(2*backoff, time.Minute)
		if e.stoppedByUser(id) {
			return nil
		}
		// A restart that fails keeps the container (Waiting).
		if err := e.record(st, func(st *State) { st.RestartCount, st.Waiting = st.RestartCount+1, true }); err != nil {
			return err
		}
	}
}

// watched is a container the monitor started: its init and the ends of its output it reads.
type watched struct {
	init    *container.Init
	streams []stream // stdout and stderr, or the terminal
	stdin   bool     // the monitor serves its stdin (attach), which the shim does not
}

type stream struct {
	name string
	r    *os.File
}

// copying is the logging of a container's output, by a goroutine per stream.
type copying struct {
	wg      sync.WaitGroup // done once every copier ended
	streams []stream
	stopped atomic.Bool
}

// copy logs the container's output until it ends, or until stop.
func (w *watched) copy(log *jsonlog.Writer) *copying {
	c := &copying{streams: w.streams}
	for _, s := range w.streams {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			log.CopyLines(s.r, s.name)
			if !c.stopped.Load() {
				s.r.Close() // all logged
			}
		}()
	}
	return c
}

// interruptible says whether copiers of w's streams can be stopped (copying.stop): pipes can,
// a terminal read without the runtime's poller cannot.
func (w *watched) interruptible() bool {
	for _, s := range w.streams {
		if s.r.SetReadDeadline(time.Time{}) != nil {
			return false
		}
	}
	return true
}

// stop ends the copiers of interruptible streams, which log what they read of a line so far
// (the rest of it becomes an entry of its own), and leaves the streams open for another
// reader.
func (c *copying) stop() {
	c.stopped.Store(true)
	for _, s := range c.streams {
		s.r.SetReadDeadline(time.Now())
	}
	c.wg.Wait()
	for _, s := range c.streams {
		s.r.SetReadDeadline(time.Time{})
	}
}

// quickExit is how long a monitor waits for its container's end before it hands the container
// to mydocker-shim.
const quickExit = 20 * time.Millisecond

// handoffTo is the binary mydocker-shim runs again for w's exit when handoff hands w to it:
// "" when w stays with the monitor (no shim, a container whose stdin the monitor serves, or a
// binary the shim could not run again).
func handoffTo(w *watched) string {
	if shim == "" || w.stdin {
		return ""
	}
	self, err := os.Executable()
	if err != nil || strings.HasSuffix(self, " (deleted)") {
		return ""
	}
	return self
}

// waitExit waits for the container's exit, or until timeout (nil: none), passing a stop sent
// to the monitor on to it meanwhile, and says whether it exited.
func waitExit(p *container.Init, timeout <-chan time.Time) bool {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM)
	defer signal.Stop(sigs)
	for {
		select {
		case <-p.Exited():
			return true
		case <-timeout:
			return false
		case s := <-sigs:
			p.Signal(s)
		}
	}
}

// handoff replaces the monitor with mydocker-shim, which copies the container's output to its
// log and waits for it, then runs the monitor again with how it ended. It returns only when
// the container stays with the monitor: no shim, a container whose stdin the monitor serves,
// or a failed exec.
func (e *Engine) handoff(st *State, w *watched, owner *fsutil.Lock, backoff time.Duration) error {
	self := handoffTo(w)
	if self == "" {
		return nil // wait here
	}
	// mydocker-shim PID LOG MAX-SIZE MAX-FILE STDOUT-FD STDERR-FD -- MONITOR ARG...
	args := []string{filepath.Base(shim), strconv.Itoa(w.init.Pid()), e.containers.LogPath(st.ID),
		strconv.FormatInt(st.LogConfig.MaxSize, 10), strconv.Itoa(st.LogConfig.MaxFile), "-1", "-1"}
	held := e.ports.of(st.ID)
	keep := append([]*os.File{owner.File()}, held...)
	for i, s := range w.streams { // stdout and stderr, or the terminal alone
		args[5+i] = strconv.Itoa(int(s.r.Fd()))
		keep = append(keep, s.r)
	}
	args = append(args, "--", self, monitorName, e.root, st.ID, backoff.String(), formatFds(held))
	// No transparent huge pages for the shim (the flag outlives execve; the shim clears it
	// before it runs the monitor again): on a host that gives them to every process, its
	// first heap fault took a 2 MB page, and the watcher held 5 MB in the v2 VM.
	unix.Prctl(unix.PR_SET_THP_DISABLE, 1, 0, 0, 0)
	err := w.init.Handoff(shim, args, keep)
	unix.Prctl(unix.PR_SET_THP_DISABLE, 0, 0, 0, 0)
	return err
}

// runOnce starts the container, its output going to pipes (or its terminal) the monitor reads.
func (e *Engine) runOnce(st *State, cfg *container.Bundle) (*watched, error) {
	w := &watched{stdin: st.OpenStdin}
	var stdio container.Stdio
	if !cfg.Spec.Process.Terminal {
		outR, outW, err := os.Pipe()
		if err != nil {
			e.startFailed(st, err)
			return nil, err
		}
		errR, errW, err := os.Pipe()
		if err != nil {
			outR.Close()
			outW.Close()
			e.startFailed(st, err)
			return nil, err
		}
		stdio = container.Stdio{Stdout: outW, Stderr: errW}
		w.streams = []stream{{"stdout", outR}, {"stderr", errR}}
		// Only the container may hold the write ends once it started, so the copiers see
		// EOF when it exits.
		defer outW.Close()
		defer errW.Close()
	}
	closeStreams := func() {
		for _, s := range w.streams {
			s.r.Close()
		}
	}
	var stdinW *os.File
	if st.OpenStdin && !cfg.Spec.Process.Terminal {
		r, w, err := os.Pipe()
		if err != nil {
			closeStreams()
			e.startFailed(st, err)
			return nil, err
		}
		stdio.Stdin, stdinW = r, w
		defer r.Close() // the container has its own
	}
	p, err := container.StartInit(cfg.Spec.Linux, cfg.Spec.Process.Terminal, stdio)
	if err != nil {
		if stdinW != nil {
			stdinW.Close()
		}
		closeStreams()
		e.startFailed(st, err)
		return nil, err
	}
	if err := e.start(&created{st: st, bundle: cfg}, p); err != nil {
		if stdinW != nil {
			stdinW.Close()
		}
		closeStreams()
		return nil, err
	}
	w.init = p
	pty := p.Pty()
	if pty != nil {
		w.streams = []stream{{"stdout", pty}}
	}
	if st.OpenStdin {
		var in io.WriteCloser = stdinW
		if pty != nil {
			in = pty
		}
		if stop, err := serveStdin(st.ID, in, pty == nil); err != nil {
			logFor(st.ID).WithError(err).Warn("the container's stdin cannot be attached to")
		} else {
			go func() { p.Wait(); stop() }()
		}
	}
	return w, nil
}

// waitRelaying waits for the container's exit, passing a stop sent to the monitor on to it,
// and returns its exit status.
func waitRelaying(p *container.Init) int {
	waitExit(p, nil)
	return p.Wait()
}

func waitTimeout(wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
	}
}
