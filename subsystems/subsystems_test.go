package subsystems

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/stretchr/testify/require"
)

// fakeCgroup makes a directory with the given files, as a cgroup directory would have them.
func fakeCgroup(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
	}
	return dir
}

func readFile(t *testing.T, dir, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, name))
	require.NoError(t, err, name)
	return string(data)
}

func i64(n int64) *int64   { return &n }
func u64(n uint64) *uint64 { return &n }

func TestSetWritesTheFilesOfEachVersion(t *testing.T) {
	r := &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: i64(32 << 20), Swap: i64(64 << 20)},
		CPU:    &specs.LinuxCPU{Shares: u64(512), Quota: i64(50000), Period: u64(100000), Cpus: "0", Mems: "0"},
		Pids:   &specs.LinuxPids{Limit: i64(20)},
	}
	v1 := map[string]string{
		"memory.limit_in_bytes":       "33554432",
		"memory.memsw.limit_in_bytes": "67108864",
		"cpu.shares":                  "512",
		"cpu.cfs_period_us":           "100000",
		"cpu.cfs_quota_us":            "50000",
		"cpuset.cpus":                 "0",
		"cpuset.mems":                 "0",
		"pids.max":                    "20",
	}
	v2 := map[string]string{
		"memory.max":      "33554432",
		"memory.swap.max": "33554432", // v2 counts swap alone: 64m - 32m
		"cpu.weight":      "59",       // 512 shares
		"cpu.max":         "50000 100000",
		"cpuset.cpus":     "0",
		"cpuset.mems":     "0",
		"pids.max":        "20",
	}
	for version, want := range map[string]map[string]string{"v1": v1, "v2": v2} {
		t.Run(version, func(t *testing.T) {
			seed := map[string]string{}
			for f := range want {
				seed[f] = ""
			}
			seed["memory.limit_in_bytes"] = freshV1 // a fresh cgroup's
			dir := fakeCgroup(t, seed)
			for _, s := range All {
				if !s.Wanted(r) {
					continue
				}
				if version == "v1" {
					require.NoError(t, s.SetV1(dir, r), s.Name())
				} else {
					require.NoError(t, s.SetV2(dir, r), s.Name())
				}
			}
			for file, value := range want {
				require.Equal(t, value, readFile(t, dir, file), file)
			}
		})
	}
}

// freshV1 is what v1's memory files hold without a limit (4 KiB pages).
const freshV1 = "9223372036854771712"

// v1 keeps memory+swap at least the memory limit at every step, and refuses a write that
// would break it: an update of both grows memsw first, and shrinks the limit first.
func TestSetV1UpdatesMemoryAndSwapInAnOrderTheKernelTakes(t *testing.T) {
	for _, tc := range []struct {
		name     string
		from     int64
		to, swap int64
		fresh    bool
	}{
		{name: "a fresh cgroup", fresh: true, to: 32 << 20, swap: 32 << 20},
		{name: "grown", from: 32 << 20, to: 64 << 20, swap: 64 << 20},
		{name: "shrunk", from: 64 << 20, to: 16 << 20, swap: 16 << 20},
		{name: "swap unlimited", from: 32 << 20, to: 64 << 20, swap: -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			limit, memsw := strconv.FormatInt(tc.from, 10), strconv.FormatInt(tc.from, 10)
			if tc.fresh {
				limit, memsw = freshV1, freshV1
			}
			dir := fakeCgroup(t, map[string]string{"memory.limit_in_bytes": limit, "memory.memsw.limit_in_bytes": memsw})
			// The kernel's rule, checked as the limit is written: memsw is at least the limit
			// before and after.
			Seams.SetMemory = func(dir string, v2 bool, limit int64) error {
				memsw := readInt(t, dir, "memory.memsw.limit_in_bytes")
				if memsw >= 0 && (memsw < readInt(t, dir, "memory.limit_in_bytes") || memsw < limit) {
					return fmt.Errorf("limit %d with memsw %d: invalid argument", limit, memsw)
				}
				return SetMemoryLimit(dir, v2, limit)
			}
			t.Cleanup(func() { Seams.SetMemory = nil })
			require.NoError(t, Memory{}.SetV1(dir, &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(tc.to), Swap: i64(tc.swap)}}))
			require.Equal(t, tc.to, readInt(t, dir, "memory.limit_in_bytes"))
			require.Equal(t, tc.swap, readInt(t, dir, "memory.memsw.limit_in_bytes"))
		})
	}
}

func readInt(t *testing.T, dir, name string) int64 {
	n, err := strconv.ParseInt(readFile(t, dir, name), 10, 64)
	require.NoError(t, err, name)
	return n
}

func TestSwapIsSkippedWithoutSwapAccounting(t *testing.T) {
	dir := fakeCgroup(t, map[string]string{"memory.limit_in_bytes": ""}) // no memory.memsw.*
	r := &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(32 << 20), Swap: i64(64 << 20)}}
	require.NoError(t, Memory{}.SetV1(dir, r))
	require.NoFileExists(t, filepath.Join(dir, "memory.memsw.limit_in_bytes"))
}

func TestUnlimitedValues(t *testing.T) {
	dir := fakeCgroup(t, map[string]string{"pids.max": "", "cpu.max": "", "memory.max": "", "memory.swap.max": ""})
	require.NoError(t, Pids{}.SetV2(dir, &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(-1)}}))
	require.Equal(t, "max", readFile(t, dir, "pids.max"))
	require.NoError(t, CPU{}.SetV2(dir, &specs.LinuxResources{CPU: &specs.LinuxCPU{Period: u64(100000)}}))
	require.Equal(t, "max 100000", readFile(t, dir, "cpu.max"))
	require.NoError(t, Memory{}.SetV2(dir, &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(32 << 20), Swap: i64(-1)}}))
	require.Equal(t, "max", readFile(t, dir, "memory.swap.max"))
}

func TestSharesToWeight(t *testing.T) {
	for shares, weight := range map[uint64]uint64{
		0: 0, 1: 1, 2: 1, // the ends of the v1 range map to the ends of v2's
		1024:   100, // the defaults match
		512:    59,
		2048:   174,
		262144: 10000,
		300000: 10000,
	} {
		require.Equal(t, weight, SharesToWeight(shares), "%d shares", shares)
	}
}

func TestConversions(t *testing.T) {
	require.EqualValues(t, 50000, CPUsToQuota(0.5))
	require.EqualValues(t, 150000, CPUsToQuota(1.5))
	require.EqualValues(t, 1000, CPUsToQuota(0.01))
	require.Equal(t, "33554432", SwapV2(64<<20, 32<<20))
	require.Equal(t, "0", SwapV2(32<<20, 32<<20), "memory-swap equal to memory: no swap")
	require.Equal(t, "max", SwapV2(-1, 32<<20))
}

func TestInheritV1CopiesTheParentsCpuset(t *testing.T) {
	parent := fakeCgroup(t, map[string]string{"cpuset.cpus": "0-1\n", "cpuset.mems": "0\n"})
	child := fakeCgroup(t, map[string]string{"cpuset.cpus": "\n", "cpuset.mems": "\n"})
	require.NoError(t, InheritV1(child, parent))
	require.Equal(t, "0-1", readFile(t, child, "cpuset.cpus"))
	require.Equal(t, "0", readFile(t, child, "cpuset.mems"))

	pinned := fakeCgroup(t, map[string]string{"cpuset.cpus": "1\n", "cpuset.mems": "0\n"})
	require.NoError(t, InheritV1(pinned, parent))
	require.Equal(t, "1\n", readFile(t, pinned, "cpuset.cpus"), "a set value is kept")
}

func TestStats(t *testing.T) {
	v1 := fakeCgroup(t, map[string]string{
		"memory.usage_in_bytes": "1048576\n", "memory.limit_in_bytes": "9223372036854771712\n",
		"memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n",
		"cpuacct.usage":      "123456789\n", "pids.current": "3\n", "pids.max": "max\n",
	})
	var s Stats
	for _, sub := range All {
		require.NoError(t, sub.StatV1(v1, &s), sub.Name())
	}
	require.Equal(t, Stats{MemoryUsage: 1 << 20, CPUUsage: 123456789, Pids: 3, OOMKills: 2}, s, "an unlimited v1 limit reads as 0")

	v2 := fakeCgroup(t, map[string]string{
		"memory.current": "2097152\n", "memory.max": "33554432\n",
		"memory.events": "low 0\nhigh 0\nmax 5\noom 1\noom_kill 1\n",
		"cpu.stat":      "usage_usec 1500\nuser_usec 1000\n", "pids.current": "2\n", "pids.max": "20\n",
	})
	s = Stats{}
	for _, sub := range All {
		require.NoError(t, sub.StatV2(v2, &s), sub.Name())
	}
	require.Equal(t, Stats{MemoryUsage: 2 << 20, MemoryLimit: 32 << 20, CPUUsage: 1500000, Pids: 2, PidsLimit: 20, OOMKills: 1}, s)
}
