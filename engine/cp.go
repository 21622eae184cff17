package engine

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	mobyctr "github.com/moby/moby/api/types/container"
	"golang.org/x/sys/unix"

	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/internal/fsutil"
	"github.com/mydocker/mydocker/userns"
)

// cp reaches a container's files through a root of its own (openRoot). Every path is
// resolved inside it as if it were "/" (fsutil.OpenInRoot), and below that, files are opened
// relative to their directory's descriptor, never following a symlink: a container that swaps
// a directory for a symlink meanwhile cannot send cp to the host's files.

// PathStat describes the file at p in a container, running or not, as docker cp's HEAD
// request answers (the Engine API's container.PathStat); p missing is an error wrapping
// os.ErrNotExist. A symlink at the end of p is followed, its target named.
func (e *Engine) PathStat(ref, p string) (_ mobyctr.PathStat, retErr error) {
	root, err := e.openRoot(ref)
	if err != nil {
		return mobyctr.PathStat{}, err
	}
	defer closeRoot(root, &retErr)
	f, err := fsutil.OpenInRoot(root.File, p)
	if err != nil {
		return mobyctr.PathStat{}, fmt.Errorf("could not find the file %s in container %s: %w", p, ref, err)
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return mobyctr.PathStat{}, err
	}
	name := path.Base(path.Clean("/" + p))
	mode := fs.FileMode(st.Mode & 0o777)
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		mode |= fs.ModeDir
	case unix.S_IFLNK:
		mode |= fs.ModeSymlink
	}
	out := mobyctr.PathStat{Name: name, Size: st.Size, Mode: mode, Mtime: time.Unix(st.Mtim.Unix())}
	if clean := path.Clean("/" + p); clean != "/" {
		if target, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", f.Fd())); err == nil {
			// What /proc shows is the host's path; below the container's root it is the target.
			if rootPath, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", root.Fd())); err == nil {
				if rel, ok := strings.CutPrefix(target, strings.TrimSuffix(rootPath, "/")); ok && path.Clean("/"+rel) != clean {
					out.LinkTarget = path.Clean("/" + rel)
				}
			}
		}
	}
	return out, nil
}

// CopyFrom writes a tar of the file or directory at src in a container, running or not, to
// w, its entries named from src's last element, as docker cp does. The owners are the
// container's ids: for a running container with a user namespace of its own, the host's are
// mapped back.
func (e *Engine) CopyFrom(ref, src string, w io.Writer) (retErr error) {
	root, err := e.openRoot(ref)
	if err != nil {
		return err
	}
	defer closeRoot(root, &retErr)
	h, err := fsutil.OpenInRoot(root.File, src)
	if err != nil {
		return fmt.Errorf("could not find the file %s in container %s: %w", src, ref, err)
	}
	defer h.Close()
	tw := &ownerWriter{Writer: tar.NewWriter(w), ids: root.ids}
	name := path.Base(path.Clean("/" + src))
	if name == "/" {
		name = "."
	}
	if err := addTree(tw, int(h.Fd()), "", name); err != nil {
		return err
	}
	return tw.Close()
}

// ownerWriter writes tar entries with their owners as the container sees them (ids nil: as
// they are).
type ownerWriter struct {
	*tar.Writer
	ids *userns.IDs
}

func (w *ownerWriter) WriteHeader(hdr *tar.Header) error {
	if w.ids != nil {
		hdr.Uid = int(container.ContainerID(w.ids.UIDs, uint32(hdr.Uid)))
		hdr.Gid = int(container.ContainerID(w.ids.GIDs, uint32(hdr.Gid)))
	}
	return w.Writer.WriteHeader(hdr)
}

// idsOf is the user namespace of a container that has one of its own (nil otherwise).
func (e *Engine) idsOf(st *State) (*userns.IDs, error) {
	spec, err := e.containers.Spec(st.ID)
	if err != nil {
		return nil, err
	}
	if !hasUserNS(spec) {
		return nil, nil
	}
	return &userns.IDs{UIDs: spec.Linux.UIDMappings, GIDs: spec.Linux.GIDMappings}, nil
}

// addTree writes the file name in directory dir (or, with name "", dir's own O_PATH file as
// entry as) and what it holds to tw, opening each file relative to its directory.
func addTree(tw *ownerWriter, dir int, name, as string) error {
	var st unix.Stat_t
	flags := unix.AT_SYMLINK_NOFOLLOW
	if name == "" {
		flags |= unix.AT_EMPTY_PATH
	}
	if err := unix.Fstatat(dir, name, &st, flags); err != nil {
		return fmt.Errorf("stat %s: %w", as, err)
	}
	hdr := &tar.Header{Name: as, Mode: int64(st.Mode & 0o7777), Uid: int(st.Uid), Gid: int(st.Gid),
		ModTime: time.Unix(st.Mtim.Unix()), Format: tar.FormatPAX}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		hdr.Typeflag, hdr.Name = tar.TypeDir, as+"/"
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		fd, err := openAt(dir, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW)
		if err != nil {
			return fmt.Errorf("open %s: %w", as, err)
		}
		d := os.NewFile(uintptr(fd), as)
		defer d.Close()
		names, err := d.Readdirnames(-1)
		if err != nil {
			return fmt.Errorf("read %s: %w", as, err)
		}
		for _, n := range names {
			if err := addTree(tw, fd, n, path.Join(as, n)); err != nil {
				return err
			}
		}
		return nil
	case unix.S_IFLNK:
		buf := make([]byte, unix.PathMax)
		n, err := unix.Readlinkat(dir, name, buf)
		if err != nil {
			return fmt.Errorf("read link %s: %w", as, err)
		}
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, string(buf[:n])
		return tw.WriteHeader(hdr)
	case unix.S_IFREG:
		fd, err := openAt(dir, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK)
		if err != nil {
			return fmt.Errorf("open %s: %w", as, err)
		}
		f := os.NewFile(uintptr(fd), as)
		defer f.Close()
		hdr.Typeflag, hdr.Size = tar.TypeReg, st.Size
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := io.CopyN(tw, f, st.Size); err != nil {
			return fmt.Errorf("read %s: %w", as, err)
		}
		return nil
	}
	return nil // devices, FIFOs and sockets are not copied
}

// openAt opens name in dir; "" reopens dir's own O_PATH descriptor.
func openAt(dir int, name string, flags int) (int, error) {
	if name == "" { // the descriptor's own file: the magic link is followed, to it alone
		return unix.Open("/proc/self/fd/"+strconv.Itoa(dir), flags&^unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	}
	return unix.Openat(dir, name, flags|unix.O_CLOEXEC, 0)
}

// CopyTo extracts the tar r into the directory dst of a container, running or not (made if
// missing). Names must stay below dst; each entry is made in its directory held open, found
// inside the container's root; nothing is written through a symlink. What it makes is the
// container's root's: in a running container with a user namespace of its own, it is made
// with the filesystem ids of that root (its files are seen through an idmapped mount, where
// the host's root has no place).
func (e *Engine) CopyTo(ref, dst string, r io.Reader) (retErr error) {
	root, err := e.openRoot(ref)
	if err != nil {
		return err
	}
	defer closeRoot(root, &retErr)
	if root.ids != nil {
		uid, gid, _ := root.ids.Root()
		return container.WithFilesystemIDs(int(uid), int(gid), func() error { return extract(root.File, dst, r) })
	}
	return extract(root.File, dst, r)
}

// closeRoot closes a copy's root, its error kept in *err unless there is one already.
func closeRoot(root *cpRoot, err *error) {
	if cerr := root.Close(); *err == nil && cerr != nil {
		*err = fmt.Errorf("container %s: %w", container.ShortID(root.st.ID), cerr)
	}
}

// extract extracts the tar r into the directory dst inside root.
func extract(root *os.File, dst string, r io.Reader) error {
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read the archive: %w", err)
		}
		name := path.Clean("/" + hdr.Name) // below dst, whatever ".." it holds
		if name == "/" {
			continue
		}
		if err := extractInto(root, filepath.Join(dst, filepath.Dir(name)), filepath.Base(name), hdr, tr); err != nil {
			return err
		}
	}
}

// extractInto makes the entry hdr as base in the directory dir (inside root).
func extractInto(root *os.File, dir, base string, hdr *tar.Header, r io.Reader) error {
	parent, err := fsutil.MkdirAllInRoot(root, dir, 0o755)
	if err != nil {
		return fmt.Errorf("make %s: %w", dir, err)
	}
	defer parent.Close()
	pfd := int(parent.Fd())
	where := filepath.Join(dir, base)
	mode := uint32(hdr.Mode & 0o7777)
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := unix.Mkdirat(pfd, base, mode); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("make %s: %w", where, err)
		}
		return nil
	case tar.TypeSymlink:
		unlinkNonDir(pfd, base)
		if err := unix.Symlinkat(hdr.Linkname, pfd, base); err != nil {
			return fmt.Errorf("make %s: %w", where, err)
		}
		return nil
	case tar.TypeReg:
		unlinkNonDir(pfd, base)
		fd, err := unix.Openat(pfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, mode)
		if err != nil {
			return fmt.Errorf("write %s: %w", where, err)
		}
		f := os.NewFile(uintptr(fd), where)
		_, err = io.Copy(f, r)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", where, err)
		}
		return nil
	}
	return fmt.Errorf("refused the archive entry %q: only files, directories and symlinks are copied", hdr.Name)
}

// unlinkNonDir removes what is at name in dir, unless it is a directory: a file copied over
// another replaces it, and never writes through a symlink that was there.
func unlinkNonDir(dir int, name string) {
	unix.Unlinkat(dir, name, 0)
}
