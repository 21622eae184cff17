package container

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// A mount point is found inside the root whatever symlinks the image holds: absolute ones,
// relative ones climbing out, loops.
func TestOpenMountpointStaysInsideRoot(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "real/dir"), 0o755))
	require.NoError(t, os.Symlink("/", filepath.Join(root, "abs")))
	require.NoError(t, os.Symlink("../../../..", filepath.Join(root, "real/up")))
	require.NoError(t, os.Symlink("real/dir", filepath.Join(root, "rel")))
	require.NoError(t, os.Symlink("loop", filepath.Join(root, "loop")))
	require.NoError(t, os.Symlink("/etc/hostname", filepath.Join(root, "hostfile")))

	for _, tc := range []struct {
		in, want string
		file     bool
	}{
		{"/proc", "/proc", false},
		{"/abs/etc", "/etc", false},
		{"/real/up/etc", "/etc", false},
		{"/rel/x", "/real/dir/x", false},
		{"/../../etc", "/etc", false},
		{"data", "/data", false},
		{"/abs/etc/motd", "/etc/motd", true},
		{"/hostfile", "/etc/hostname", true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			f, err := openMountpoint(root, tc.in, tc.file)
			require.NoError(t, err)
			defer f.Close()
			got, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", f.Fd()))
			require.NoError(t, err)
			require.Equal(t, root+tc.want, got)
		})
	}
	_, err := openMountpoint(root, "/loop/x", false)
	require.Error(t, err)
}

func TestMountOptions(t *testing.T) {
	flags, propagation, data := mountOptions([]string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "ro", "rprivate"})
	require.Equal(t, uintptr(unix.MS_NOSUID|unix.MS_NOEXEC|unix.MS_RDONLY), flags)
	require.Equal(t, uintptr(unix.MS_PRIVATE|unix.MS_REC), propagation)
	require.Equal(t, "newinstance,ptmxmode=0666", data)

	flags, propagation, data = mountOptions([]string{"rbind", "rw", "shared"})
	require.Equal(t, uintptr(unix.MS_BIND|unix.MS_REC), flags)
	require.Equal(t, uintptr(unix.MS_SHARED), propagation)
	require.Empty(t, data)
}

func TestLookPath(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "tool")
	require.NoError(t, os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755))
	plain := filepath.Join(dir, "plain")
	require.NoError(t, os.WriteFile(plain, nil, 0o644))

	got, err := LookPath("tool", []string{"PATH=/nonexistent:" + dir})
	require.NoError(t, err)
	require.Equal(t, exe, got)

	_, err = LookPath("missing", []string{"PATH=" + dir})
	require.ErrorIs(t, err, unix.ENOENT)
	require.Equal(t, 127, startErrorCode(err))
	require.ErrorContains(t, err, "executable file not found in $PATH")

	_, err = LookPath(dir, nil)
	require.Equal(t, 126, startErrorCode(err), "a directory cannot be executed")
	if os.Geteuid() != 0 { // root may "execute" anything with access(2)'s blessing
		_, err = LookPath(plain, nil)
		require.Equal(t, 126, startErrorCode(err))
	}
	_, err = LookPath("/no/such/file", nil)
	require.Equal(t, 127, startErrorCode(err))
}

func TestProcessStartTime(t *testing.T) {
	start, err := processStartTime(os.Getpid())
	require.NoError(t, err)
	require.NotZero(t, start)
	require.True(t, Process{Pid: os.Getpid(), Start: start}.Alive())
	require.False(t, Process{Pid: os.Getpid(), Start: start + 1}.Alive(), "a different start time is another process")
}
