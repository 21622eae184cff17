package engine

import (
	"fmt"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/mydocker/mydocker/cgroups"
	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/runconfig"
)

// ExecOptions are what `mydocker exec` asks for.
type ExecOptions struct {
	Cmd         []string
	Env         []string
	Workdir     string
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
	if !opts.Interactive {
		stdio.Stdin = nil
	}
	return container.Exec(st.Pid, cgroups.Load(st.Cgroups), proc, stdio)
}

// execProcessSpec derives the exec'd process from the container's: same user and
// environment, with -e added, -w or the container's working directory.
func execProcessSpec(base *specs.Process, opts ExecOptions) (*specs.Process, error) {
	if len(opts.Cmd) == 0 {
		return nil, runconfig.ErrNoCommand
	}
	p := *base
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
