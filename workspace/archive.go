package workspace

import (
	"archive/tar"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// tarWriter writes files to a tar stream, keeping hard links as links.
type tarWriter struct {
	tw    *tar.Writer
	links map[[2]uint64]string // (device, inode) -> the name it was first written as
}

func newTarWriter(w io.Writer) *tarWriter {
	return &tarWriter{tw: tar.NewWriter(w), links: map[[2]uint64]string{}}
}

func (t *tarWriter) close() error { return t.tw.Close() }

// add writes the file at path under name.
func (t *tarWriter) add(path, name string, fi os.FileInfo) error {
	link := ""
	if fi.Mode()&os.ModeSymlink != 0 {
		var err error
		if link, err = os.Readlink(path); err != nil {
			return err
		}
	}
	hdr, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	hdr.Name = name
	if fi.IsDir() {
		hdr.Name += "/"
	}
	hdr.Uname, hdr.Gname = "", ""
	// No access or change time: reading a file changes its atime, and a layer must be the same
	// bytes, so the same diff ID, each time the same files are written (moby does the same).
	hdr.AccessTime, hdr.ChangeTime = time.Time{}, time.Time{}
	hdr.Format = tar.FormatPAX
	st, _ := fi.Sys().(*syscall.Stat_t)
	if st != nil && fi.Mode().IsRegular() && st.Nlink > 1 {
		key := [2]uint64{st.Dev, st.Ino}
		if first, ok := t.links[key]; ok {
			hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
			return t.tw.WriteHeader(hdr)
		}
		t.links[key] = name
	}
	// A hard link shares its first name's xattrs: they go with that one.
	if hdr.PAXRecords, err = readXattrs(path); err != nil {
		return err
	}
	if err := t.tw.WriteHeader(hdr); err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return nil
	}
	// The file read must be the one walked: not a symlink planted since (O_NOFOLLOW), nor
	// another file moved in its place (same device and inode). A running container is frozen
	// while its files are read; this is the second line.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if walked, ok := fi.Sys().(*syscall.Stat_t); ok {
		var opened syscall.Stat_t
		if err := syscall.Fstat(int(f.Fd()), &opened); err != nil {
			return err
		}
		if opened.Dev != walked.Dev || opened.Ino != walked.Ino {
			return fmt.Errorf("%s changed while it was read", name)
		}
	}
	_, err = io.Copy(t.tw, io.LimitReader(f, fi.Size()))
	return err
}

// whiteout writes the OCI entry that deletes name (or, opaque, hides a directory's lower contents).
func (t *tarWriter) whiteout(name string, opaque bool) error {
	dir, base := filepath.Split(name)
	entry := dir + whiteoutPrefix + base
	if opaque {
		entry = filepath.Join(name, whiteoutOpaque)
	}
	return t.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: entry, Mode: 0o644, Format: tar.FormatPAX})
}

// writeDiff writes a container's writable layer (overlay's or aufs's upper directory) as an
// OCI layer tar: overlay's whiteout devices and opaque directories become .wh. entries;
// aufs's .wh. files already are, and its own bookkeeping (.wh..wh.plnk, .wh..wh.aufs) is left out.
func writeDiff(w io.Writer, upper string) error {
	t := newTarWriter(w)
	err := filepath.WalkDir(upper, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path == upper {
			return nil
		}
		name, _ := filepath.Rel(upper, path)
		base := d.Name()
		if strings.HasPrefix(base, whiteoutPrefix+whiteoutPrefix) && base != whiteoutOpaque {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if isWhiteoutDevice(fi) {
			return t.whiteout(name, false)
		}
		if err := t.add(path, name, fi); err != nil {
			return err
		}
		if fi.IsDir() && isOpaqueDir(path) {
			return t.whiteout(name, true)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("write changes of %s: %w", upper, err)
	}
	return t.close()
}

// writeUnion writes the merged view of layers (top-most first) as a tar, the way a container
// sees its root filesystem. Nothing is mounted: it reads the directories directly.
func writeUnion(w io.Writer, layers []string) error {
	t := newTarWriter(w)
	if err := walkUnion(layers, t.add); err != nil {
		return err
	}
	return t.close()
}

// walkUnion calls fn, parents before children and in name order, for every file of the merged
// view of layers (top-most first): a higher layer's entry hides a lower one's, whiteouts (in
// overlay's or aufs's form) delete, and an opaque directory stops the merge below it.
func walkUnion(layers []string, fn func(path, name string, fi os.FileInfo) error) error {
	return unionDir(".", layers, fn)
}

type unionEntry struct {
	path   string
	fi     os.FileInfo
	layers []string // for a directory: the layers whose copies of it merge, top first
	stop   bool     // a copy was opaque: lower layers no longer merge
}

func unionDir(rel string, layers []string, fn func(path, name string, fi os.FileInfo) error) error {
	names, byName, err := mergeDir(rel, layers)
	if err != nil {
		return err
	}
	for _, name := range names {
		e := byName[name]
		child := filepath.Join(rel, name)
		if err := fn(e.path, child, e.fi); err != nil {
			return err
		}
		if e.fi.IsDir() {
			if err := unionDir(child, e.layers, fn); err != nil {
				return err
			}
		}
	}
	return nil
}

// mergeDir lists the directory rel of the merged view of layers (top-most first, those in
// which rel merges): each name once, from the highest layer that has it, whiteouts applied;
// names sorted.
func mergeDir(rel string, layers []string) ([]string, map[string]*unionEntry, error) {
	byName := map[string]*unionEntry{}
	deleted := map[string]bool{}
	var names []string
	for _, layer := range layers {
		dir := filepath.Join(layer, rel)
		entries, err := os.ReadDir(dir)
		if os.IsNotExist(err) || isNotDir(err) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		var hidden []string
		for _, de := range entries {
			name := de.Name()
			if strings.HasPrefix(name, whiteoutPrefix) { // aufs's form
				if !strings.HasPrefix(name, whiteoutPrefix+whiteoutPrefix) {
					hidden = append(hidden, strings.TrimPrefix(name, whiteoutPrefix))
				}
				continue
			}
			if deleted[name] {
				continue
			}
			path := filepath.Join(dir, name)
			fi, err := os.Lstat(path)
			if err != nil {
				return nil, nil, err
			}
			if isWhiteoutDevice(fi) {
				hidden = append(hidden, name)
				continue
			}
			opaque := fi.IsDir() && (isOpaqueDir(path) || exists(filepath.Join(path, whiteoutOpaque)))
			if e, ok := byName[name]; ok {
				if e.fi.IsDir() && fi.IsDir() && !e.stop {
					e.layers = append(e.layers, layer)
					e.stop = opaque
				}
				continue
			}
			e := &unionEntry{path: path, fi: fi, stop: opaque}
			if fi.IsDir() {
				e.layers = []string{layer}
			}
			byName[name] = e
			names = append(names, name)
		}
		// A whiteout hides what lower layers have, never its own layer's entries.
		for _, h := range hidden {
			deleted[h] = true
		}
	}
	sort.Strings(names)
	return names, byName, nil
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

func isNotDir(err error) bool {
	pe, ok := err.(*os.PathError)
	return ok && pe.Err == unix.ENOTDIR
}
