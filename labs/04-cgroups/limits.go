//go:build !solution

package limits

import "errors"

// Each function writes one limit into the cgroup directory dir: a v1 controller's directory
// (memory, cpu or pids hierarchy), or with v2 the container's directory in the single tree.
// The files differ between the versions; the kernel's files are plain text.

// SetMemory limits memory to limit bytes; -1 means unlimited.
func SetMemory(dir string, v2 bool, limit int64) error {
	return errors.New("not implemented: write SetMemory in labs/04-cgroups/limits.go")
}

// SetCPU gives the cgroup quota microseconds of CPU time in each period of period
// microseconds (--cpus 0.5 is 50000 in 100000); a quota of -1 means unlimited.
func SetCPU(dir string, v2 bool, quota int64, period uint64) error {
	return errors.New("not implemented: write SetCPU in labs/04-cgroups/limits.go")
}

// SetPids limits the number of processes (and threads) in the cgroup; 0 or -1 means unlimited.
func SetPids(dir string, v2 bool, max int64) error {
	return errors.New("not implemented: write SetPids in labs/04-cgroups/limits.go")
}
