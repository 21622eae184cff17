package cgroups

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFreezeV1(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "freezer.state"), []byte("THAWED\n"), 0o644))
	m := &v1Manager{paths: map[string]string{"freezer": dir}}
	require.False(t, m.Frozen())
	require.NoError(t, m.Freeze(), "a fake file reads back FROZEN at once")
	require.True(t, m.Frozen())
	require.NoError(t, m.Thaw())
	require.False(t, m.Frozen())
	require.ErrorContains(t, (&v1Manager{paths: map[string]string{}}).Freeze(), "freezer cgroup controller is not mounted")
}

func TestFreezeV2WaitsForTheKernel(t *testing.T) {
	dir := t.TempDir()
	events := filepath.Join(dir, "cgroup.events")
	require.NoError(t, os.WriteFile(events, []byte("populated 1\nfrozen 1\n"), 0o644))
	m := &v2Manager{dir: dir}
	require.NoError(t, m.Freeze())
	data, _ := os.ReadFile(filepath.Join(dir, "cgroup.freeze"))
	require.Equal(t, "1", string(data))
	require.True(t, m.Frozen())
	require.NoError(t, m.Thaw())
	data, _ = os.ReadFile(filepath.Join(dir, "cgroup.freeze"))
	require.Equal(t, "0", string(data))
}
