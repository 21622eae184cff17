package workspace

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"syscall"

	"golang.org/x/sys/unix"
)

// vfsDriver copies the image's layers into a directory of the container's own: slow and
// space-hungry, but it needs nothing from the kernel, so it works everywhere.
//
//	dir/rootfs  the container's /, a full copy
type vfsDriver struct{}

func (vfsDriver) Name() string { return "vfs" }

func (vfsDriver) Prepare(dir string, layers []string) (*Rootfs, error) {
	rootfs := filepath.Join(dir, "rootfs")
	if err := os.MkdirAll(rootfs, 0o755); err != nil {
		return nil, fmt.Errorf("prepare vfs: %w", err)
	}
	for _, l := range layers {
		if err := applyLayerDir(l, rootfs); err != nil {
			return nil, fmt.Errorf("copy layer %s: %w", l, err)
		}
	}
	return &Rootfs{Path: rootfs}, nil
}

// applyLayerDir copies an unpacked layer over dest, honouring its whiteouts and opaque dirs.
func applyLayerDir(layer, dest string) error {
	links := map[[2]uint64]string{}
	return filepath.WalkDir(layer, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(layer, path)
		target := filepath.Join(dest, rel)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		if isWhiteoutDevice(fi) {
			return os.RemoveAll(target)
		}
		if fi.IsDir() {
			if old, err := os.Lstat(target); err == nil && !old.IsDir() {
				os.RemoveAll(target)
			}
			if isOpaqueDir(path) {
				os.RemoveAll(target)
			}
			if err := os.Mkdir(target, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
				return err
			}
			return copyAttrs(path, target, fi)
		}
		if err := os.RemoveAll(target); err != nil {
			return err
		}
		return copyFile(path, target, fi, links)
	})
}

// copyFile copies one non-directory entry, keeping hard links within the copy.
func copyFile(src, dst string, fi os.FileInfo, links map[[2]uint64]string) error {
	st := fi.Sys().(*syscall.Stat_t)
	key := [2]uint64{st.Dev, st.Ino}
	if first, ok := links[key]; ok && fi.Mode().IsRegular() {
		return os.Link(first, dst)
	}
	switch {
	case fi.Mode().IsRegular():
		in, err := os.Open(src)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		if err := out.Close(); err != nil {
			return err
		}
		if st.Nlink > 1 {
			links[key] = dst
		}
	case fi.Mode()&os.ModeSymlink != 0:
		link, err := os.Readlink(src)
		if err != nil {
			return err
		}
		if err := os.Symlink(link, dst); err != nil {
			return err
		}
	default: // devices, fifos, sockets
		if err := unix.Mknod(dst, st.Mode, int(st.Rdev)); err != nil {
			return err
		}
	}
	return copyAttrs(src, dst, fi)
}

// copyAttrs gives dst the owner, mode, xattrs and times of src (whose FileInfo is fi).
func copyAttrs(src, dst string, fi os.FileInfo) error {
	st := fi.Sys().(*syscall.Stat_t)
	if err := os.Lchown(dst, int(st.Uid), int(st.Gid)); err != nil && os.Geteuid() == 0 {
		return err
	}
	if fi.Mode()&os.ModeSymlink == 0 {
		if err := unix.Chmod(dst, st.Mode&0o7777); err != nil {
			return err
		}
	}
	if err := copyXattrs(src, dst, tarType(fi.Mode())); err != nil {
		return err
	}
	ts := []unix.Timespec{unix.NsecToTimespec(st.Atim.Nano()), unix.NsecToTimespec(st.Mtim.Nano())}
	return unix.UtimesNanoAt(unix.AT_FDCWD, dst, ts, unix.AT_SYMLINK_NOFOLLOW)
}

// Changes compares the copy with the layers it came from, as Docker's vfs driver does: a file
// is changed when its type, mode, owner, size, time or link target differs.
func (vfsDriver) Changes(dir string, layers []string) (io.ReadCloser, error) {
	rootfs := filepath.Join(dir, "rootfs")
	type file struct {
		path string
		fi   os.FileInfo
	}
	lower := map[string]file{}
	err := walkUnion(reversed(layers), func(path, name string, fi os.FileInfo) error {
		lower[name] = file{path, fi}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("changes: %w", err)
	}
	return pipeTar(func(w io.Writer) error {
		t := newTarWriter(w)
		seen := map[string]bool{}
		err := filepath.WalkDir(rootfs, func(path string, d fs.DirEntry, err error) error {
			if err != nil || path == rootfs {
				return err
			}
			name, _ := filepath.Rel(rootfs, path)
			seen[name] = true
			fi, err := d.Info()
			if err != nil {
				return err
			}
			if old, ok := lower[name]; ok && !changed(old.fi, fi) {
				// setcap and setfattr change no time Docker compares: the xattrs are.
				same, err := sameXattrs(old.path, path)
				if err != nil || same {
					return err
				}
			}
			return t.add(path, name, fi)
		})
		if err != nil {
			return err
		}
		// A deleted file gets a whiteout; below a deleted directory, its whiteout is enough.
		var gone []string
		for name := range lower {
			if parent := filepath.Dir(name); !seen[name] && (parent == "." || seen[parent]) {
				gone = append(gone, name)
			}
		}
		sort.Strings(gone)
		for _, name := range gone {
			if err := t.whiteout(name, false); err != nil {
				return err
			}
		}
		return t.close()
	}), nil
}

// sameXattrs compares the xattrs a layer keeps of two files.
func sameXattrs(a, b string) (bool, error) {
	xa, err := readXattrs(a)
	if err != nil {
		return false, err
	}
	xb, err := readXattrs(b)
	if err != nil {
		return false, err
	}
	return maps.Equal(xa, xb), nil
}

// changed compares metadata only, not contents: a write that keeps size and time escapes it,
// the price of not reading every file.
func changed(old, cur os.FileInfo) bool {
	a, b := old.Sys().(*syscall.Stat_t), cur.Sys().(*syscall.Stat_t)
	if a.Mode != b.Mode || a.Uid != b.Uid || a.Gid != b.Gid || a.Rdev != b.Rdev {
		return true
	}
	return !cur.IsDir() && (a.Size != b.Size || a.Mtim != b.Mtim)
}

func (vfsDriver) Export(dir string, layers []string, w io.Writer) error {
	return writeUnion(w, []string{filepath.Join(dir, "rootfs")})
}

func (vfsDriver) Remove(dir string) error { return os.RemoveAll(dir) }
