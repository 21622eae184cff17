// Package subsystems knows, for each resource a container can be limited in, which cgroup
// files hold it on cgroup v1 and on cgroup v2, and how to convert a limit between the two.
//
//	resource   v1 (one hierarchy per controller)          v2 (one tree)
//	memory     memory.limit_in_bytes, memory.memsw.*       memory.max, memory.swap.max
//	cpu        cpu.cfs_quota_us, cpu.cfs_period_us,        cpu.max ("quota period"),
//	           cpu.shares                                  cpu.weight
//	cpuset     cpuset.cpus, cpuset.mems                    cpuset.cpus, cpuset.mems
//	pids       pids.max                                    pids.max
//	devices    devices.deny, devices.allow                 an eBPF program attached to the cgroup
//
// A limit arrives as the OCI runtime spec's LinuxResources. The cgroups manager walks All and
// hands each subsystem its directory; it knows nothing about particular resources.
package subsystems

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Subsystem writes one resource's limits into a cgroup directory and reads its usage back.
type Subsystem interface {
	// Name is the controller: the v1 hierarchy it lives in, the v2 controller to enable.
	Name() string
	// Wanted reports whether r limits this resource at all.
	Wanted(r *specs.LinuxResources) bool
	SetV1(dir string, r *specs.LinuxResources) error
	SetV2(dir string, r *specs.LinuxResources) error
	StatV1(dir string, s *Stats) error
	StatV2(dir string, s *Stats) error
}

// All are the subsystems mydocker manages, in the order their limits are written.
var All = []Subsystem{Cpuset{}, Memory{}, CPU{}, CPUAcct{}, Pids{}, Devices{}, Blkio{}}

// Stats is what `mydocker stats` shows of a container.
type Stats struct {
	MemoryUsage uint64 // bytes
	MemoryLimit uint64 // bytes; 0 when unlimited
	CPUUsage    uint64 // nanoseconds of CPU time used so far
	Pids        uint64
	PidsLimit   uint64 // 0 when unlimited
	OOMKills    uint64
	BlockRead   uint64 // bytes read from block devices
	BlockWrite  uint64 // bytes written to them
	NetRx       uint64 // bytes received on the container's interfaces (lo aside)
	NetTx       uint64 // bytes sent
}

// write writes one cgroup file, naming it in the error.
func write(dir, file, value string) error {
	path := filepath.Join(dir, file)
	if err := os.WriteFile(path, []byte(value), 0o644); err != nil {
		return fmt.Errorf("write %q to %s: %w", value, path, err)
	}
	return nil
}

// read returns a cgroup file's content without its trailing newline.
func read(dir, file string) (string, error) {
	data, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(data)), nil
}

// readUint reads a file holding one number; "max" (v2's "unlimited") reads as 0.
func readUint(dir, file string) (uint64, error) {
	s, err := read(dir, file)
	if err != nil || s == "max" {
		return 0, err
	}
	return strconv.ParseUint(s, 10, 64)
}

// readKey reads "key value" lines (memory.events, cpu.stat, memory.oom_control).
func readKey(dir, file, key string) (uint64, error) {
	s, err := read(dir, file)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(s, "\n") {
		if k, v, ok := strings.Cut(line, " "); ok && k == key {
			return strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, nil
}

// exists reports whether a cgroup file is there: some depend on kernel options (swap
// accounting) or on the controller's version.
func exists(dir, file string) bool {
	_, err := os.Stat(filepath.Join(dir, file))
	return err == nil
}
