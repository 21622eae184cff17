package subsystems

import (
	"fmt"
	"math"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// DefaultPeriod is the CFS period --cpus is expressed against, in microseconds (Docker's).
const DefaultPeriod = 100000

// CPU limits CPU time (--cpus as a quota per period) and the share under contention
// (--cpu-shares).
type CPU struct{}

func (CPU) Name() string { return "cpu" }

func (CPU) Wanted(r *specs.LinuxResources) bool {
	return r != nil && r.CPU != nil && (r.CPU.Shares != nil || r.CPU.Quota != nil || r.CPU.Period != nil)
}

func (CPU) SetV1(dir string, r *specs.LinuxResources) error {
	c := r.CPU
	if c.Shares != nil {
		if err := write(dir, "cpu.shares", strconv.FormatUint(*c.Shares, 10)); err != nil {
			return err
		}
	}
	if c.Quota != nil || c.Period != nil {
		return cpuQuota(dir, false, quotaOf(c), periodOf(c))
	}
	return nil
}

// SetV2 writes cpu.weight (converted from shares) and cpu.max ("quota period", "max period"
// without a quota).
func (CPU) SetV2(dir string, r *specs.LinuxResources) error {
	c := r.CPU
	if c.Shares != nil {
		if err := write(dir, "cpu.weight", strconv.FormatUint(SharesToWeight(*c.Shares), 10)); err != nil {
			return err
		}
	}
	if c.Quota != nil || c.Period != nil {
		return cpuQuota(dir, true, quotaOf(c), periodOf(c))
	}
	return nil
}

func quotaOf(c *specs.LinuxCPU) int64 {
	if c.Quota == nil {
		return -1
	}
	return *c.Quota
}

func periodOf(c *specs.LinuxCPU) uint64 {
	if c.Period == nil {
		return DefaultPeriod
	}
	return *c.Period
}

// SetCPUQuota gives a cgroup quota microseconds of CPU time per period (-1 or 0: unlimited):
// v1's cpu.cfs_period_us then cpu.cfs_quota_us (the kernel checks the quota against the
// current period), v2's cpu.max, "quota period" ("max period" for unlimited).
func SetCPUQuota(dir string, v2 bool, quota int64, period uint64) error {
	if v2 {
		q := "max"
		if quota > 0 {
			q = strconv.FormatInt(quota, 10)
		}
		return write(dir, "cpu.max", fmt.Sprintf("%s %d", q, period))
	}
	if err := write(dir, "cpu.cfs_period_us", strconv.FormatUint(period, 10)); err != nil {
		return err
	}
	return write(dir, "cpu.cfs_quota_us", strconv.FormatInt(quota, 10))
}

// SharesToWeight converts v1's cpu.shares [2, 262144] (default 1024) to v2's cpu.weight
// [1, 10000] (default 100) with the formula runc and crun use today: a parabola in log space
// that maps both ends and the default exactly (2 -> 1, 1024 -> 100, 262144 -> 10000). The
// older linear formula sent the default 1024 to 39, starving containers next to v2-native
// ones. 0 means "not set".
func SharesToWeight(shares uint64) uint64 {
	switch {
	case shares == 0:
		return 0
	case shares <= 2:
		return 1
	case shares >= 262144:
		return 10000
	}
	l := math.Log2(float64(shares))
	exponent := (l*l+125*l)/612.0 - 7.0/34.0
	// Round before the ceiling: 10^2.0000000000000004 must give 100, not 101.
	return uint64(math.Ceil(math.Round(math.Pow(10, exponent)*1e6) / 1e6))
}

// CPUsToQuota converts --cpus to a CFS quota per DefaultPeriod: 0.5 CPUs -> 50000.
func CPUsToQuota(cpus float64) int64 {
	return int64(math.Round(cpus * DefaultPeriod))
}

func (CPU) StatV1(dir string, s *Stats) error { return nil } // v1 counts CPU time in cpuacct

func (CPU) StatV2(dir string, s *Stats) error {
	usec, err := readKey(dir, "cpu.stat", "usage_usec")
	s.CPUUsage = usec * 1000
	return err
}

// CPUAcct is v1's CPU accounting controller: no limits, only the CPU time used.
type CPUAcct struct{}

func (CPUAcct) Name() string                              { return "cpuacct" }
func (CPUAcct) Wanted(*specs.LinuxResources) bool         { return false }
func (CPUAcct) SetV1(string, *specs.LinuxResources) error { return nil }
func (CPUAcct) SetV2(string, *specs.LinuxResources) error { return nil }
func (CPUAcct) StatV2(string, *Stats) error               { return nil }
func (CPUAcct) StatV1(dir string, s *Stats) (err error) {
	s.CPUUsage, err = readUint(dir, "cpuacct.usage")
	return err
}
