package container

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/mydocker/mydocker/internal/testutil"
)

// The binary is sealed by a read-only bind of itself, in a mount namespace of the thread's
// own (a write through it would fail with EROFS; the test's own binary, running, would say
// ETXTBSY first), and the process's own namespace is untouched.
func TestSealSelf(t *testing.T) {
	testutil.RequiresRoot(t)
	exe, err := os.Readlink("/proc/self/exe")
	require.NoError(t, err)
	requireSealed(t, exe)
}

// With a helper (mydocker-init), the helper is what is sealed and started; one that is gone
// falls back to this binary.
func TestSealHelper(t *testing.T) {
	testutil.RequiresRoot(t)
	exe, err := os.Readlink("/proc/self/exe")
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "mydocker-init")
	require.NoError(t, os.WriteFile(path, []byte("#!/bin/sh\n"), 0o755))
	t.Cleanup(func() { UseHelper("") })
	UseHelper(path)
	requireSealed(t, path)
	UseHelper(path + ".gone")
	requireSealed(t, exe)
}

// requireSealed seals on a thread of its own and checks that the path to start is want, on a
// mount that thread sees read-only and the rest of the process does not.
func requireSealed(t *testing.T, want string) {
	t.Helper()
	type result struct {
		path     string
		readonly bool
		err      error
	}
	done := make(chan result)
	go func() {
		runtime.LockOSThread()
		path, mem, err := sealSelf()
		if err != nil {
			done <- result{err: err}
			return
		}
		if mem != nil {
			defer mem.Close()
		}
		var st unix.Statfs_t
		err = unix.Statfs(path, &st)
		done <- result{path: path, readonly: st.Flags&unix.ST_RDONLY != 0, err: err}
	}()
	r := <-done
	require.NoError(t, r.err)
	require.Equal(t, want, r.path, "sealed by the read-only bind, not the memfd fallback")
	require.True(t, r.readonly, "the sealing thread sees the program on a read-only mount")
	var st unix.Statfs_t
	require.NoError(t, unix.Statfs(want, &st))
	require.Zero(t, st.Flags&unix.ST_RDONLY, "the rest of the process sees it as it was")
}
