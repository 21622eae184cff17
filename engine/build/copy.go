package build

import (
	"archive/tar"
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/mydocker/mydocker/runconfig"
	"github.com/mydocker/mydocker/workspace"
)

// copyInstruction is a COPY or ADD, its words expanded.
type copyInstruction struct {
	name         string // COPY or ADD
	args         instructions.SourcesAndDest
	chown, chmod string
	from         string // COPY --from: a stage's name or index, or an image
	add          bool   // ADD: a local archive is unpacked
}

// copySource is one source of a COPY found in its tree: named orig in the instruction,
// resolved to p, described by fi, hashed.
type copySource struct {
	orig, p string
	fi      fs.FileInfo
	hash    string
}

// dispatchCopy copies the sources into the image, as a layer the builder writes itself. Its
// history and cache key name the sources by a hash of their content ("COPY file:3a4b... in
// /app/ "), Docker's form, so that a copy of the same files is the same step whatever their
// times, and a copy of others is not.
func (b *builder) dispatchCopy(s *stageState, c copyInstruction) (retErr error) {
	defer func() {
		if retErr != nil {
			retErr = fmt.Errorf("%s failed: %w", c.name, retErr)
		}
	}()
	var t tree = b.ctx.tree
	keepOwners := false
	if c.from != "" {
		img, err := b.copyFrom(c.from)
		if err != nil {
			return err
		}
		layers, err := b.store.LayerDirs(img)
		if err != nil {
			return err
		}
		t, keepOwners = imageTree{workspace.NewUnion(layers)}, c.chown == ""
	}
	dest := c.args.DestPath
	var sources []copySource
	for _, orig := range c.args.SourcePaths {
		found, err := findSources(t, orig, c)
		if err != nil {
			return err
		}
		sources = append(sources, found...)
	}
	if len(sources) == 0 {
		return errors.New("no source files were specified")
	}
	if len(sources) > 1 && !strings.HasSuffix(dest, "/") {
		return fmt.Errorf("When using %s with more than one source file, the destination must be a directory and end with a /", c.name)
	}
	hash := sources[0].hash
	if len(sources) > 1 {
		var hashes []string
		for _, src := range sources {
			hashes = append(hashes, src.hash)
		}
		hash = hashStrings("multi", hashes)
	}
	// Docker's words, its missing space after --chown included.
	flags := ""
	if c.chmod != "" {
		flags += "--chmod=" + c.chmod + " "
	}
	if c.chown != "" {
		flags += "--chown=" + c.chown
	}
	probe := cloneConfig(s.config)
	probe.Cmd = append(s.shell(), fmt.Sprintf("#(nop) %s %s%s in %s ", c.name, flags, hash, dest))
	if hit, err := b.probe(s, probe); err != nil || hit {
		return err
	}
	own := owner{set: !keepOwners}
	if c.chown != "" {
		var err error
		if own.uid, own.gid, err = b.chownIDs(s, c.chown); err != nil {
			return err
		}
	}
	var mode fs.FileMode
	if c.chmod != "" {
		m, err := strconv.ParseUint(c.chmod, 8, 32)
		if err != nil || m > 0o7777 {
			return fmt.Errorf("invalid --chmod %q: an octal mode (0755)", c.chmod)
		}
		mode = fs.FileMode(m)
	}
	if !path.IsAbs(dest) {
		// Relative to WORKDIR; a trailing slash still says "a directory".
		slash := strings.HasSuffix(dest, "/")
		dest = path.Join("/", s.config.WorkingDir, dest)
		if slash && dest != "/" {
			dest += "/"
		}
	}
	layer, err := b.writeLayer(s, func(w *layerWriter) error {
		for _, src := range sources {
			if err := copyOne(w, t, src, dest, own, mode, c.add); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return b.record(s, probe, layer)
}

// copyFrom is the image COPY --from copies from: a stage built before, by name or index, or
// an image of the store, held by the build's lease.
func (b *builder) copyFrom(ref string) (*workspace.Image, error) {
	img, ok, err := b.stageByRef(ref)
	if err != nil {
		return nil, err
	}
	if ok {
		if img == nil {
			return nil, fmt.Errorf("invalid from flag value %s: the stage has no image (FROM scratch, and nothing since)", ref)
		}
		return img, nil
	}
	img, err = b.lease.HoldImage(ref)
	if err != nil {
		return nil, fmt.Errorf("invalid from flag value %s: %w", ref, err)
	}
	return img, nil
}

// findSources finds the sources one argument of a COPY names in t, each hashed: a path, or a
// pattern (*, ?, [...]) matched against every path of t. A URL is refused: a build reaches
// no network.
func findSources(t tree, orig string, c copyInstruction) ([]copySource, error) {
	if strings.HasPrefix(orig, "http://") || strings.HasPrefix(orig, "https://") || strings.HasPrefix(orig, "git@") {
		if !c.add {
			return nil, errors.New("source can't be a URL for COPY")
		}
		return nil, fmt.Errorf("ADD %s: a build reaches no network here: fetch the file first, then COPY it", orig)
	}
	name := strings.TrimPrefix(strings.TrimPrefix(orig, "/"), "./")
	if !containsWildcards(name) {
		src, err := findSource(t, name)
		if err != nil {
			return nil, err
		}
		return []copySource{src}, nil
	}
	var out []copySource
	err := walk(t, "/", func(rel string, fi fs.FileInfo) error {
		if ok, _ := path.Match(name, rel); !ok {
			return nil
		}
		src, err := findSource(t, rel)
		if err != nil {
			return err
		}
		out = append(out, src)
		return nil
	})
	return out, err
}

// findSource finds one source in t, every symlink on the way followed inside it, and hashes
// it: "file:..." for a file (named as it is copied), "dir:..." for a directory, of the files
// it holds with their names in it.
func findSource(t tree, name string) (copySource, error) {
	notFound := fmt.Errorf("%w: stat %s: file does not exist", errNotFound, name)
	if t.excluded("/" + name) {
		return copySource{}, notFound
	}
	p, err := t.Resolve("/" + name)
	if errors.Is(err, fs.ErrNotExist) {
		return copySource{}, notFound
	}
	if err != nil {
		return copySource{}, err
	}
	if t.excluded(p) {
		return copySource{}, notFound
	}
	fi, err := t.Lstat(p)
	if err != nil {
		return copySource{}, err
	}
	src := copySource{orig: name, p: p, fi: fi}
	switch {
	case fi.Mode().IsRegular():
		h, err := hashEntry(t, p, path.Base(name), fi)
		if err != nil {
			return src, err
		}
		src.hash = "file:" + h
	case fi.IsDir():
		var hashes []string
		err := walk(t, p, func(rel string, fi fs.FileInfo) error {
			h, err := hashEntry(t, path.Join(p, rel), rel, fi)
			hashes = append(hashes, h)
			return err
		})
		if err != nil {
			return src, err
		}
		src.hash = hashStrings("dir", hashes)
	default:
		return src, fmt.Errorf("%s is not a file or a directory", name)
	}
	return src, nil
}

// hashEntry hashes the file at p of t (HashFile), under the name it is copied as.
func hashEntry(t tree, p, name string, fi fs.FileInfo) (string, error) {
	meta := FileMeta{Name: name, Mode: fi.Mode()}
	if uid, gid, keep := t.owner(fi); keep {
		meta.UID, meta.GID = uid, gid
	}
	var content io.Reader
	switch {
	case fi.Mode().IsRegular():
		meta.Size = fi.Size()
		f, err := t.Open(p)
		if err != nil {
			return "", err
		}
		defer f.Close()
		content = io.LimitReader(f, fi.Size())
	case fi.Mode()&fs.ModeSymlink != 0:
		l, err := t.Readlink(p)
		if err != nil {
			return "", err
		}
		meta.Linkname = l
	}
	return hashFile(meta, content)
}

// walk calls fn for every file below the directory dir of t (not dir itself), parents first
// and in name order, with its path relative to dir; what .dockerignore leaves out is skipped
// (a directory left out is still entered when an exception may bring back what it holds).
func walk(t tree, dir string, fn func(rel string, fi fs.FileInfo) error) error {
	var visit func(rel string) error
	visit = func(rel string) error {
		entries, err := t.ReadDir(path.Join(dir, rel))
		if err != nil {
			return err
		}
		sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
		for _, fi := range entries {
			r := path.Join(rel, fi.Name())
			if t.excluded(path.Join(dir, r)) {
				if fi.IsDir() && hasExceptions(t) {
					if err := visit(r); err != nil {
						return err
					}
				}
				continue
			}
			if err := fn(r, fi); err != nil {
				return err
			}
			if fi.IsDir() {
				if err := visit(r); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return visit("")
}

// hasExceptions reports whether t's .dockerignore has "!" patterns.
func hasExceptions(t tree) bool {
	c, ok := t.(*contextTree)
	return ok && c.ignore != nil && c.ignore.Exclusions()
}

func containsWildcards(name string) bool {
	for i := 0; i < len(name); i++ {
		switch name[i] {
		case '\\':
			i++
		case '*', '?', '[':
			return true
		}
	}
	return false
}

// copyOne writes one source into the layer, by Docker's rules: a directory's contents go
// into dest; an archive ADD adds is unpacked into dest; a file goes to dest, or into it when
// dest ends with "/" or is a directory. New directories on the way are 0755: a file's are
// owned as the file, a directory's are root's, the directory copied into excepted.
func copyOne(w *layerWriter, t tree, src copySource, dest string, own owner, mode fs.FileMode, add bool) error {
	target, err := w.resolve(dest)
	if err != nil {
		return err
	}
	if src.fi.IsDir() {
		if err := w.mkdirAll(path.Dir(target), 0, 0); err != nil {
			return err
		}
		if err := w.mkdir(target, own.uid, own.gid); err != nil {
			return err
		}
		return walk(t, src.p, func(rel string, fi fs.FileInfo) error {
			// A directory .dockerignore leaves out, entered for an exception below it, is
			// not copied: made on the way, as Docker's context makes it (0755).
			if err := w.mkdirAll(path.Dir(path.Join(target, rel)), own.uid, own.gid); err != nil {
				return err
			}
			return w.copyEntry(t, path.Join(src.p, rel), fi, path.Join(target, rel), own, mode)
		})
	}
	if add {
		if r, ok, err := openArchive(t, src.p); err != nil {
			return err
		} else if ok {
			defer r.Close()
			return w.extract(r, target)
		}
	}
	if strings.HasSuffix(dest, "/") || w.isDir(target) {
		target = path.Join(target, path.Base(src.orig))
	}
	if err := w.mkdirAll(path.Dir(target), own.uid, own.gid); err != nil {
		return err
	}
	return w.copyEntry(t, src.p, src.fi, target, own, mode)
}

// openArchive opens the file at p of t as a tar archive (gzip, bzip2 or zstd, or plain) when
// it is one.
func openArchive(t tree, p string) (io.ReadCloser, bool, error) {
	f, err := t.Open(p)
	if err != nil {
		return nil, false, err
	}
	br := bufio.NewReader(f)
	head, _ := br.Peek(512)
	var r io.Reader = br
	if open := decompressor(head); open != nil {
		if r, err = open(br); err != nil {
			f.Close()
			return nil, false, nil // not a stream it can read: copied as it is
		}
	} else if _, err := tar.NewReader(strings.NewReader(string(head))).Next(); err != nil {
		f.Close()
		return nil, false, nil
	}
	return struct {
		io.Reader
		io.Closer
	}{r, f}, true, nil
}

// chownIDs reads --chown as Docker's classic builder does: USER[:GROUP], names or ids, looked
// up in the stage's image; without a group, the user's name is looked up as one.
func (b *builder) chownIDs(s *stageState, chown string) (int, int, error) {
	user, group, ok := strings.Cut(chown, ":")
	if !ok {
		group = user
	}
	var layers []string
	if s.image != nil {
		var err error
		if layers, err = b.store.LayerDirs(s.image); err != nil {
			return 0, 0, err
		}
	}
	uid, err := lookupID(user, layers, "etc/passwd")
	if err != nil {
		return 0, 0, fmt.Errorf("unable to convert uid/gid chown string to host mapping: can't find uid for user %s: %w", user, err)
	}
	gid, err := lookupID(group, layers, "etc/group")
	if err != nil {
		return 0, 0, fmt.Errorf("unable to convert uid/gid chown string to host mapping: can't find gid for group %s: %w", group, err)
	}
	return uid, gid, nil
}

// lookupID is a number as it is, or a name's id in the image's passwd or group file.
func lookupID(name string, layers []string, file string) (int, error) {
	if n, err := strconv.Atoi(name); err == nil {
		if n < 0 {
			return 0, fmt.Errorf("%d is not an id", n)
		}
		return n, nil
	}
	data, err := workspace.ReadImageFile(layers, file)
	if err != nil {
		return 0, fmt.Errorf("no such user or group: %s", name)
	}
	if id, ok := runconfig.LookupName(data, name); ok {
		return id, nil
	}
	return 0, fmt.Errorf("no such user or group: %s", name)
}
