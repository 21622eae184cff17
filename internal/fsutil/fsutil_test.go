package fsutil

import (
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestWriteJSONRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	type state struct{ Pid int }
	require.NoError(t, WriteJSON(path, state{Pid: 42}))
	var got state
	require.NoError(t, ReadJSON(path, &got))
	require.Equal(t, 42, got.Pid)

	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	require.Len(t, entries, 1, "the temporary file must be renamed, not left beside the state file")
}

func TestReadJSONMissing(t *testing.T) {
	var v struct{}
	err := ReadJSON(filepath.Join(t.TempDir(), "nope.json"), &v)
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestLockSerialises(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	var inside, overlaps atomic.Int32
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := LockFile(path) // each call opens the file anew, as another process would
			if err != nil {
				t.Error(err)
				return
			}
			if inside.Add(1) != 1 {
				overlaps.Add(1)
			}
			time.Sleep(time.Millisecond)
			inside.Add(-1)
			if err := l.Unlock(); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	require.Zero(t, overlaps.Load(), "two holders of the lock at once")
}

func TestTryLockFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	held, err := LockFile(path)
	require.NoError(t, err)
	_, ok, err := TryLockFile(path)
	require.NoError(t, err)
	require.False(t, ok, "held elsewhere")
	require.NoError(t, held.Unlock())
	l, ok, err := TryLockFile(path)
	require.NoError(t, err)
	require.True(t, ok, "free once released: a dead holder's lock is released by the kernel")
	require.NoError(t, l.Unlock())
}
