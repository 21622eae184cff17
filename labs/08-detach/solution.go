//go:build solution

package detach

import (
	"os"

	"github.com/mydocker/mydocker/internal/fsutil"
)

// The reference: the engine's own functions.

func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	return fsutil.WriteFileAtomic(path, data, perm)
}

func Lock(f *os.File, wait bool) (ok bool, err error) { return fsutil.Flock(f, wait) }
