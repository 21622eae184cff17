package engine

import (
	"fmt"
	"os"
	"strconv"

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
// and returns the command's exit status.
func (e *Engine) Exec(ref string, opts ExecOptions, stdio container.Stdio) (int, error) {
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
	profile := spec.Linux.Seccomp
	if opts.Privileged {
		all, err := container.HostCapabilities()
		if err != nil {
			return 0, err
		}
		proc.Capabilities = &specs.LinuxCapabilities{Bounding: all, Effective: all, Permitted: all}
		profile = nil
	}
	if opts.User != "" {
		if err := e.setExecUser(st, proc, opts.User); err != nil {
			return 0, err
		}
	}
	filter, err := e.seccompFilter(profile)
	if err != nil {
		return 0, err
	}
	if !opts.Interactive {
		stdio.Stdin = nil
	}
	return container.Exec(st.Pid, cgroups.Load(st.Cgroups), proc, filter, stdio)
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

// execProcessSpec derives the exec'd process from the container's: same user and
// environment, with -e added, -w or the container's working directory.
func execProcessSpec(base *specs.Process, opts ExecOptions) (*specs.Process, error) {
	if len(opts.Cmd) == 0 {
		return nil, runconfig.ErrNoCommand
	}
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
	p.Env = runconfig.MergeEnv(base.Env, env)
	if opts.Workdir != "" {
		p.Cwd = opts.Workdir
	}
	return &p, nil
}

// readContainerFile reads a small file of a running container, resolved inside its root.
func readContainerFile(pid int, path string) ([]byte, error) {
	return fsutil.ReadFileInRoot("/proc/"+strconv.Itoa(pid)+"/root", path, 1<<20)
}
