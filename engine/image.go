package engine

import (
	"fmt"
	"io"

	"github.com/opencontainers/go-digest"

	"github.com/mydocker/mydocker/cgroups"
	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/workspace"
)

// Commit turns the container's writes into a new layer on top of its image and records the
// CommitOptions are commit's -m, -a and --change.
type CommitOptions struct {
	Comment, Author string
	Changes         []string // Dockerfile instructions applied to the container's config
}

// result as an image named ref (which may be empty).
func (e *Engine) Commit(ref, imageRef string, opts CommitOptions) (*workspace.Image, error) {
	st, err := e.Get(ref)
	if err != nil {
		return nil, err
	}
	config, err := workspace.ApplyChanges(st.Config, opts.Changes)
	if err != nil {
		return nil, err
	}
	thaw, err := e.freezeWhileReading(st)
	if err != nil {
		return nil, err
	}
	defer thaw()
	parent, driver, layers, err := e.layersOf(st)
	if err != nil {
		return nil, err
	}
	changes, err := driver.Changes(e.containers.layerDir(st.ID), layers)
	if err != nil {
		return nil, fmt.Errorf("read the changes of %s: %w", container.ShortID(st.ID), err)
	}
	defer changes.Close()
	return e.images.CommitBy(parent, changes, imageRef, config, opts.Comment, opts.Author)
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
	return driver.Export(e.containers.layerDir(st.ID), layers, w)
}

// freezeWhileReading stops a running container's processes while its files are read (as
// docker commit pauses it): files are read by path below its upper directory, and a process
// that swapped a directory for a symlink meanwhile could make the reader follow it out to
// the host. A container that does not run has nothing to swap. thaw lets it go on, unless it
// was paused already.
func (e *Engine) freezeWhileReading(st *State) (thaw func(), err error) {
	cg := cgroups.Load(st.Cgroups)
	if st.Status != Running || cg.Frozen() {
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

// ImageInUse reports whether any container was created from the image, so rmi can refuse.
func (e *Engine) ImageInUse(id digest.Digest) bool {
	all, err := e.containers.List()
	if err != nil {
		return true
	}
	for _, c := range all {
		if c.ImageID == id.String() {
			return true
		}
	}
	return false
}
