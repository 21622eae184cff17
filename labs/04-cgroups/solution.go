//go:build solution

package limits

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/mydocker/mydocker/subsystems"
)

// The reference: the engine's subsystems, each knowing its files in both versions.

type setter interface {
	SetV1(dir string, r *specs.LinuxResources) error
	SetV2(dir string, r *specs.LinuxResources) error
}

func set(s setter, dir string, v2 bool, r *specs.LinuxResources) error {
	if v2 {
		return s.SetV2(dir, r)
	}
	return s.SetV1(dir, r)
}

func SetMemory(dir string, v2 bool, limit int64) error {
	return set(subsystems.Memory{}, dir, v2, &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &limit}})
}

func SetCPU(dir string, v2 bool, quota int64, period uint64) error {
	return set(subsystems.CPU{}, dir, v2, &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: &quota, Period: &period}})
}

func SetPids(dir string, v2 bool, max int64) error {
	return set(subsystems.Pids{}, dir, v2, &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: &max}})
}
