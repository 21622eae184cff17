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

func (Pids) SetV1(dir string, r *specs.LinuxResources) error {
	return pidsLimit(dir, false, *r.Pids.Limit)
}
func (Pids) SetV2(dir string, r *specs.LinuxResources) error {
	return pidsLimit(dir, true, *r.Pids.Limit)
}

// SetPidsMax writes a pids limit (0 or less: unlimited) to pids.max, the same file on both
// versions.
func SetPidsMax(dir string, v2 bool, max int64) error {
	return write(dir, PidsFile, PidsMax(&max))
}

// PidsFile is the pids limit's file, the same in both versions.
const PidsFile = "pids.max"

// PidsMax is the pids limit as pids.max spells it: 0 or less (or none) means unlimited, "max".
func PidsMax(limit *int64) string {
	if limit != nil && *limit > 0 {
		return strconv.FormatInt(*limit, 10)
	}
	return "max"
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
