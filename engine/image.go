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
	"slices"
	"strings"
	"syscall"

	"github.com/mydocker/mydocker/cgroups"
	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/rootless"
	"github.com/mydocker/mydocker/workspace"
)

// CommitOptions are commit's -m, -a and --change.
type CommitOptions struct {
	Comment, Author string
	Changes         []string // Dockerfile instructions applied to the container's config
}

// Commit turns the container's writes into a new layer on top of its image and records the
// result, its config changed as opts say, as an image named imageRef (which may be empty).
func (e *Engine) Commit(ref, imageRef string, opts CommitOptions) (*workspace.Image, error) {
	st, err := e.Get(ref)
	if err != nil {
		return nil, err
	}
	config, err := workspace.ApplyChanges(st.Config, opts.Changes)
	if err != nil {
		return nil, err
	}
	var img *workspace.Image
	err = e.readChanges(st, func(parent *workspace.Image, _ []string, changes io.Reader) (err error) {
		img, err = e.images.CommitBy(parent, changes, imageRef, config, opts.Comment, opts.Author)
		return err
	})
	return img, err
}

// readChanges hands fn the container's layer of changes (an OCI layer tar), with its image and
// the image's layer directories, the container frozen meanwhile (freezeWhileReading).
func (e *Engine) readChanges(st *State, fn func(parent *workspace.Image, layers []string, changes io.Reader) error) error {
	thaw, err := e.freezeWhileReading(st)
	if err != nil {
		return err
	}
	defer thaw()
	parent, driver, layers, err := e.layersOf(st)
	if err != nil {
		return err
	}
	changes, err := driver.Changes(e.containers.layerDir(st.ID), layers)
	if err != nil {
		return fmt.Errorf("read the changes of %s: %w", container.ShortID(st.ID), err)
	}
	defer changes.Close()
	return fn(parent, layers, changes)
}

// Export writes the container's whole filesystem, image and changes merged, as a tar.
func (e *Engine) Export(ref string, w io.Writer) error {
	st, err := e.Get(ref)
	if err != nil {
		return err
	}
	thaw, err := e.freezeWhileReading(st)
	if err != nil {
		return err
	}
	defer thaw()
	_, driver, layers, err := e.layersOf(st)
	if err != nil {
		return err
	}
	if layers, err = e.withInitLayer(driver, layers); err != nil {
		return err
	}
	return driver.Export(e.containers.layerDir(st.ID), layers, w)
}

// withInitLayer is layers with the image's init layer above them (workspace.Store.InitLayer)
// when the driver stacks layers (overlay): its mount points are in the container's filesystem
// as Docker's are, but not among the container's changes.
func (e *Engine) withInitLayer(driver workspace.Driver, layers []string) ([]string, error) {
	if driver.Name() != "overlay" {
		return layers, nil
	}
	dir, err := e.images.InitLayer(layers)
	if err != nil || dir == "" {
		return layers, err
	}
	return append(slices.Clip(layers), dir), nil
}

// freezeWhileReading stops a running container's processes while its files are read (as
// docker commit pauses it): files are read by path below its upper directory, and a process
// that swapped a directory for a symlink meanwhile could make the reader follow it out to
// the host. A container that does not run has nothing to swap. thaw lets it go on, unless it
// was paused already. A rootless engine's container without cgroups cannot be frozen: it is
// read running — what a swapped symlink could reach is the user's own, which the user may read
// anyway.
func (e *Engine) freezeWhileReading(st *State) (thaw func(), err error) {
	cg := cgroups.Load(st.Cgroups)
	if st.Status != Running || cg.Frozen() || st.Cgroups == nil && rootless.Active() {
		return func() {}, nil
	}
	if err := cg.Freeze(); err != nil {
		cg.Thaw()
		return nil, fmt.Errorf("pause container %s to read its files: %w", container.ShortID(st.ID), err)
	}
	return func() {
		if err := cg.Thaw(); err != nil {
			logFor(st.ID).WithError(err).Warn("could not let the container go on after reading its files")
		}
	}, nil
}

// layersOf finds the container's image, its layer directories and the container's driver.
func (e *Engine) layersOf(st *State) (*workspace.Image, workspace.Driver, []string, error) {
	img, err := e.images.Get(st.ImageID)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("image of container %s: %w", container.ShortID(st.ID), err)
	}
	layers, err := e.images.LayerDirs(img)
	if err != nil {
		return nil, nil, nil, err
	}
	driver, err := workspace.NewDriver(st.Driver)
	if err != nil {
		return nil, nil, nil, err
	}
	return img, driver, layers, nil
}

// etcMountPoints are the files the engine bind-mounts in every container: the mount points
// the init made for them are not the container's changes (Docker's diff leaves them out too).
var etcMountPoints = []string{"/etc/hostname", "/etc/hosts", "/etc/resolv.conf"}

// Change is one path a container changed, as docker diff prints it: A added, C changed,
// D deleted.
type Change struct {
	Kind, Path string
}

// Diff lists what the container changed in its image's filesystem, read from its layer of
// changes (what commit would record), paths sorted.
func (e *Engine) Diff(ref string) ([]Change, error) {
	st, err := e.Get(ref)
	if err != nil {
		return nil, err
	}
	var out []Change
	err = e.readChanges(st, func(_ *workspace.Image, layers []string, changes io.Reader) error {
		inImage := func(p string) bool {
			for _, l := range layers {
				if _, err := os.Lstat(filepath.Join(l, p)); err == nil {
					return true
				}
			}
			return false
		}
		tr := tar.NewReader(changes)
		for {
			hdr, err := tr.Next()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("read the changes of %s: %w", container.ShortID(st.ID), err)
			}
			p := path.Clean("/" + hdr.Name)
			dir, base := path.Split(p)
			switch {
			case p == "/" || base == ".wh..wh..opq" || slices.Contains(etcMountPoints, p):
				continue
			case strings.HasPrefix(base, ".wh."):
				out = append(out, Change{"D", path.Join(dir, strings.TrimPrefix(base, ".wh."))})
			case inImage(p):
				out = append(out, Change{"C", p})
			default:
				out = append(out, Change{"A", p})
			}
		}
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b Change) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
}

// Size is what ps -s shows of a container: the bytes of its own layer (what it wrote), and
// those plus its image's.
func (e *Engine) Size(st *State) (rw, virtual int64) {
	rw = dirSize(e.containers.layerDir(st.ID))
	if img, err := e.images.Get(st.ImageID); err == nil {
		virtual = img.Size
	}
	return rw, rw + virtual
}

// dirSize is what lstat says of the files below dir (a symlink counts its target's length),
// a hard-linked file once: Docker's count.
func dirSize(dir string) (size int64) {
	seen := map[uint64]bool{}
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 {
			if seen[st.Ino] {
				return nil
			}
			seen[st.Ino] = true
		}
		size += fi.Size()
		return nil
	})
	return size
}
