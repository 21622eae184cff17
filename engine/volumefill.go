package engine

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/mydocker/mydocker/workspace"
)

// fillVolumes copies into each of a new container's volumes that is empty what the image
// holds where the volume is mounted, as Docker does: nginx's -v webroot:/var/www/html starts
// with nginx's pages, -v conf:/etc/nginx with its config, and a database's VOLUME with the
// directory, owner and mode its image gave it. A volume that holds anything is left as it is.
// The image is read in place (workspace.Union); the volume is written through an os.Root, so
// that nothing in it, a symlink another container put there meanwhile included, leads a
// write outside it.
func (e *Engine) fillVolumes(image *workspace.Union, volumes []NamedVolume) error {
	for _, nv := range volumes {
		src, err := image.Resolve(nv.Destination)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("fill volume %s from the image: %w", nv.Name, err)
		}
		fi, err := image.Lstat(src)
		if err != nil || !fi.IsDir() {
			continue
		}
		v, err := e.volume(nv.Name)
		if err != nil {
			return err
		}
		if err := fillVolume(image, src, fi, v.Mountpoint); err != nil {
			return fmt.Errorf("fill volume %s from the image's %s: %w", nv.Name, nv.Destination, err)
		}
	}
	return nil
}

// fillVolume copies the image's directory src (described by fi) into the volume at
// mountpoint, when the volume is empty; the volume's root takes the directory's mode and owner.
func fillVolume(image *workspace.Union, src string, fi fs.FileInfo, mountpoint string) error {
	entries, err := os.ReadDir(mountpoint)
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		return nil
	}
	root, err := os.OpenRoot(mountpoint)
	if err != nil {
		return err
	}
	defer root.Close()
	if err := copyTree(image, src, root); err != nil {
		return err
	}
	return setAttrs(root, ".", fi)
}

// copyTree copies the directory src of the image, and what it holds, into dst: directories,
// regular files and symlinks with their modes, owners and times. Devices, FIFOs and sockets
// are left out, and so is a name something else made in dst meanwhile (never overwritten).
func copyTree(image *workspace.Union, src string, dst *os.Root) error {
	entries, err := image.ReadDir(src)
	if err != nil {
		return err
	}
	for _, fi := range entries {
		name, from := fi.Name(), path.Join(src, fi.Name())
		switch {
		case fi.IsDir():
			if err := dst.Mkdir(name, 0o700); err != nil {
				if errors.Is(err, fs.ErrExist) {
					continue
				}
				return err
			}
			sub, err := dst.OpenRoot(name)
			if err != nil {
				return err
			}
			err = copyTree(image, from, sub)
			sub.Close()
			if err != nil {
				return err
			}
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := image.Readlink(from)
			if err != nil {
				return err
			}
			if err := dst.Symlink(target, name); err != nil {
				if errors.Is(err, fs.ErrExist) {
					continue
				}
				return err
			}
		case fi.Mode().IsRegular():
			if err := copyFileTo(image, from, dst, name); err != nil {
				if errors.Is(err, fs.ErrExist) {
					continue
				}
				return err
			}
		default:
			continue
		}
		if err := setAttrs(dst, name, fi); err != nil {
			return err
		}
	}
	return nil
}

// copyFileTo copies the image's regular file from to name in dst, which must not exist.
func copyFileTo(image *workspace.Union, from string, dst *os.Root, name string) error {
	in, err := image.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := dst.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// setAttrs gives name in dst the owner, mode and times fi describes (a symlink, its owner).
func setAttrs(dst *os.Root, name string, fi fs.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if err := dst.Lchown(name, int(st.Uid), int(st.Gid)); err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return nil
	}
	// After the owner: chown clears setuid and setgid.
	if err := dst.Chmod(name, fi.Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)); err != nil {
		return err
	}
	return dst.Chtimes(name, fi.ModTime(), fi.ModTime())
}
