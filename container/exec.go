package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime/debug"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/mydocker/mydocker/cgroups"
	"github.com/mydocker/mydocker/internal/faults"
)

// Exec runs process p inside the running container whose init is pid — in all its namespaces
// and its cgroups (cg), confined as p says (capabilities, rlimits, no_new_privs, user) and by
// the seccomp filter (CompileSeccomp; nil: none) — in the foreground, and returns the command's
// exit status. stdin nil: the command reads /dev/null.
//
// The process it starts is this binary again, forked inside the container's namespaces but
// its mount namespace (startInNamespaces). It (runExec) enters that one itself, then executes
// the command as the init would.
func Exec(pid int, cg cgroups.Manager, p *specs.Process, filter *Seccomp, stdio Stdio) (int, error) {
	sigs := CatchSignals()
	defer sigs.Stop()
	h, err := StartExec(pid, cg, p, filter, stdio)
	if err != nil {
		return 0, err
	}
	return h.WaitForeground(sigs, stdio, stdio.Stdin != nil), nil
}

// StartExec is Exec up to the command running: it returns the process's handle (its pid, its
// terminal), for a caller that waits for it in its own way, or leaves it to its own parent (an
// OCI runtime's exec --detach, whose caller is a subreaper).
func StartExec(pid int, cg cgroups.Manager, p *specs.Process, filter *Seccomp, stdio Stdio) (*Init, error) {
	mntNS, err := openNamespace(pid, "mnt")
	if err != nil {
		return nil, err
	}
	defer mntNS.Close()
	cfgR, cfgW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("exec pipe: %w", err)
	}
	syncParent, syncChild, err := socketPair()
	if err != nil {
		cfgR.Close()
		cfgW.Close()
		return nil, err
	}
	cmd := &exec.Cmd{
		Args:       []string{execName},
		Env:        runtimeEnv(),
		ExtraFiles: []*os.File{cfgR, syncChild, mntNS},
	}
	if !p.Terminal {
		cmd.Stdin, cmd.Stdout, cmd.Stderr = stdio.Stdin, stdio.Stdout, stdio.Stderr
		if stdio.Stdin == nil {
			cmd.Stdin = nil
		}
	}
	// A container with a user namespace of its own: the process joins it too, through nsenter,
	// once the namespaces it owns are joined (a threaded Go program cannot join a user
	// namespace, see enterUserNamespace).
	var how launch
	if !sameUserNamespace(pid) {
		how = launch{byDescriptor: true, joinUserNS: fmt.Sprintf("/proc/%d/ns/user", pid)}
	}
	child, err := startSealed(cmd, func() error { return joinNamespaces(pid) }, how)
	// Only the child may hold these ends, or the parent would never see the socket close.
	cfgR.Close()
	syncChild.Close()
	if err != nil {
		cfgW.Close()
		syncParent.Close()
		return nil, fmt.Errorf("start exec: %w", err)
	}
	h := &Init{cmd: cmd, child: child, config: cfgW, sync: syncParent, proc: Process{Pid: cmd.Process.Pid}}
	// Under the container's limits too (the book's exec leaves them outside) — but only once
	// the process is about to execve, making raw system calls only (lastSteps): it has several
	// threads, and a pids limit the container already fills would refuse its Go runtime one
	// more (as the init's, see JoinCgroups; runc has this bug, #1914). After execve it is one
	// thread.
	join := func() error {
		if err := cg.Join(cmd.Process.Pid); err != nil {
			return err
		}
		faults.Stall("init:limited") // the process waits in the container's cgroups meanwhile
		return nil
	}
	if err := h.run(execConfig{Process: p, Seccomp: filter}, join); err != nil {
		h.Kill()
		// Docker reports any failure to start an exec'd command as 126, not found included.
		var se *StartError
		if errors.As(err, &se) {
			se.Code = 126
		}
		return nil, err
	}
	return h, nil
}

// execConfig is what an exec'd process gets over its config pipe.
type execConfig struct {
	Process *specs.Process `json:"process"`
	Seccomp *Seccomp       `json:"seccomp,omitempty"`
}

// execMountNSFd is the fd on which an exec'd process inherits the container's mount namespace.
const execMountNSFd = 5

// runExec is the exec'd side, inside the container's namespaces but the mount namespace: it
// enters that one, then takes the same last steps as the init.
func runExec() {
	debug.SetGCPercent(-1) // as the init (see lastSteps)
	if err := closeInheritedFds(); err != nil {
		reportStartFailure(fmt.Errorf("close inherited descriptors: %w", err))
	}
	var cfg execConfig
	f := os.NewFile(initConfigFd, "exec-config")
	if err := json.NewDecoder(f).Decode(&cfg); err != nil {
		reportStartFailure(fmt.Errorf("read process: %w", err))
	}
	f.Close()
	ns := os.NewFile(execMountNSFd, "mnt-namespace")
	if err := enterMountNamespace(ns); err != nil {
		reportStartFailure(err)
	}
	ns.Close()
	if cfg.Process.Terminal {
		if err := setupConsole(false); err != nil {
			reportStartFailure(err)
		}
	}
	reportStartFailure(execProcess(cfg.Process, cfg.Seccomp))
}
