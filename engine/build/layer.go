package build

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"
	"time"

	"github.com/mydocker/mydocker/workspace"
)

// layerWriter writes a layer the build makes itself (COPY, ADD, WORKDIR) as a tar, on top of
// the stage's image. Every directory on the way to what it writes comes first: as the image
// has it (its mode and owner, as overlayfs's copy-up would keep them), or new.
type layerWriter struct {
	tw      *tar.Writer
	image   *workspace.Union // the stage's image; nil: FROM scratch
	first   func()           // called before the first entry
	entries int
	dirs    map[string]bool      // the directories the layer has, by path ("/a/b")
	links   map[[2]uint64]string // a hard-linked file's (device, inode): the name it went in as
}

func newLayerWriter(w io.Writer, image *workspace.Union, first func()) *layerWriter {
	return &layerWriter{tw: tar.NewWriter(w), image: image, first: first, dirs: map[string]bool{}, links: map[[2]uint64]string{}}
}

// close ends the tar; a layer with nothing in it is no tar at all.
func (w *layerWriter) close() error {
	if w.entries == 0 {
		return nil
	}
	return w.tw.Close()
}

// write adds one entry (its Name a path of the image, "/a/b"), its content read from body.
func (w *layerWriter) write(hdr *tar.Header, body io.Reader) error {
	p := path.Clean("/" + hdr.Name)
	if p == "/" {
		return nil
	}
	if strings.HasPrefix(path.Base(p), ".wh.") {
		return fmt.Errorf("%s: a name that starts with .wh. cannot go in a layer (it would delete a file of the image)", p)
	}
	h := *hdr
	h.Name = strings.TrimPrefix(p, "/")
	if h.Typeflag == tar.TypeDir {
		h.Name += "/"
		w.dirs[p] = true
	} else {
		delete(w.dirs, p)
	}
	h.Uname, h.Gname = "", ""
	h.AccessTime, h.ChangeTime = time.Time{}, time.Time{}
	h.Format = tar.FormatPAX
	if w.entries == 0 {
		w.first()
	}
	w.entries++
	if err := w.tw.WriteHeader(&h); err != nil {
		return err
	}
	if body == nil || h.Typeflag != tar.TypeReg {
		return nil
	}
	n, err := io.Copy(w.tw, io.LimitReader(body, h.Size))
	if err == nil && n != h.Size {
		err = fmt.Errorf("%s: %w (it changed while it was copied)", p, io.ErrUnexpectedEOF)
	}
	return err
}

// inImage describes what the image has at p (resolved), if anything.
func (w *layerWriter) inImage(p string) (fs.FileInfo, bool) {
	if w.image == nil {
		return nil, false
	}
	fi, err := w.image.Lstat(p)
	return fi, err == nil
}

// isDir reports whether p is a directory of the image or of the layer so far.
func (w *layerWriter) isDir(p string) bool {
	if w.dirs[p] {
		return true
	}
	fi, ok := w.inImage(p)
	return ok && fi.IsDir()
}

// resolve is where dest leads in the image: every symlink on the way that the image has is
// followed inside it (as a copy into the container would), the rest of the path kept as it is.
func (w *layerWriter) resolve(dest string) (string, error) {
	clean := path.Clean("/" + dest)
	if w.image == nil || clean == "/" {
		return clean, nil
	}
	parts := strings.Split(strings.TrimPrefix(clean, "/"), "/")
	cur := "/"
	for i, part := range parts {
		next := path.Join(cur, part)
		fi, err := w.image.Lstat(next)
		if errors.Is(err, os.ErrNotExist) {
			return path.Join(append([]string{next}, parts[i+1:]...)...), nil
		}
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			if next, err = w.image.Resolve(next); err != nil {
				return "", fmt.Errorf("destination %s: %s is a symlink to nothing in the image", dest, path.Join(cur, part))
			}
		} else if !fi.IsDir() && i < len(parts)-1 {
			return "", fmt.Errorf("destination %s: %s is not a directory", dest, next)
		}
		cur = next
	}
	return cur, nil
}

// mkdirAll writes p (resolved) and the directories on the way to it that the layer lacks: as
// the image has them, or new ones of mode 0755 owned by uid:gid.
func (w *layerWriter) mkdirAll(p string, uid, gid int) error {
	p = path.Clean("/" + p)
	if p == "/" || w.dirs[p] {
		return nil
	}
	if err := w.mkdirAll(path.Dir(p), uid, gid); err != nil {
		return err
	}
	return w.mkdir(p, uid, gid)
}

// mkdir writes the directory p, as the image has it or new (0755, uid:gid).
func (w *layerWriter) mkdir(p string, uid, gid int) error {
	if w.dirs[p] {
		return nil
	}
	if fi, ok := w.inImage(p); ok {
		if !fi.IsDir() {
			return fmt.Errorf("cannot copy to %s: the image has a file that is not a directory there", p)
		}
		hdr, err := tar.FileInfoHeader(fi, "")
		if err != nil {
			return err
		}
		hdr.Name = p
		return w.write(hdr, nil)
	}
	return w.write(&tar.Header{Typeflag: tar.TypeDir, Name: p, Mode: 0o755, Uid: uid, Gid: gid, ModTime: time.Now()}, nil)
}

// owner says who owns a copy: set, uid:gid (--chown, or root for the context); else each
// file's own owner (COPY --from).
type owner struct {
	set      bool
	uid, gid int
}

// copyEntry writes the file fi, at p in the tree t, as target: a directory, regular file or
// symlink, with its mode (or mode, when set: --chmod) and the owner own gives it. A file with
// several links that the layer has already is written as a hard link to it.
func (w *layerWriter) copyEntry(t tree, p string, fi fs.FileInfo, target string, own owner, mode fs.FileMode) error {
	link := ""
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		var err error
		if link, err = t.Readlink(p); err != nil {
			return err
		}
	case fi.IsDir(), fi.Mode().IsRegular():
	default:
		return nil // devices, FIFOs, sockets: not copied
	}
	hdr, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	hdr.Name = target
	uid, gid, _ := t.owner(fi)
	if own.set {
		uid, gid = own.uid, own.gid
	}
	hdr.Uid, hdr.Gid = uid, gid
	if mode != 0 && fi.Mode()&fs.ModeSymlink == 0 {
		hdr.Mode = int64(mode.Perm())
	}
	st, _ := fi.Sys().(*syscall.Stat_t)
	if st != nil && fi.Mode().IsRegular() && st.Nlink > 1 {
		key := [2]uint64{st.Dev, st.Ino}
		if first, ok := w.links[key]; ok {
			hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, strings.TrimPrefix(first, "/"), 0
			return w.write(hdr, nil)
		}
		w.links[key] = path.Clean("/" + target)
	}
	if !fi.Mode().IsRegular() {
		return w.write(hdr, nil)
	}
	f, err := t.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	return w.write(hdr, f)
}

// extract writes the tar archive r (ADD of a local archive) into the directory dest, each
// entry as the archive has it, its owner included; a name that climbs out of dest is refused.
func (w *layerWriter) extract(r io.Reader, dest string) error {
	if err := w.mkdirAll(dest, 0, 0); err != nil {
		return err
	}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read the archive: %w", err)
		}
		name := path.Clean(hdr.Name)
		if name == "." || name == "/" {
			continue
		}
		if !fs.ValidPath(strings.TrimPrefix(name, "/")) || strings.HasPrefix(name, "../") || name == ".." {
			return fmt.Errorf("the archive names %q, outside the directory it is added to", hdr.Name)
		}
		target := path.Join(dest, name)
		if err := w.mkdirAll(path.Dir(target), 0, 0); err != nil {
			return err
		}
		h := *hdr
		h.Name = target
		switch h.Typeflag {
		case tar.TypeLink:
			l := path.Clean(h.Linkname)
			if strings.HasPrefix(l, "../") || l == ".." {
				return fmt.Errorf("the archive links %q to %q, outside the directory it is added to", hdr.Name, hdr.Linkname)
			}
			h.Linkname = strings.TrimPrefix(path.Join(dest, l), "/")
		case tar.TypeReg, tar.TypeDir, tar.TypeSymlink, tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		default:
			continue
		}
		if err := w.write(&h, tr); err != nil {
			return err
		}
	}
}
