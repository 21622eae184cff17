package subsystems

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Cpuset pins a container to CPUs (--cpuset-cpus) and memory nodes (--cpuset-mems).
type Cpuset struct{}

func (Cpuset) Name() string { return "cpuset" }

func (Cpuset) Wanted(r *specs.LinuxResources) bool {
	return r != nil && r.CPU != nil && (r.CPU.Cpus != "" || r.CPU.Mems != "")
}

func (Cpuset) SetV1(dir string, r *specs.LinuxResources) error { return setCpuset(dir, r) }
func (Cpuset) SetV2(dir string, r *specs.LinuxResources) error { return setCpuset(dir, r) }

// The files have the same names on both versions.
func setCpuset(dir string, r *specs.LinuxResources) error {
	if r.CPU.Cpus != "" {
		if err := write(dir, "cpuset.cpus", r.CPU.Cpus); err != nil {
			return err
		}
	}
	if r.CPU.Mems != "" {
		return write(dir, "cpuset.mems", r.CPU.Mems)
	}
	return nil
}

// InheritV1 fills an empty cpuset.cpus and cpuset.mems from the parent directory. A new v1
// cpuset cgroup starts with both empty, and a task cannot join it until they are set ("no
// space left on device"): the book's code fails exactly there. v2 inherits by itself.
func InheritV1(dir, parent string) error {
	for _, file := range []string{"cpuset.cpus", "cpuset.mems"} {
		cur, err := read(dir, file)
		if err != nil {
			return err
		}
		if cur != "" {
			continue
		}
		val, err := read(parent, file)
		if err != nil {
			return err
		}
		if err := write(dir, file, val); err != nil {
			return err
		}
	}
	return nil
}

func (Cpuset) StatV1(string, *Stats) error { return nil }
func (Cpuset) StatV2(string, *Stats) error { return nil }
