package build

import (
	"archive/tar"
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"

	"github.com/mydocker/mydocker/workspace"
)

// buildContext is what a build reads: its Dockerfile, and the tree COPY and ADD copy from.
type buildContext struct {
	tree           *contextTree
	dockerfile     []byte
	dockerfileName string // as the user knows it, for messages
	close          func() error
}

// openContext finds the Dockerfile and the context opts name: a directory (-f a file of the
// host, by default PATH/Dockerfile; - for stdin), or "-", stdin, which holds a tar of the
// context (gzip, bzip2 or zstd, or plain; -f a file in it) or the Dockerfile alone, as
// Docker's builder takes them. A tar is unpacked in a directory of the lease's own.
func openContext(opts *Options, lease *workspace.Lease) (*buildContext, error) {
	c := &buildContext{close: func() error { return nil }}
	dir := opts.Context
	if dir == "-" {
		stdin, isTar, err := sniffTar(opts.Stdin)
		if err != nil {
			return nil, err
		}
		if dir, err = lease.TempDir("context"); err != nil {
			return nil, err
		}
		c.close = func() error { return os.RemoveAll(dir) }
		if !isTar {
			if opts.Dockerfile != "" && opts.Dockerfile != "-" {
				c.close()
				return nil, errors.New("a Dockerfile on stdin (build -) cannot be named with -f")
			}
			if c.dockerfile, err = io.ReadAll(stdin); err != nil {
				c.close()
				return nil, fmt.Errorf("read the Dockerfile from stdin: %w", err)
			}
			c.dockerfileName = "Dockerfile"
		} else if err := unpackContext(stdin, dir); err != nil {
			c.close()
			return nil, err
		}
	} else if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("unable to prepare context: path %q not found or not a directory", dir)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		c.close()
		return nil, fmt.Errorf("open the build context: %w", err)
	}
	removeDir := c.close
	c.close = func() error { root.Close(); return removeDir() }
	c.tree = &contextTree{root: root, keep: map[string]bool{".dockerignore": true}}
	if err := c.readDockerfile(opts, dir); err != nil {
		c.close()
		return nil, err
	}
	if err := c.readIgnore(); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

// readDockerfile reads the Dockerfile, unless stdin gave it: -f or the context's Dockerfile.
// A Dockerfile inside the context is kept in it whatever .dockerignore says, as Docker does.
func (c *buildContext) readDockerfile(opts *Options, dir string) error {
	if c.dockerfile != nil {
		return nil
	}
	var err error
	switch name := opts.Dockerfile; {
	case name == "-":
		c.dockerfileName = "Dockerfile"
		if c.dockerfile, err = io.ReadAll(opts.Stdin); err != nil {
			return fmt.Errorf("read the Dockerfile from stdin: %w", err)
		}
	case opts.Context == "-":
		c.dockerfileName = cmp.Or(name, "Dockerfile")
		if c.dockerfile, err = c.tree.root.ReadFile(rel(c.dockerfileName)); err != nil {
			return fmt.Errorf("the build context has no %s: %w", c.dockerfileName, err)
		}
		c.tree.keep[rel(c.dockerfileName)] = true
	default:
		if name == "" {
			name = filepath.Join(dir, "Dockerfile")
		}
		c.dockerfileName = name
		if c.dockerfile, err = os.ReadFile(name); err != nil {
			return fmt.Errorf("unable to prepare context: unable to evaluate symlinks in Dockerfile path: %w", err)
		}
		if abs, aerr := filepath.Abs(name); aerr == nil {
			if absDir, derr := filepath.Abs(dir); derr == nil {
				if r, rerr := filepath.Rel(absDir, abs); rerr == nil && filepath.IsLocal(r) {
					c.tree.keep[filepath.ToSlash(r)] = true
				}
			}
		}
	}
	return nil
}

// readIgnore reads the context's .dockerignore (Docker's rules: moby/patternmatcher, with
// "!" exceptions and "**").
func (c *buildContext) readIgnore() error {
	f, err := c.tree.root.Open(".dockerignore")
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read .dockerignore: %w", err)
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		return fmt.Errorf("read .dockerignore: %w", err)
	}
	if len(patterns) == 0 {
		return nil
	}
	if c.tree.ignore, err = patternmatcher.New(patterns); err != nil {
		return fmt.Errorf("read .dockerignore: %w", err)
	}
	return nil
}

// sniffTar reports whether r holds a tar (compressed or not), and returns r whole again.
func sniffTar(r io.Reader) (io.Reader, bool, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	head, err := br.Peek(512)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, false, fmt.Errorf("read stdin: %w", err)
	}
	if decompressor(head) != nil {
		return br, true, nil
	}
	_, err = tar.NewReader(bytes.NewReader(head)).Next()
	return br, err == nil, nil
}

// unpackContext unpacks the context tar r into dir, never outside it: through an os.Root, a
// name that climbs out or a symlink that points out is refused by the kernel's resolution.
// Directories, regular files, symlinks and hard links are kept, with their modes; owners
// are not (a copy from the context is root's, or --chown's).
func unpackContext(r io.Reader, dir string) error {
	r, err := decompress(r)
	if err != nil {
		return err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read the context tar: %w", err)
		}
		name := path.Clean(hdr.Name)
		if !filepath.IsLocal(name) {
			if name == "." || name == "/" {
				continue
			}
			return fmt.Errorf("the context tar names %q, outside the context", hdr.Name)
		}
		if d := path.Dir(name); d != "." {
			if err := root.MkdirAll(d, 0o755); err != nil {
				return fmt.Errorf("unpack the context: %w", err)
			}
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := root.Mkdir(name, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("unpack the context: %w", err)
			}
		case tar.TypeReg:
			root.Remove(name)
			f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return fmt.Errorf("unpack the context: %w", err)
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("unpack the context: %s: %w", name, err)
			}
		case tar.TypeSymlink:
			root.Remove(name)
			if err := root.Symlink(hdr.Linkname, name); err != nil {
				return fmt.Errorf("unpack the context: %w", err)
			}
			continue
		case tar.TypeLink:
			target := path.Clean(hdr.Linkname)
			if !filepath.IsLocal(target) {
				return fmt.Errorf("the context tar links %q to %q, outside the context", hdr.Name, hdr.Linkname)
			}
			root.Remove(name)
			if err := root.Link(target, name); err != nil {
				return fmt.Errorf("unpack the context: %w", err)
			}
			continue
		default:
			continue // devices, FIFOs: nothing a COPY takes
		}
		if err := root.Chmod(name, tarMode(hdr.Mode)); err != nil {
			return fmt.Errorf("unpack the context: %w", err)
		}
		if err := root.Chtimes(name, hdr.ModTime, hdr.ModTime); err != nil {
			return fmt.Errorf("unpack the context: %w", err)
		}
	}
}
