package engine

import (
	"fmt"

	"github.com/moby/moby/api/types/events"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/mydocker/mydocker/cgroups"
	"github.com/mydocker/mydocker/container"
)

// Paused reports whether a running container is paused. It is read from the freezer, not
// recorded: the container's watcher owns its state file, and a pause written there could
// cross the watcher's record of an exit.
func (e *Engine) Paused(st *State) bool {
	return st.Status == Running && st.Cgroups != nil && cgroups.Load(st.Cgroups).Frozen()
}

// Pause stops every process of a running container where it is (the freezer).
func (e *Engine) Pause(ref string) error {
	st, err := e.Get(ref)
	if err != nil {
		return err
	}
	if st.Status != Running {
		return fmt.Errorf("container %s is not running", st.ID)
	}
	if e.Paused(st) {
		return fmt.Errorf("container %s is already paused", st.ID)
	}
	if st.Cgroups == nil {
		return fmt.Errorf("container %s cannot be paused: %w", container.ShortID(st.ID), errNoCgroups)
	}
	if err := cgroups.Load(st.Cgroups).Freeze(); err != nil {
		return fmt.Errorf("pause container %s: %w", container.ShortID(st.ID), err)
	}
	e.containerEvent(st, events.ActionPause, nil)
	return nil
}

// Unpause lets a paused container's processes go on.
func (e *Engine) Unpause(ref string) error {
	st, err := e.Get(ref)
	if err != nil {
		return err
	}
	if !e.Paused(st) {
		return fmt.Errorf("container %s is not paused", st.ID)
	}
	if err := cgroups.Load(st.Cgroups).Thaw(); err != nil {
		return fmt.Errorf("unpause container %s: %w", container.ShortID(st.ID), err)
	}
	e.containerEvent(st, events.ActionUnPause, nil)
	return nil
}

// thaw lets a paused container go on so that a signal sent to it takes effect: a frozen
// process does not even die of SIGKILL until it is thawed.
func (e *Engine) thaw(st *State) {
	if e.Paused(st) {
		cgroups.Load(st.Cgroups).Thaw()
	}
}

// Rename gives a container another name.
func (e *Engine) Rename(ref, name string) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	st, err := e.Get(ref)
	if err != nil {
		return err
	}
	if st.Broken {
		return fmt.Errorf("container %s: %s", st.ID, st.Error)
	}
	if err := e.containers.Rename(st.ID, name); err != nil {
		return err
	}
	old := st.Name
	if st, err = e.containers.Load(st.ID); err != nil {
		return err
	}
	e.containerEvent(st, events.ActionRename, map[string]string{"oldName": "/" + old})
	if st.Status != Running {
		return nil
	}
	// Found by its new name on its networks at once.
	spec, err := e.containers.Spec(st.ID)
	if err != nil {
		return err
	}
	return e.networks.SetNames(st.ID, func(net string) []string {
		for _, a := range st.attachments() {
			if a.Name == net {
				return dnsNames(st, spec.Hostname, a.Aliases)
			}
		}
		return dnsNames(st, spec.Hostname, nil)
	})
}

// TopProcess is one process of a container as top lists it.
type TopProcess struct {
	UID, PID, PPID, State, Command string
}

// Top lists the processes of a running container: those in its cgroup (its pids cgroup on
// v1, its one cgroup on v2), read from /proc.
func (e *Engine) Top(ref string) ([]TopProcess, error) {
	st, err := e.Get(ref)
	if err != nil {
		return nil, err
	}
	if st.Status != Running {
		return nil, fmt.Errorf("container %s is not running", st.ID)
	}
	pids, err := containerPids(st)
	if err != nil {
		return nil, fmt.Errorf("list the processes of %s: %w", container.ShortID(st.ID), err)
	}
	var out []TopProcess
	for _, pid := range pids {
		p, err := readTopProcess(pid)
		if err == nil {
			out = append(out, p)
		}
	}
	return out, nil
}

// containerPids are the processes of a running container: those in its cgroup, or, for one
// without cgroups of its own (rootless), those in its PID namespace.
func containerPids(st *State) ([]string, error) {
	if st.Cgroups == nil {
		return pidNamespaceMembers(st.Pid)
	}
	dir := cgroups.Load(st.Cgroups).Dir("pids")
	if dir == "" {
		dir = cgroups.Load(st.Cgroups).Dir("memory")
	}
	data, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return nil, err
	}
	return strings.Fields(string(data)), nil
}

// pidNamespaceMembers are the processes in the PID namespace of process pid.
func pidNamespaceMembers(pid int) ([]string, error) {
	ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid))
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		if other, err := os.Readlink("/proc/" + e.Name() + "/ns/pid"); err == nil && other == ns {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

func readTopProcess(pid string) (TopProcess, error) {
	p := TopProcess{PID: pid}
	status, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return p, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		k, v, _ := strings.Cut(line, ":")
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		switch k {
		case "Uid":
			p.UID = f[0]
		case "PPid":
			p.PPID = f[0]
		case "State":
			p.State = f[0]
		}
	}
	cmdline, err := os.ReadFile("/proc/" + pid + "/cmdline")
	if err != nil {
		return p, err
	}
	p.Command = strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " "))
	if p.Command == "" { // a kernel thread or a zombie: its name, in brackets as ps writes it
		comm, _ := os.ReadFile("/proc/" + pid + "/comm")
		p.Command = "[" + strings.TrimSpace(string(comm)) + "]"
	}
	if _, err := strconv.Atoi(pid); err != nil {
		return p, err
	}
	return p, nil
}
