package cgroups

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseResources(t *testing.T) {
	r, err := parseResources(Limits{}, "0-1", "0", 2)
	require.NoError(t, err)
	require.Nil(t, r, "no flag, no resources")

	r, err = parseResources(Limits{Memory: "32m", MemorySwap: "64m", CPUs: "0.5", CPUShares: "512", CpusetCpus: "0-1", CpusetMems: "0", PidsLimit: "20"}, "0-1", "0", 2)
	require.NoError(t, err)
	require.EqualValues(t, 32<<20, *r.Memory.Limit)
	require.EqualValues(t, 64<<20, *r.Memory.Swap)
	require.EqualValues(t, 50000, *r.CPU.Quota)
	require.EqualValues(t, 100000, *r.CPU.Period)
	require.EqualValues(t, 512, *r.CPU.Shares)
	require.Equal(t, "0-1", r.CPU.Cpus)
	require.EqualValues(t, 20, *r.Pids.Limit)

	r, err = parseResources(Limits{Memory: "1g", MemorySwap: "-1", PidsLimit: "0"}, "0-1", "0", 2)
	require.NoError(t, err)
	require.EqualValues(t, -1, *r.Memory.Swap, "-1: unlimited swap")
	require.EqualValues(t, -1, *r.Pids.Limit, "0: unlimited")
}

func TestParseResourcesRefusesBadValues(t *testing.T) {
	for _, tc := range []struct {
		flags Limits
		msg   string
	}{
		{Limits{Memory: "abc"}, `invalid Memory "abc"`},
		{Limits{Memory: "1m"}, "minimum memory limit allowed is 6MB"},
		{Limits{MemorySwap: "64m"}, "needs a memory limit too"},
		{Limits{Memory: "64m", MemorySwap: "32m"}, "at least the memory limit"},
		{Limits{CPUs: "-1"}, `invalid CPUs "-1"`},
		{Limits{CPUs: "3"}, "only 2 CPUs available"},
		{Limits{CPUs: "x"}, "CPUs"},
		{Limits{CPUShares: "lots"}, "CPUShares"},
		{Limits{CpusetCpus: "99"}, "requested CPUs are not available - requested 99, available: 0-1"},
		{Limits{CpusetCpus: "1-0"}, "want numbers and ranges"},
		{Limits{CpusetMems: "3"}, "CpusetMems"},
		{Limits{PidsLimit: "many"}, "PidsLimit"},
	} {
		_, err := parseResources(tc.flags, "0-1", "0", 2)
		require.ErrorContains(t, err, tc.msg, "%+v", tc.flags)
		var le *LimitError
		require.ErrorAs(t, err, &le, "%+v: the error says which limit", tc.flags)
	}
}

func TestRAMInBytes(t *testing.T) {
	for in, want := range map[string]int64{"100": 100, "100b": 100, "512k": 512 << 10, "32m": 32 << 20, "32M": 32 << 20, "1g": 1 << 30, "1.5g": 3 << 29, "32mb": 32 << 20, "32MiB": 32 << 20} {
		got, err := RAMInBytes(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "m", "-1m", "32x", "abc"} {
		_, err := RAMInBytes(bad)
		require.Error(t, err, bad)
	}
}

// FuzzRAMInBytes: an accepted size is not negative, and a unit multiplies it.
func FuzzRAMInBytes(f *testing.F) {
	for _, s := range []string{"32m", "1.5g", "100", "-1m", "9999999999999999p", "1e9", "32MiB", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := RAMInBytes(s)
		if err == nil && n < 0 {
			t.Fatalf("RAMInBytes(%q) = %d", s, n)
		}
	})
}
