package engine

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/mydocker/mydocker/cgroups"
	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/internal/fsutil"
	"github.com/mydocker/mydocker/runconfig"
)

// ExecOptions are what `mydocker exec` asks for.
type ExecOptions struct {
	Cmd         []string
	Env         []string
	Workdir     string
	User        string // user[:group] in the container; empty: the container's
	Privileged  bool   // every capability the host can give, no seccomp filter
	Interactive bool
	Tty         bool
}

// Exec runs a command inside a running container — in all its namespaces and its cgroups —
// and returns the command's exit status. The caller's signals go to it, and with a terminal,
// the caller's keys and screen.
func (e *Engine) Exec(ref string, opts ExecOptions, stdio container.Stdio) (int, error) {
	pid, cg, proc, filter, err := e.execProcess(ref, opts)
	if err != nil {
		return 0, err
	}
	if !opts.Interactive {
		stdio.Stdin = nil
	}
	return container.Exec(pid, cg, proc, filter, stdio)
}

// StartExec is Exec up to the command running: it returns its handle, whose terminal (with
// opts.Tty) the caller serves and for which it waits (the API's exec start).
func (e *Engine) StartExec(ref string, opts ExecOptions, stdio container.Stdio) (*container.Init, error) {
	pid, cg, proc, filter, err := e.execProcess(ref, opts)
	if err != nil {
		return nil, err
	}
	if !opts.Interactive {
		stdio.Stdin = nil
	}
	return container.StartExec(pid, cg, proc, filter, stdio)
}

// execProcess is what an exec of opts in the container ref runs: in the namespaces of its
// init (pid), its cgroups, the process and the seccomp filter.
func (e *Engine) execProcess(ref string, opts ExecOptions) (int, cgroups.Manager, *specs.Process, *container.Seccomp, error) {
	st, err := e.Get(ref)
	if err != nil {
		return 0, nil, nil, nil, err
	}
	if st.Status != Running {
		return 0, nil, nil, nil, fmt.Errorf("container %s is not running", st.ID)
	}
	spec, err := e.containers.Spec(st.ID)
	if err != nil {
		return 0, nil, nil, nil, err
	}
	proc, err := execProcessSpec(spec, st.Config.Env, opts)
	if err != nil {
		return 0, nil, nil, nil, err
	}
	profile := spec.Linux.Seccomp
	if opts.Privileged {
		all, err := container.HostCapabilities()
		if err != nil {
			return 0, nil, nil, nil, err
		}
		proc.Capabilities = &specs.LinuxCapabilities{Bounding: all, Effective: all, Permitted: all}
		profile = nil
	}
	if opts.User != "" {
		if err := e.setExecUser(st, proc, opts.User); err != nil {
			return 0, nil, nil, nil, err
		}
	}
	filter, err := e.seccompFilter(profile)
	if err != nil {
		return 0, nil, nil, nil, err
	}
	return st.Pid, cgroups.Load(st.Cgroups), proc, filter, nil
}

// ResizeTerminal gives a running container's terminal the size rows x cols (the API's
// resize; the command line's keeps the user's own terminal's). The terminal is its init's
// stdin, opened again through /proc: whoever holds the other side (its monitor, mydocker-shim)
// need not take part.
func (e *Engine) ResizeTerminal(ref string, rows, cols uint16) error {
	st, err := e.Get(ref)
	if err != nil {
		return err
	}
	if st.Status != Running {
		return fmt.Errorf("container %s is not running", st.ID)
	}
	tty, err := os.OpenFile("/proc/"+strconv.Itoa(st.Pid)+"/fd/0", os.O_RDWR|syscall.O_NOCTTY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		// The init has just ended and its monitor is recording the exit: the terminal has
		// no one left to tell, as a shim's console that outlives its process until then.
		// (A docker run -t of a quick command resizes in that moment.)
		return nil
	}
	if err != nil {
		return fmt.Errorf("open the terminal of %s: %w", container.ShortID(st.ID), err)
	}
	defer tty.Close()
	if err := unix.IoctlSetWinsize(int(tty.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols}); err != nil {
		return fmt.Errorf("container %s has no terminal to resize: %w", container.ShortID(st.ID), err)
	}
	return nil
}

// setExecUser resolves user against the running container's /etc/passwd and /etc/group.
func (e *Engine) setExecUser(st *State, proc *specs.Process, user string) error {
	passwd, perr := readContainerFile(st.Pid, "/etc/passwd")
	group, gerr := readContainerFile(st.Pid, "/etc/group")
	u, err := runconfig.LookupUser(user, passwd, perr, group, gerr)
	if err != nil {
		return err
	}
	spec := &specs.Spec{Process: proc}
	runconfig.SetUser(spec, u)
	if u.UID == 0 && proc.Capabilities != nil {
		// Back to root: the container's root capabilities, as a new exec of root gets them.
		proc.Capabilities.Effective = proc.Capabilities.Bounding
		proc.Capabilities.Permitted = proc.Capabilities.Bounding
	}
	return nil
}

// execProcessSpec derives the exec'd process from the container's (spec): same user, its
// environment made again for this process (configEnv is the container's config's), -e added,
// -w or the container's working directory.
func execProcessSpec(spec *specs.Spec, configEnv []string, opts ExecOptions) (*specs.Process, error) {
	if len(opts.Cmd) == 0 {
		return nil, runconfig.ErrNoCommand
	}
	base := spec.Process
	p := *base
	if base.Capabilities != nil {
		caps := *base.Capabilities
		p.Capabilities = &caps
	}
	p.Args = opts.Cmd
	p.Terminal = opts.Tty
	env, err := runconfig.ExpandEnv(opts.Env, os.LookupEnv)
	if err != nil {
		return nil, err
	}
	// As Docker's exec: the defaults for this process's terminal or none (TERM=xterm with -t,
	// whether or not the container has one), the container's config, then -e.
	p.Env = runconfig.MergeEnv(runconfig.MergeEnv(runconfig.DefaultEnv(spec.Hostname, opts.Tty), configEnv), env)
	if opts.Workdir != "" {
		p.Cwd = opts.Workdir
	}
	return &p, nil
}

// readContainerFile reads a small file of a running container, resolved inside its root.
func readContainerFile(pid int, path string) ([]byte, error) {
	return fsutil.ReadFileInRoot("/proc/"+strconv.Itoa(pid)+"/root", path, 1<<20)
}
