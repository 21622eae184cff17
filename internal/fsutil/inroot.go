package fsutil

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"
)

// OpenInRoot opens path inside the directory root as an O_PATH descriptor, resolving every
// component, symlinks and ".." included, as if root were "/": a symlink in an image (say
// /proc -> /, or up -> ../../..) cannot lead outside it. The kernel does the resolution,
// race-free, in one openat2 call with RESOLVE_IN_ROOT (Linux 5.6); filepath-securejoin
// emulates it on older kernels. (securejoin also checks openat2's answer through a private
// procfs: four more system calls per path, which every mount of every container start paid.)
func OpenInRoot(root *os.File, path string) (*os.File, error) {
	how := unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	}
	for tries := 0; ; tries++ {
		fd, err := unix.Openat2(int(root.Fd()), path, &how)
		switch {
		case err == nil:
			return os.NewFile(uintptr(fd), filepath.Join(root.Name(), path)), nil
		case errors.Is(err, unix.ENOSYS):
			return pathrs.OpenatInRoot(root, path)
		case errors.Is(err, unix.EAGAIN) && tries < 16:
			continue // a rename raced with the lookup: the kernel asks to try again
		default:
			return nil, &os.PathError{Op: "open in " + root.Name(), Path: path, Err: err}
		}
	}
}

// MkdirAllInRoot opens the directory at path inside root, resolved as OpenInRoot does, and
// makes the directories that are missing, each in its parent held open.
func MkdirAllInRoot(root *os.File, path string, mode os.FileMode) (*os.File, error) {
	clean := filepath.Clean("/" + path)
	f, err := OpenInRoot(root, clean)
	if errors.Is(err, os.ErrNotExist) && clean != "/" {
		parent, perr := MkdirAllInRoot(root, filepath.Dir(clean), mode)
		if perr != nil {
			return nil, perr
		}
		err = unix.Mkdirat(int(parent.Fd()), filepath.Base(clean), uint32(mode.Perm()))
		parent.Close()
		if err != nil && !errors.Is(err, unix.EEXIST) {
			return nil, &os.PathError{Op: "mkdir in " + root.Name(), Path: clean, Err: err}
		}
		f, err = OpenInRoot(root, clean) // what is there now, a symlink included, resolved in root
	}
	if err != nil {
		return nil, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
		f.Close()
		return nil, &os.PathError{Op: "mkdir in " + root.Name(), Path: clean, Err: unix.ENOTDIR}
	}
	return f, nil
}

// openRoot opens the directory root for OpenInRoot.
func openRoot(root string) (*os.File, error) {
	f, err := os.OpenFile(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", root, err)
	}
	return f, nil
}
