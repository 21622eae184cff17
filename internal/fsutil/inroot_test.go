package fsutil

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// A root whose symlinks point out of it, absolutely and with "..": whatever is opened or made
// through them lands inside the root.
func TestMkdirAllInRootStaysInside(t *testing.T) {
	outside := t.TempDir()
	rootDir := t.TempDir()
	require.NoError(t, os.Symlink("/", filepath.Join(rootDir, "proc")))
	require.NoError(t, os.Symlink("../../../../../../..", filepath.Join(rootDir, "up")))
	require.NoError(t, os.Symlink(outside, filepath.Join(rootDir, "abs")))
	require.NoError(t, os.WriteFile(filepath.Join(rootDir, "file"), nil, 0o644))
	root, err := os.OpenFile(rootDir, unix.O_PATH|unix.O_DIRECTORY, 0)
	require.NoError(t, err)
	defer root.Close()

	for dest, want := range map[string]string{
		"/proc/sys":    "sys",   // /proc -> / is the root itself
		"up/etc/x":     "etc/x", // .. stops at the root
		"/a/b/../c/./": "a/c",
	} {
		f, err := MkdirAllInRoot(root, dest, 0o755)
		require.NoError(t, err, dest)
		require.DirExists(t, filepath.Join(rootDir, want), dest)
		f.Close()
	}
	// An absolute target is taken inside the root: missing there, the symlink dangles.
	_, err = MkdirAllInRoot(root, "/abs/made", 0o755)
	require.ErrorIs(t, err, os.ErrNotExist)
	require.NoError(t, os.MkdirAll(filepath.Join(rootDir, outside), 0o755))
	f, err := MkdirAllInRoot(root, "/abs/made", 0o755)
	require.NoError(t, err)
	f.Close()
	require.DirExists(t, filepath.Join(rootDir, outside, "made"))
	entries, err := os.ReadDir(outside)
	require.NoError(t, err)
	require.Empty(t, entries, "nothing was made outside the root")

	_, err = MkdirAllInRoot(root, "/file/sub", 0o755)
	require.ErrorIs(t, err, unix.ENOTDIR)
	_, err = MkdirAllInRoot(root, "/file", 0o755)
	require.ErrorIs(t, err, unix.ENOTDIR)
	_, err = OpenInRoot(root, "/missing")
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestReadFileInRoot(t *testing.T) {
	rootDir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(rootDir, "etc"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(rootDir, "etc/passwd"), []byte("root:x:0:0::/root:/bin/sh\n"), 0o644))
	require.NoError(t, os.Symlink("/etc/passwd", filepath.Join(rootDir, "link")))
	require.NoError(t, os.Symlink("../../../../../etc/hostname", filepath.Join(rootDir, "escape")))
	require.NoError(t, unix.Mkfifo(filepath.Join(rootDir, "fifo"), 0o644))

	data, err := ReadFileInRoot(rootDir, "/link", 1<<10)
	require.NoError(t, err)
	require.Equal(t, "root:x:0:0::/root:/bin/sh\n", string(data), "an absolute symlink is followed inside the root")
	_, err = ReadFileInRoot(rootDir, "/escape", 1<<10)
	require.ErrorIs(t, err, os.ErrNotExist, "the host's /etc/hostname is out of reach")
	_, err = ReadFileInRoot(rootDir, "/fifo", 1<<10)
	require.ErrorContains(t, err, "not a regular file")
	_, err = ReadFileInRoot(rootDir, "/etc/passwd", 4)
	require.ErrorContains(t, err, "more than the 4 allowed")
}
