package cgroups

import (
	"sync"

	"golang.org/x/sys/unix"
)

// Mode is how the host mounts cgroups.
type Mode int

const (
	// Legacy: one v1 hierarchy per controller under /sys/fs/cgroup.
	Legacy Mode = iota
	// Hybrid: v1 controllers, plus a cgroup2 tree at /sys/fs/cgroup/unified.
	Hybrid
	// Unified: cgroup v2 alone at /sys/fs/cgroup.
	Unified
)

func (m Mode) String() string {
	return [...]string{"v1", "hybrid", "v2"}[m]
}

var (
	modeOnce sync.Once
	mode     Mode
)

// DetectMode tells the host's cgroup mode the way runc does, from the filesystem magic of
// /sys/fs/cgroup (and of its unified child). It is read once.
func DetectMode() Mode {
	modeOnce.Do(func() {
		mode = detectMode("/sys/fs/cgroup")
	})
	return mode
}

func detectMode(root string) Mode {
	var st unix.Statfs_t
	if err := unix.Statfs(root, &st); err == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		return Unified
	}
	if err := unix.Statfs(root+"/unified", &st); err == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		return Hybrid
	}
	return Legacy
}
