package fsutil

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

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
	counter := 0
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := LockFile(path)
			if err != nil {
				t.Error(err)
				return
			}
			v := counter
			counter = v + 1
			require.NoError(t, l.Unlock())
		}()
	}
	wg.Wait()
	require.Equal(t, 20, counter)
}
