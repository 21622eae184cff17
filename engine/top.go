package engine

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	mobyctr "github.com/moby/moby/api/types/container"

	"github.com/mydocker/mydocker/cgroups"
	"github.com/mydocker/mydocker/container"
)

// Top lists the processes of a running container as Docker's top does: the host's ps runs
// with psArgs ("" is -ef), and of its rows those of the container's processes are kept — the
// processes in its cgroup (its pids cgroup on v1, its one cgroup on v2), found by the PID
// column. Both fronts print what it returns: the CLI's top as a table, the API's as JSON.
func (e *Engine) Top(ref, psArgs string) (*mobyctr.TopResponse, error) {
	args := strings.Fields(psArgs)
	if len(args) == 0 {
		args = []string{"-ef"}
	}
	if err := checkPSArgs(args); err != nil {
		return nil, err
	}
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
	out, err := runPS(args, pids)
	if err != nil {
		return nil, err
	}
	return parsePS(out, pids)
}

// psRenamesPID finds a column named PID that is not the pid (-o comm=PID): its values would
// be taken for pids.
var psRenamesPID = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^([^=]*)=\s*(PID\S*)`) })

// checkPSArgs refuses ps options that would make the rows of other processes look like the
// container's, as Docker does.
func checkPSArgs(args []string) error {
	for _, a := range args {
		for _, col := range strings.Split(a, ",") {
			if m := psRenamesPID().FindStringSubmatch(col); m != nil && m[1] != "pid" {
				return fmt.Errorf(`specifying "%s=%s" is not allowed`, m[1], m[2])
			}
		}
	}
	return nil
}

// runPS runs ps with args, asking for the processes pids only (-q); some options refuse -q
// (the forest of f): then for all.
func runPS(args []string, pids []int) ([]byte, error) {
	list := make([]string, len(pids))
	for i, p := range pids {
		list[i] = strconv.Itoa(p)
	}
	if out, err := exec.Command("ps", append(slices.Clone(args), "-q", strings.Join(list, ","))...).Output(); err == nil {
		return out, nil
	}
	out, err := exec.Command("ps", args...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			// Its first line says why.
			if line, _, _ := bytes.Cut(ee.Stderr, []byte("\n")); len(line) > 0 {
				return nil, fmt.Errorf("ps %s: %s", strings.Join(args, " "), line)
			}
		}
		return nil, fmt.Errorf("ps %s: %w", strings.Join(args, " "), err)
	}
	return out, nil
}

// parsePS keeps the rows of ps's output whose PID column is one of pids, and the thread rows
// (PID "-", with -m or H) that follow such a row. A row's last column takes the rest of the
// line: the command, spaces and all.
func parsePS(out []byte, pids []int) (*mobyctr.TopResponse, error) {
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	resp := &mobyctr.TopResponse{Titles: fieldsASCII(lines[0]), Processes: [][]string{}}
	pidColumn := slices.Index(resp.Titles, "PID")
	if pidColumn < 0 {
		return nil, errors.New("ps printed no PID column: name it in the options (-o pid,...)")
	}
	keep := false // the last row with a pid was the container's
	for _, line := range lines[1:] {
		fields := fieldsASCII(line)
		if len(fields) <= pidColumn {
			continue
		}
		if fields[pidColumn] != "-" {
			pid, err := strconv.Atoi(fields[pidColumn])
			if err != nil {
				return nil, fmt.Errorf("ps printed %q as a pid", fields[pidColumn])
			}
			keep = slices.Contains(pids, pid)
		}
		if !keep {
			continue
		}
		if n := len(resp.Titles); len(fields) > n {
			fields = append(fields[:n-1], strings.Join(fields[n-1:], " "))
		}
		resp.Processes = append(resp.Processes, fields)
	}
	return resp, nil
}

// fieldsASCII splits at ASCII white space only: a command's own (a no-break space, say) is
// part of it.
func fieldsASCII(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		switch r {
		case ' ', '\t', '\n', '\f', '\r', '\v':
			return true
		}
		return false
	})
}

// containerPids are the processes of a running container: those in its cgroup, or, for one
// without cgroups of its own (rootless), those in its PID namespace.
func containerPids(st *State) ([]int, error) {
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
	var pids []int
	for _, f := range strings.Fields(string(data)) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not a pid", filepath.Join(dir, "cgroup.procs"), f)
		}
		pids = append(pids, pid)
	}
	return pids, nil
}

// pidNamespaceMembers are the processes in the PID namespace of process pid.
func pidNamespaceMembers(pid int) ([]int, error) {
	ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid))
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var out []int
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if other, err := os.Readlink("/proc/" + e.Name() + "/ns/pid"); err == nil && other == ns {
			out = append(out, p)
		}
	}
	return out, nil
}
