package workspace

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// ErrUnsafeArchive is returned for a tar entry that would write outside the layer.
var ErrUnsafeArchive = errors.New("unsafe archive")

// unpacked is what unpackLayer tells of a layer it unpacked.
type unpacked struct {
	size int64 // bytes of file content written and of symlink targets: what lstat says, as Docker counts
	// rewritten: some file content the tar carries is not in the layer under the entry's
	// name (a later entry replaced or deleted it, or an entry that keeps no content had
	// some): the tar cannot be put together again from the layer's files (tarsplit.go).
	rewritten bool
}

// unpackLayer extracts an (uncompressed) OCI layer tar into dest, converting its whiteouts
// to overlay's form. It never writes outside dest: names must be local, no entry is written
// through a symlink, and hard links must point inside the layer.
func unpackLayer(r io.Reader, dest string) (unpacked, error) {
	tr := tar.NewReader(r)
	var u unpacked
	type dirTime struct {
		path  string
		mtime time.Time
	}
	var dirTimes []dirTime
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return u, fmt.Errorf("read tar: %w", err)
		}
		name, err := localName(hdr.Name)
		if err != nil {
			return u, err
		}
		if hdr.Size > 0 && !(hdr.Typeflag == tar.TypeReg || hdr.Typeflag == tar.TypeRegA) || sparse(hdr) {
			u.rewritten = true // content that is not kept as it came
		}
		if name == "." {
			u.rewritten = u.rewritten || hdr.Size > 0
			continue // the root: its attributes are the layer directory's own
		}
		if err := checkNoSymlinkParents(dest, name); err != nil {
			return u, err
		}
		path := filepath.Join(dest, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return u, err
		}
		target, opaque, ok, err := whiteoutTarget(name)
		if err != nil {
			return u, err
		}
		if ok {
			if err := checkNoSymlinkParents(dest, target); err != nil {
				return u, err
			}
			u.rewritten = u.rewritten || hdr.Size > 0
			if opaque {
				err = markOpaque(filepath.Join(dest, target))
			} else {
				u.rewritten = u.rewritten || holdsContent(filepath.Join(dest, target))
				err = writeWhiteout(filepath.Join(dest, target))
			}
			if err != nil {
				return u, fmt.Errorf("whiteout %s: %w", name, err)
			}
			continue
		}
		// A later entry replaces an earlier one, except that a directory stays a directory.
		if fi, err := os.Lstat(path); err == nil && !(fi.IsDir() && hdr.Typeflag == tar.TypeDir) {
			u.rewritten = u.rewritten || holdsContent(path)
			if err := os.RemoveAll(path); err != nil {
				return u, err
			}
		}
		mode := uint32(hdr.Mode & 0o7777)
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.Mkdir(path, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
				return u, err
			}
			dirTimes = append(dirTimes, dirTime{path, hdr.ModTime})
		case tar.TypeReg, tar.TypeRegA:
			n, err := writeFile(path, tr)
			u.size += n
			if err != nil {
				return u, fmt.Errorf("write %s: %w", name, err)
			}
		case tar.TypeSymlink:
			if err := os.Symlink(hdr.Linkname, path); err != nil {
				return u, err
			}
			u.size += int64(len(hdr.Linkname))
		case tar.TypeLink:
			target, err := localName(hdr.Linkname)
			if err != nil {
				return u, err
			}
			if err := checkNoSymlinkParents(dest, target); err != nil {
				return u, err
			}
			if err := os.Link(filepath.Join(dest, target), path); err != nil {
				return u, fmt.Errorf("hard link %s to %s: %w", name, hdr.Linkname, err)
			}
			continue // a link shares its target's attributes
		case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
			kind := map[byte]uint32{tar.TypeChar: unix.S_IFCHR, tar.TypeBlock: unix.S_IFBLK, tar.TypeFifo: unix.S_IFIFO}[hdr.Typeflag]
			dev := int(unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor)))
			if err := unix.Mknod(path, kind|mode, dev); err != nil {
				return u, fmt.Errorf("mknod %s: %w", name, err)
			}
		case tar.TypeXGlobalHeader:
			continue
		default:
			return u, fmt.Errorf("%s: unsupported tar entry type %q", name, hdr.Typeflag)
		}
		if err := applyAttrs(path, hdr); err != nil {
			return u, fmt.Errorf("%s: %w", name, err)
		}
	}
	// Directory times last: writing into a directory changes its mtime.
	for i := len(dirTimes) - 1; i >= 0; i-- {
		d := dirTimes[i]
		ts := []unix.Timespec{unix.NsecToTimespec(d.mtime.UnixNano()), unix.NsecToTimespec(d.mtime.UnixNano())}
		unix.UtimesNanoAt(unix.AT_FDCWD, d.path, ts, unix.AT_SYMLINK_NOFOLLOW)
	}
	return u, nil
}

// holdsContent reports whether path is, or is a directory holding, a file with content.
func holdsContent(path string) bool {
	found := false
	filepath.WalkDir(path, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil && fi.Size() > 0 {
				found = true
				return filepath.SkipAll
			}
		}
		return nil
	})
	return found
}

// sparse tells a sparse file: Go's reader gives its holes as zeros, which a tar put together
// from the unpacked file would hold where the original held a map of them.
func sparse(hdr *tar.Header) bool {
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return hdr.Typeflag == tar.TypeGNUSparse
}

// localName cleans a tar entry name and refuses any that could leave the layer.
func localName(name string) (string, error) {
	clean := filepath.Clean(strings.TrimPrefix(name, "./"))
	if clean == "." || clean == "/" {
		return ".", nil
	}
	if !filepath.IsLocal(clean) {
		return "", fmt.Errorf("%w: entry %q points outside the layer", ErrUnsafeArchive, name)
	}
	return clean, nil
}

// checkNoSymlinkParents refuses to write name when a directory on its way is a symlink: the
// archive could otherwise plant "etc -> /etc" and then write "etc/passwd" on the host.
func checkNoSymlinkParents(dest, name string) error {
	dir := dest
	parts := strings.Split(filepath.Dir(name), string(filepath.Separator))
	for _, p := range parts {
		if p == "." || p == "" {
			continue
		}
		dir = filepath.Join(dir, p)
		fi, err := os.Lstat(dir)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			return fmt.Errorf("%w: %q goes through the symlink %q", ErrUnsafeArchive, name, strings.TrimPrefix(dir, dest+"/"))
		}
	}
	return nil
}

func writeFile(path string, r io.Reader) (int64, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return n, err
}

// applyAttrs gives path the owner, mode, xattrs and times of its tar header.
func applyAttrs(path string, hdr *tar.Header) error {
	if err := os.Lchown(path, hdr.Uid, hdr.Gid); err != nil && os.Geteuid() == 0 {
		return err
	}
	if hdr.Typeflag != tar.TypeSymlink {
		// chmod after chown: chown clears the setuid and setgid bits.
		if err := unix.Chmod(path, uint32(hdr.Mode&0o7777)); err != nil {
			return err
		}
	}
	if err := applyXattrs(path, hdr); err != nil {
		return err
	}
	if hdr.Typeflag == tar.TypeDir {
		return nil // set last, see unpackLayer
	}
	ts := []unix.Timespec{unix.NsecToTimespec(hdr.ModTime.UnixNano()), unix.NsecToTimespec(hdr.ModTime.UnixNano())}
	return unix.UtimesNanoAt(unix.AT_FDCWD, path, ts, unix.AT_SYMLINK_NOFOLLOW)
}
