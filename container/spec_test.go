package container

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDefaultSpecMatchesDocker(t *testing.T) {
	spec := DefaultSpec()
	var dests []string
	for _, m := range spec.Mounts {
		dests = append(dests, m.Destination)
	}
	require.Equal(t, []string{"/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup", "/dev/mqueue", "/dev/shm"}, dests)
	var devs []string
	for _, d := range spec.Linux.Devices {
		devs = append(devs, d.Path)
	}
	require.Equal(t, []string{"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"}, devs)
	require.Contains(t, spec.Linux.MaskedPaths, "/proc/kcore")
	require.Contains(t, spec.Linux.ReadonlyPaths, "/proc/sys")
}
