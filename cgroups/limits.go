package cgroups

import (
	"fmt"
	"math"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/mydocker/mydocker/subsystems"
)

// Limits are a container's limits as the user typed them ("" when not given).
type Limits struct {
	Memory     string // 32m, 1g, 512k, 100b
	MemorySwap string // memory plus swap; -1 for unlimited swap
	CPUs       string // 0.5
	CPUShares  string // relative weight, 1024 by default
	CpusetCpus string // 0-2,4
	CpusetMems string // memory nodes, same form
	PidsLimit  string // 0 or -1 for unlimited
}

// LimitError says which limit (a field name of Limits, "Memory") has a bad value: the caller,
// which knows its own flag for it, names that in its message.
type LimitError struct {
	Limit string
	Value string
	Err   error
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("invalid %s %q: %v", e.Limit, e.Value, e.Err)
}

func (e *LimitError) Unwrap() error { return e.Err }

// minMemory is Docker's smallest memory limit: below it the container's own start-up does not fit.
const minMemory = 6 << 20

// ParseResources checks the limits and turns them into the spec's resources (nil when none is
// set). It runs before anything is created, so a bad value costs nothing to undo; its errors
// are *LimitError.
func ParseResources(f Limits) (*specs.LinuxResources, error) {
	return parseResources(f, readOnline("/sys/devices/system/cpu/online"), readOnline("/sys/devices/system/node/online"), runtime.NumCPU())
}

func parseResources(f Limits, onlineCPUs, onlineMems string, numCPU int) (*specs.LinuxResources, error) {
	var r specs.LinuxResources
	set := false
	bad := func(value, limit string, err error) error {
		return &LimitError{Limit: limit, Value: value, Err: err}
	}
	if f.Memory != "" {
		n, err := RAMInBytes(f.Memory)
		if err != nil {
			return nil, bad(f.Memory, "Memory", err)
		}
		if n < minMemory {
			return nil, bad(f.Memory, "Memory", fmt.Errorf("the minimum memory limit allowed is 6MB"))
		}
		r.Memory = &specs.LinuxMemory{Limit: &n}
		set = true
	}
	if f.MemorySwap != "" {
		if r.Memory == nil {
			return nil, bad(f.MemorySwap, "MemorySwap", fmt.Errorf("a memory plus swap limit needs a memory limit too"))
		}
		swap := int64(-1)
		if f.MemorySwap != "-1" {
			n, err := RAMInBytes(f.MemorySwap)
			if err != nil {
				return nil, bad(f.MemorySwap, "MemorySwap", err)
			}
			if n < *r.Memory.Limit {
				return nil, bad(f.MemorySwap, "MemorySwap", fmt.Errorf("memory plus swap must be at least the memory limit (%s)", f.Memory))
			}
			swap = n
		}
		r.Memory.Swap = &swap
	}
	cpu := &specs.LinuxCPU{}
	if f.CPUs != "" {
		n, err := strconv.ParseFloat(f.CPUs, 64)
		if err != nil || n <= 0 || n > float64(numCPU) {
			return nil, bad(f.CPUs, "CPUs", fmt.Errorf("the range of CPUs is from 0.01 to %d.00, as there are only %d CPUs available", numCPU, numCPU))
		}
		quota, period := subsystems.CPUsToQuota(n), uint64(subsystems.DefaultPeriod)
		if quota < 1000 {
			return nil, bad(f.CPUs, "CPUs", fmt.Errorf("the range of CPUs is from 0.01 to %d.00", numCPU))
		}
		cpu.Quota, cpu.Period = &quota, &period
	}
	if f.CPUShares != "" {
		n, err := strconv.ParseUint(f.CPUShares, 10, 64)
		if err != nil || n > 262144 {
			return nil, bad(f.CPUShares, "CPUShares", fmt.Errorf("want a whole number up to 262144 (1024 is the default weight)"))
		}
		if n > 0 {
			cpu.Shares = &n
		}
	}
	if f.CpusetCpus != "" {
		if err := checkList(f.CpusetCpus, onlineCPUs, "CPUs"); err != nil {
			return nil, bad(f.CpusetCpus, "CpusetCpus", err)
		}
		cpu.Cpus = f.CpusetCpus
	}
	if f.CpusetMems != "" {
		if err := checkList(f.CpusetMems, onlineMems, "memory nodes"); err != nil {
			return nil, bad(f.CpusetMems, "CpusetMems", err)
		}
		cpu.Mems = f.CpusetMems
	}
	if cpu.Quota != nil || cpu.Shares != nil || cpu.Cpus != "" || cpu.Mems != "" {
		r.CPU = cpu
		set = true
	}
	if f.PidsLimit != "" {
		n, err := strconv.ParseInt(f.PidsLimit, 10, 64)
		if err != nil {
			return nil, bad(f.PidsLimit, "PidsLimit", fmt.Errorf("want a whole number (0 or -1: unlimited)"))
		}
		if n <= 0 {
			n = -1
		}
		r.Pids = &specs.LinuxPids{Limit: &n}
		set = true
	}
	if !set {
		return nil, nil
	}
	return &r, nil
}

// ramRegexp is compiled on first use, not at start-up (every mydocker process would pay).
var ramRegexp = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(\d+(?:\.\d+)?) ?([kKmMgGtTpP])?[iI]?[bB]?$`)
})

// RAMInBytes reads a size with a binary unit, as Docker's -m does: "32m" is 32 MiB, "1.5g",
// "512k", "100b" or "100".
func RAMInBytes(s string) (int64, error) {
	m := ramRegexp().FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("invalid size: %q (use b, k, m or g: 32m)", s)
	}
	n, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, fmt.Errorf("invalid size: %q", s)
	}
	unit := map[string]float64{"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}[strings.ToLower(m[2])]
	// A float64 holds int64's largest value rounded up: anything from there on does not fit.
	if n*unit >= math.MaxInt64 {
		return 0, fmt.Errorf("invalid size: %q is too large", s)
	}
	return int64(n * unit), nil
}

// checkList checks a cpuset list ("0-2,4") against the online ones ("0-1").
func checkList(list, online, what string) error {
	want, err := parseList(list)
	if err != nil {
		return err
	}
	have, err := parseList(online)
	if err != nil {
		return fmt.Errorf("read the online %s %q: %w", what, online, err)
	}
	for n := range want {
		if !have[n] {
			return fmt.Errorf("requested %s are not available - requested %s, available: %s", what, list, online)
		}
	}
	return nil
}

// parseList reads the kernel's list format: "0-3,5,7-8".
func parseList(s string) (map[int]bool, error) {
	out := map[int]bool{}
	for _, part := range strings.Split(strings.TrimSpace(s), ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			return nil, fmt.Errorf("invalid list %q: want numbers and ranges, as 0-2,4", s)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, fmt.Errorf("invalid list %q: want numbers and ranges, as 0-2,4", s)
			}
		}
		for n := a; n <= b; n++ {
			out[n] = true
		}
	}
	return out, nil
}

// readOnline reads a sysfs "online" list; a machine without the file has CPU or node 0.
func readOnline(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "0"
	}
	return strings.TrimSpace(string(data))
}
