package subsystems

import (
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Memory limits memory (-m) and memory plus swap (--memory-swap).
type Memory struct{}

func (Memory) Name() string { return "memory" }

func (Memory) Wanted(r *specs.LinuxResources) bool {
	if r == nil || r.Memory == nil {
		return false
	}
	m := r.Memory
	return m.Limit != nil || m.Swap != nil || m.Reservation != nil || m.Swappiness != nil || m.DisableOOMKiller != nil
}

// SetV1: the limit, then memory+swap (v1's memsw counts both). Kernels without swap
// accounting have no memsw files; there swap simply is not limited, as with Docker. Then what
// an OCI spec may also ask (--memory-reservation, swappiness, --oom-kill-disable).
func (Memory) SetV1(dir string, r *specs.LinuxResources) error {
	m := r.Memory
	// The kernel keeps memsw at least the limit at every step: an update that grows both
	// (memsw first) takes the other order than one that shrinks them (the limit first). A
	// fresh cgroup is unlimited, and takes the limit first.
	swap := m.Swap != nil && exists(dir, "memory.memsw.limit_in_bytes")
	steps := []func() error{
		func() error {
			if m.Limit == nil {
				return nil
			}
			return memoryLimit(dir, false, *m.Limit)
		},
		func() error {
			if !swap {
				return nil
			}
			return write(dir, "memory.memsw.limit_in_bytes", strconv.FormatInt(*m.Swap, 10))
		},
	}
	if swap && m.Limit != nil {
		current, err := readUint(dir, "memory.limit_in_bytes")
		if err != nil {
			return err
		}
		if *m.Swap < 0 || uint64(*m.Swap) > current {
			steps[0], steps[1] = steps[1], steps[0]
		}
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	if m.Reservation != nil {
		if err := write(dir, "memory.soft_limit_in_bytes", strconv.FormatInt(*m.Reservation, 10)); err != nil {
			return err
		}
	}
	if m.Swappiness != nil {
		if err := write(dir, "memory.swappiness", strconv.FormatUint(*m.Swappiness, 10)); err != nil {
			return err
		}
	}
	if m.DisableOOMKiller != nil && *m.DisableOOMKiller {
		return write(dir, "memory.oom_control", "1")
	}
	return nil
}

// SetV2: memory.max, and memory.swap.max, which v2 counts apart from memory.
func (Memory) SetV2(dir string, r *specs.LinuxResources) error {
	m := r.Memory
	if m.Limit != nil {
		if err := memoryLimit(dir, true, *m.Limit); err != nil {
			return err
		}
	}
	if m.Swap != nil && m.Limit != nil && exists(dir, "memory.swap.max") {
		if err := write(dir, "memory.swap.max", SwapV2(*m.Swap, *m.Limit)); err != nil {
			return err
		}
	}
	if m.Reservation != nil {
		// v2 has no swappiness and no switch for the OOM killer: those are v1's alone.
		return write(dir, "memory.low", limitV2(*m.Reservation))
	}
	return nil
}

// SetMemoryLimit writes a memory limit in bytes (-1: unlimited) in the file of either version:
// v1's memory.limit_in_bytes, v2's memory.max ("max" for unlimited).
func SetMemoryLimit(dir string, v2 bool, limit int64) error {
	if v2 {
		return write(dir, "memory.max", limitV2(limit))
	}
	return write(dir, "memory.limit_in_bytes", strconv.FormatInt(limit, 10))
}

// SwapV2 converts v1's memory+swap limit to v2's swap-only limit: swap = memsw - memory.
// -1 (unlimited) stays unlimited.
func SwapV2(memsw, memory int64) string {
	if memsw < 0 || memory < 0 {
		return "max"
	}
	return strconv.FormatInt(memsw-memory, 10)
}

// limitV2 writes a limit the v2 way: -1 is "max".
func limitV2(n int64) string {
	if n < 0 {
		return "max"
	}
	return strconv.FormatInt(n, 10)
}

// unlimitedV1 is what v1 reports for "no limit" (the largest page-aligned long).
const unlimitedV1 = 1 << 62

func (Memory) StatV1(dir string, s *Stats) (err error) {
	if s.MemoryUsage, err = readUint(dir, "memory.usage_in_bytes"); err != nil {
		return err
	}
	if s.MemoryLimit, err = readUint(dir, "memory.limit_in_bytes"); err != nil {
		return err
	}
	if s.MemoryLimit >= unlimitedV1 {
		s.MemoryLimit = 0
	}
	s.OOMKills, err = readKey(dir, "memory.oom_control", "oom_kill")
	return err
}

func (Memory) StatV2(dir string, s *Stats) (err error) {
	if s.MemoryUsage, err = readUint(dir, "memory.current"); err != nil {
		return err
	}
	if s.MemoryLimit, err = readUint(dir, "memory.max"); err != nil {
		return err
	}
	s.OOMKills, err = readKey(dir, "memory.events", "oom_kill")
	return err
}
