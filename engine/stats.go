package engine

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/mydocker/mydocker/cgroups"
	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/subsystems"
)

// Stats reads a running container's usage from its cgroups. The memory limit of a container
// without one (or with one above the host's memory) is the host's memory, as docker stats
// shows it.
func (e *Engine) Stats(ref string) (*State, *subsystems.Stats, error) {
	st, err := e.Get(ref)
	if err != nil {
		return nil, nil, err
	}
	if st.Status != Running {
		return st, nil, fmt.Errorf("container %s is not running", ref)
	}
	stats, err := cgroups.Load(st.Cgroups).Stats()
	if err != nil {
		return st, nil, fmt.Errorf("read the cgroups of %s: %w", container.ShortID(st.ID), err)
	}
	stats.NetRx, stats.NetTx = netBytes(st.Pid)
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) == nil {
		if total := si.Totalram * uint64(si.Unit); stats.MemoryLimit == 0 || stats.MemoryLimit > total {
			stats.MemoryLimit = total
		}
	}
	return st, stats, nil
}

// netBytes sums the bytes received and sent on the interfaces of process pid's network
// namespace, loopback aside (/proc/PID/net/dev).
func netBytes(pid int) (rx, tx uint64) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/net/dev")
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		name, counters, ok := strings.Cut(line, ":")
		f := strings.Fields(counters)
		if !ok || strings.TrimSpace(name) == "lo" || len(f) < 9 {
			continue
		}
		r, _ := strconv.ParseUint(f[0], 10, 64)
		t, _ := strconv.ParseUint(f[8], 10, 64)
		rx, tx = rx+r, tx+t
	}
	return rx, tx
}
