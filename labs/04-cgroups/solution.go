//go:build solution

package limits

import "github.com/mydocker/mydocker/subsystems"

// The reference: the engine's subsystems, each knowing its files in both versions.

func SetMemory(dir string, v2 bool, limit int64) error {
	return subsystems.SetMemoryLimit(dir, v2, limit)
}

func SetCPU(dir string, v2 bool, quota int64, period uint64) error {
	return subsystems.SetCPUQuota(dir, v2, quota, period)
}

func SetPids(dir string, v2 bool, max int64) error { return subsystems.SetPidsMax(dir, v2, max) }
