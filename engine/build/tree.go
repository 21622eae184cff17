package build

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"

	"github.com/moby/patternmatcher"
	"golang.org/x/sys/unix"

	"github.com/mydocker/mydocker/workspace"
)

// tree is where COPY and ADD read: the build context, or an image (COPY --from). A path is
// "/"-rooted inside it. Resolve follows symlinks inside it as if it were "/", so that nothing
// in it, a symlink to /etc/shadow included, leads a read to the host's files; the other
// methods take paths Resolve gave (free of symlinks) and never follow the last component.
type tree interface {
	Resolve(name string) (string, error)
	Lstat(name string) (fs.FileInfo, error)
	ReadDir(name string) ([]fs.FileInfo, error)
	Readlink(name string) (string, error)
	Open(name string) (io.ReadCloser, error)
	// excluded reports whether .dockerignore leaves name out of the context.
	excluded(name string) bool
	// owner is who owns the copy of a file: nobody in particular for the context (a copy is
	// root's, or --chown's), the file's own owner in an image (COPY --from keeps it).
	owner(fi fs.FileInfo) (uid, gid int, keep bool)
}

// contextTree is a build context on disk: the user's directory, or a tar sent on stdin
// unpacked in a directory of the build's own.
type contextTree struct {
	root   *os.Root
	ignore *patternmatcher.PatternMatcher // nil: nothing is left out
	keep   map[string]bool                // the Dockerfile and .dockerignore: never left out
}

var _ tree = (*contextTree)(nil)

// rel is name as os.Root takes it.
func rel(name string) string {
	if r := strings.TrimPrefix(path.Clean("/"+name), "/"); r != "" {
		return r
	}
	return "."
}

func (c *contextTree) Resolve(name string) (string, error) {
	return resolveScoped(c.Lstat, c.Readlink, name)
}

func (c *contextTree) Lstat(name string) (fs.FileInfo, error) { return c.root.Lstat(rel(name)) }

func (c *contextTree) ReadDir(name string) ([]fs.FileInfo, error) {
	f, err := c.root.OpenFile(rel(name), os.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdir(-1)
}

func (c *contextTree) Readlink(name string) (string, error) { return c.root.Readlink(rel(name)) }

func (c *contextTree) Open(name string) (io.ReadCloser, error) {
	f, err := c.root.OpenFile(rel(name), os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("open %s in the build context: not a regular file", name)
	}
	return f, nil
}

func (c *contextTree) excluded(name string) bool {
	r := rel(name)
	if c.ignore == nil || r == "." || c.keep[r] {
		return false
	}
	out, err := c.ignore.MatchesOrParentMatches(r)
	return err == nil && out
}

func (c *contextTree) owner(fs.FileInfo) (int, int, bool) { return 0, 0, false }

// imageTree is an image's files, read in place: what COPY --from copies.
type imageTree struct{ *workspace.Union }

var _ tree = imageTree{}

func (t imageTree) Open(name string) (io.ReadCloser, error) { return t.Union.Open(name) }

func (imageTree) excluded(string) bool { return false }

func (imageTree) owner(fi fs.FileInfo) (int, int, bool) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid), int(st.Gid), true
	}
	return 0, 0, true
}

// resolveScoped follows name through a tree one component at a time, every symlink (the last
// component's too) read with readlink and resolved inside the tree, whose root is "/": ".."
// stops at the root and an absolute target starts from it. It returns the path it leads to.
func resolveScoped(lstat func(string) (fs.FileInfo, error), readlink func(string) (string, error), name string) (string, error) {
	current := ""
	rest := strings.Split(path.Clean("/"+name), "/")
	for hops := 0; len(rest) > 0; {
		part := rest[0]
		rest = rest[1:]
		switch part {
		case "", ".":
			continue
		case "..":
			current = strings.TrimSuffix(path.Dir("/"+current), "/")
			current = strings.TrimPrefix(current, "/")
			continue
		}
		next := path.Join(current, part)
		fi, err := lstat("/" + next)
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			if hops++; hops > 40 {
				return "", &os.PathError{Op: "resolve", Path: name, Err: unix.ELOOP}
			}
			target, err := readlink("/" + next)
			if err != nil {
				return "", err
			}
			if path.IsAbs(target) {
				current = ""
			}
			rest = append(strings.Split(target, "/"), rest...)
			continue
		}
		if len(rest) > 0 && !fi.IsDir() {
			if namesMore(rest) {
				return "", &os.PathError{Op: "resolve", Path: name, Err: unix.ENOTDIR}
			}
		}
		current = next
	}
	return "/" + current, nil
}

// namesMore reports whether the components left name anything ("a/" leaves [""]).
func namesMore(rest []string) bool {
	for _, p := range rest {
		if p != "" && p != "." {
			return true
		}
	}
	return false
}

// errNotFound says that a COPY's source is not in the context, in Docker's words.
var errNotFound = errors.New("file not found in build context or excluded by .dockerignore")
