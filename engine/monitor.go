package engine

import (
	"encoding/json"
	"io"
	"math"
	"os"
	"os/signal"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/internal/fsutil"
)

// monitorName is the name this binary answers to (argv[0]) when it runs as a monitor.
const monitorName = "mydocker-monitor" // the prefix is container.Reexecuted's

// Reexec runs the role this process was re-executed for — the engine's monitor or one of the
// runtime's (container.Reexec) — and then exits. It returns false for a normal start: mydocker
// calls it first thing in main.
func Reexec() bool {
	if os.Args[0] == monitorName {
		runMonitor()
		return true
	}
	return container.Reexec()
}

// The fds a monitor inherits from `run -d`.
const (
	monitorOwnerFd  = 3
	monitorReportFd = 4
)

// runMonitor is the body of the monitor process: mydocker-monitor ROOT ID. Its stdout and
// stderr are the container's monitor.log, and so is its log.
func runMonitor() {
	// Nothing of the caller's but the two fds it was given (the caller's own, a shell's
	// 7</etc/shadow say, must not live on in a process that outlives it), and neither of those
	// may reach the container: the owner lock in particular must die with us.
	unix.CloseRange(monitorReportFd+1, math.MaxUint32, 0)
	unix.CloseOnExec(monitorOwnerFd)
	unix.CloseOnExec(monitorReportFd)
	owner := fsutil.LockFromFile(os.NewFile(monitorOwnerFd, "owner.lock"))
	defer owner.Unlock()
	report := os.NewFile(monitorReportFd, "report")
	signal.Ignore(syscall.SIGHUP, syscall.SIGINT, syscall.SIGPIPE)
	logrus.SetOutput(os.Stderr)
	if level, err := logrus.ParseLevel(os.Getenv("MYDOCKER_LOG_LEVEL")); err == nil {
		logrus.SetLevel(level)
	}
	if len(os.Args) != 3 {
		json.NewEncoder(report).Encode(startReport{Code: 125, Message: "usage: mydocker-monitor ROOT ID"})
		os.Exit(2)
	}
	log := logFor(os.Args[2])
	e, err := New(os.Args[1])
	if err == nil {
		err = e.monitor(os.Args[2], report)
	}
	if err != nil {
		log.WithError(err).Error("monitor failed")
		owner.Unlock()
		os.Exit(1)
	}
}

// monitor starts the stored container with its output going to the log, reports the start to
// `run -d` (or start), then waits for the container and records how it ended — and starts it
// again as its restart policy says.
func (e *Engine) monitor(id string, report *os.File) error {
	fail := func(err error) error {
		json.NewEncoder(report).Encode(startErrorReport(err))
		report.Close()
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
	for first := true; ; first = false {
		started := time.Now()
		p, copiers, err := e.runOnce(st, cfg, log)
		if first {
			if err != nil {
				return fail(err)
			}
			json.NewEncoder(report).Encode(startReport{})
			report.Close()
		} else if err != nil {
			return err // the failed start is recorded (Waiting: kept)
		}
		// From here on the monitor only copies lines and waits, for as long as the container
		// runs: give back what starting it took.
		debug.FreeOSMemory()
		dropCodePages()
		code := waitRelaying(p)
		waitTimeout(copiers, 2*time.Second)
		if !e.restarts(st, code) {
			e.finish(st, code)
			return nil
		}
		e.finish(st, code) // recorded as exited meanwhile, its resources given back
		if time.Since(started) > 10*time.Second {
			backoff = 100 * time.Millisecond // as Docker: a container that ran a while starts afresh
		}
		for wake := time.Now().Add(backoff); time.Now().Before(wake); time.Sleep(50 * time.Millisecond) {
			if e.stoppedByUser(id) { // stop or rm meanwhile
				return nil
			}
		}
		backoff = min(2*backoff, time.Minute)
		if st, err = e.containers.Load(id); err != nil || e.stoppedByUser(id) {
			return err
		}
		st.RestartCount++
		st.Waiting = true // a restart that fails keeps the container
	}
}

// runOnce starts the container with its output going to the log. copiers end once the
// container's output is all logged.
func (e *Engine) runOnce(st *State, cfg *container.Bundle, log *logWriter) (*container.Init, *sync.WaitGroup, error) {
	copiers := &sync.WaitGroup{}
	copyStream := func(r io.ReadCloser, stream string) {
		copiers.Add(1)
		go func() {
			defer copiers.Done()
			defer r.Close()
			log.copyLines(r, stream)
		}()
	}
	var stdio container.Stdio
	if !cfg.Spec.Process.Terminal {
		outR, outW, err := os.Pipe()
		if err != nil {
			e.startFailed(st, err)
			return nil, nil, err
		}
		errR, errW, err := os.Pipe()
		if err != nil {
			outR.Close()
			outW.Close()
			e.startFailed(st, err)
			return nil, nil, err
		}
		stdio = container.Stdio{Stdout: outW, Stderr: errW}
		copyStream(outR, "stdout")
		copyStream(errR, "stderr")
		// Only the container may hold the write ends once it started, so the copiers see
		// EOF when it exits.
		defer outW.Close()
		defer errW.Close()
	}
	var stdinW *os.File
	if st.OpenStdin && !cfg.Spec.Process.Terminal {
		r, w, err := os.Pipe()
		if err != nil {
			e.startFailed(st, err)
			return nil, nil, err
		}
		stdio.Stdin, stdinW = r, w
		defer r.Close() // the container has its own
	}
	p, err := container.StartInit(cfg.Spec.Linux.Namespaces, cfg.Spec.Process.Terminal, stdio)
	if err != nil {
		if stdinW != nil {
			stdinW.Close()
		}
		e.startFailed(st, err)
		return nil, nil, err
	}
	if err := e.start(&created{st: st, bundle: cfg}, p); err != nil {
		if stdinW != nil {
			stdinW.Close()
		}
		return nil, nil, err
	}
	pty := p.Pty()
	if pty != nil {
		copyStream(pty, "stdout")
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
	return p, copiers, nil
}

// waitRelaying waits for the container's exit, passing a stop sent to the monitor on to it.
func waitRelaying(p *container.Init) int {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM)
	defer signal.Stop(sigs)
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case s := <-sigs:
				p.Signal(s)
			case <-done:
				return
			}
		}
	}()
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
