package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/mydocker/mydocker/cgroups"
)

// ExecOptions are what `mydocker exec` asks for.
type ExecOptions struct {
	Cmd         []string
	Env         []string
	Workdir     string
	Interactive bool
	Tty         bool
}

// Exec runs a command inside a running container — in all its namespaces — and returns the
// command's exit status.
//
// The process it starts is this binary again, forked inside the container's namespaces but
// its mount namespace (startInNamespaces). It (runExec) enters that one itself, then executes
// the command as the init would, with the container's environment and working directory.
func (e *Engine) Exec(ref string, opts ExecOptions, stdio Stdio) (int, error) {
	st, err := e.Get(ref)
	if err != nil {
		return 0, err
	}
	if st.Status != Running {
		return 0, fmt.Errorf("container %s is not running", st.ID)
	}
	spec, err := e.containers.Spec(st.ID)
	if err != nil {
		return 0, err
	}
	proc, err := execProcessSpec(spec.Process, opts)
	if err != nil {
		return 0, err
	}

	mntNS, err := openNamespace(st.Pid, "mnt")
	if err != nil {
		return 0, err
	}
	defer mntNS.Close()
	cfgR, cfgW, err := os.Pipe()
	if err != nil {
		return 0, fmt.Errorf("exec pipe: %w", err)
	}
	syncParent, syncChild, err := socketPair()
	if err != nil {
		cfgR.Close()
		cfgW.Close()
		return 0, err
	}
	cmd := &exec.Cmd{
		Path:       "/proc/self/exe",
		Args:       []string{execName},
		Env:        []string{},
		ExtraFiles: []*os.File{cfgR, syncChild, mntNS},
	}
	if !opts.Tty {
		cmd.Stdout, cmd.Stderr = stdio.Stdout, stdio.Stderr
		if opts.Interactive && stdio.Stdin != nil {
			cmd.Stdin = stdio.Stdin
		}
	}
	sigs := relaySignals()
	defer signal.Stop(sigs)
	err = startInNamespaces(st.Pid, cmd)
	// Only the child may hold these ends, or the parent would never see the socket close.
	cfgR.Close()
	syncChild.Close()
	if err != nil {
		cfgW.Close()
		syncParent.Close()
		return 0, fmt.Errorf("start exec: %w", err)
	}
	p := &initProcess{cmd: cmd, config: cfgW, sync: syncParent}
	// Under the container's limits too (the book's exec leaves them outside).
	if err := cgroups.Load(st.Cgroups).Join(cmd.Process.Pid); err != nil {
		p.kill()
		return 0, err
	}
	if err := p.run(proc); err != nil {
		p.kill()
		// Docker reports any failure to start an exec'd command as 126, not found included.
		var se *StartError
		if errors.As(err, &se) {
			se.Code = 126
		}
		return 0, err
	}
	return waitForeground(p, sigs, stdio, opts.Interactive), nil
}

// execProcessSpec derives the exec'd process from the container's: same user and
// environment, with -e added, -w or the container's working directory.
func execProcessSpec(base *specs.Process, opts ExecOptions) (*specs.Process, error) {
	if len(opts.Cmd) == 0 {
		return nil, ErrNoCommand
	}
	p := *base
	p.Args = opts.Cmd
	p.Terminal = opts.Tty
	env, err := expandEnv(opts.Env, os.LookupEnv)
	if err != nil {
		return nil, err
	}
	p.Env = mergeEnv(base.Env, env)
	if opts.Workdir != "" {
		p.Cwd = opts.Workdir
	}
	return &p, nil
}

// execMountNSFd is the fd on which an exec'd process inherits the container's mount namespace.
const execMountNSFd = 5

// runExec is the exec'd side, inside the container's namespaces but the mount namespace: it
// enters that one, then takes the same last steps as the init.
func runExec() {
	unix.CloseOnExec(initSyncFd)
	var p specs.Process
	f := os.NewFile(initConfigFd, "exec-config")
	if err := json.NewDecoder(f).Decode(&p); err != nil {
		reportStartFailure(fmt.Errorf("read process: %w", err))
	}
	f.Close()
	ns := os.NewFile(execMountNSFd, "mnt-namespace")
	if err := enterMountNamespace(ns); err != nil {
		reportStartFailure(err)
	}
	ns.Close()
	if p.Terminal {
		if err := setupConsole(false); err != nil {
			reportStartFailure(err)
		}
	}
	reportStartFailure(execProcess(&p, nil))
}
