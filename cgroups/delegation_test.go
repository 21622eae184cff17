package cgroups

import (
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/stretchr/testify/require"
)

func TestLimited(t *testing.T) {
	limit := int64(64 << 20)
	require.Empty(t, Limited(nil))
	require.Empty(t, Limited(&specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}}), "device rules alone need no cgroup of the container's")
	require.Equal(t, []string{"memory"}, Limited(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &limit}}))
}

// The delegated tree is the highest cgroup up from this process's own that its user owns and
// may move processes in: containers go below it, beside this process's own.
func TestDelegationRoot(t *testing.T) {
	root := t.TempDir() // a stand-in for /sys/fs/cgroup, owned by the test's user
	own := filepath.Join(root, "user.slice/user-1000.slice/user@1000.service/app.slice/shell.scope")
	require.NoError(t, os.MkdirAll(own, 0o755))
	for d := own; d != root; d = filepath.Dir(d) {
		require.NoError(t, os.WriteFile(filepath.Join(d, "cgroup.procs"), nil, 0o644))
	}
	uid := os.Geteuid()
	// Everything is the test user's: the whole tree up to the stand-in's top.
	got, err := delegationRoot(own, uid)
	require.NoError(t, err)
	require.Equal(t, filepath.Join(root, "user.slice"), got)

	// Another user's cgroup: no delegation.
	_, err = delegationRoot(own, uid+1)
	require.ErrorIs(t, err, ErrNoDelegation)
}
