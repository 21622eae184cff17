package subsystems

import (
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Pids limits the number of processes and threads (--pids-limit): a fork beyond it fails
// with EAGAIN.
type Pids struct{}

func (Pids) Name() string { return "pids" }

func (Pids) Wanted(r *specs.LinuxResources) bool {
	return r != nil && r.Pids != nil && r.Pids.Limit != nil
}

func (Pids) SetV1(dir string, r *specs.LinuxResources) error { return setPids(dir, r) }
func (Pids) SetV2(dir string, r *specs.LinuxResources) error { return setPids(dir, r) }

// Same file on both versions; 0 or less means unlimited, which the kernel spells "max".
func setPids(dir string, r *specs.LinuxResources) error {
	value := "max"
	if l := r.Pids.Limit; l != nil && *l > 0 {
		value = strconv.FormatInt(*l, 10)
	}
	return write(dir, "pids.max", value)
}

func (Pids) StatV1(dir string, s *Stats) error { return statPids(dir, s) }
func (Pids) StatV2(dir string, s *Stats) error { return statPids(dir, s) }

func statPids(dir string, s *Stats) (err error) {
	if s.Pids, err = readUint(dir, "pids.current"); err != nil {
		return err
	}
	s.PidsLimit, err = readUint(dir, "pids.max")
	return err
}
