package engine

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/workspace"
)

// RunStep runs a build's RUN: a container made from opts like any other (confined, on the
// network opts name), in the foreground, its output straight to stdio and never logged. created
// is told the container's id before it starts. When the command exits 0, keep is handed what
// it wrote, as an OCI layer tar (empty is true when it wrote nothing), before the container
// goes. The container is removed once it exits, unless opts keep it (AutoRemove false) and the
// command succeeded. It returns the command's exit status.
func (e *Engine) RunStep(opts *Options, stdio container.Stdio, created func(id string), keep func(changes io.Reader, empty bool) error) (code int, retErr error) {
	opts.HostNetwork = len(opts.Networks) > 0 && opts.Networks[0] == "host"
	opts.Detach, opts.Interactive, opts.Tty = false, false, false
	catch := sync.OnceValue(container.CatchSignals)
	go catch()
	defer func() { catch().Stop() }()
	c, p, err := e.createForeground(opts, false, stdio, nil)
	if err != nil {
		return 0, err
	}
	defer c.owner.Unlock()
	if created != nil {
		created(c.st.ID)
	}
	sigs := catch()
	if err := e.start(c, p); err != nil {
		return 0, err
	}
	code = p.WaitForeground(sigs, stdio, false)
	// Its processes went with its init, the PID namespace's first: its files no longer change.
	if code == 0 && keep != nil {
		retErr = e.stepChanges(c.st, c.bundle.Spec.Mounts, keep)
	}
	e.finish(c.st, code)
	if !c.st.AutoRemove && (code != 0 || retErr != nil) {
		if err := e.removeFiles(c.st); err != nil {
			logFor(c.st.ID).WithError(err).Warn("could not remove the container of a build step that failed")
		} else {
			e.discardVolumes(c.st.ID, c.st.AnonymousVolumes)
		}
	}
	return code, retErr
}

// stepChanges hands keep the changes of a step's container, less what its runtime made
// rather than its command (stepLayer).
func (e *Engine) stepChanges(st *State, mounts []specs.Mount, keep func(io.Reader, bool) error) error {
	_, driver, layers, err := e.layersOf(st)
	if err != nil {
		return err
	}
	changes, err := driver.Changes(e.containers.layerDir(st.ID), layers)
	if err != nil {
		return fmt.Errorf("read the changes of %s: %w", container.ShortID(st.ID), err)
	}
	defer changes.Close()
	var points []string
	for _, m := range mounts {
		points = append(points, strings.TrimPrefix(path.Clean(m.Destination), "/"))
	}
	r, empty, err := stepLayer(changes, workspace.NewUnion(layers), points)
	if err != nil {
		return err
	}
	if empty {
		return keep(nil, true)
	}
	defer r.Close()
	return keep(r, false)
}

// stepLayer is the layer a step's changes make, as Docker's builder commits it: without the
// mount points the runtime made for the container's mounts (/etc/hosts and the like, which
// Docker makes in an "init layer" of its own, never committed), and without a directory whose
// only change is to hold those (overlayfs copied it up; its mode and owner are the image's).
// empty: nothing is left, and the step adds no layer. The tar is filtered as it is read.
func stepLayer(changes io.Reader, image *workspace.Union, mountPoints []string) (io.ReadCloser, bool, error) {
	pr, pw := io.Pipe()
	started := make(chan error, 1)
	go func() {
		err := filterStep(changes, pw, image, mountPoints, func() { started <- nil })
		if err != nil {
			started <- err
		} else {
			started <- errEmptyStep
		}
		pw.CloseWithError(err)
	}()
	switch err := <-started; {
	case err == nil:
		return pr, false, nil
	case errors.Is(err, errEmptyStep):
		pr.Close()
		return nil, true, nil
	default:
		pr.Close()
		return nil, false, err
	}
}

var errEmptyStep = errors.New("the step changed nothing")

// filterStep copies the tar changes to w, less mount points and untouched directories;
// first is called before the first entry is written (never, when none is).
func filterStep(changes io.Reader, w io.Writer, image *workspace.Union, mountPoints []string, first func()) error {
	tr := tar.NewReader(changes)
	var tw *tar.Writer
	var pending []*tar.Header // directories the image has as they are, written only before a child
	write := func(hdr *tar.Header, body io.Reader) error {
		if tw == nil {
			first()
			tw = tar.NewWriter(w)
		}
		for _, d := range pending { // all of them hdr's parents
			if err := tw.WriteHeader(d); err != nil {
				return err
			}
		}
		pending = pending[:0]
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		_, err := io.Copy(tw, body)
		return err
	}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read a step's changes: %w", err)
		}
		name := strings.TrimSuffix(path.Clean(hdr.Name), "/")
		for len(pending) > 0 && !strings.HasPrefix(name+"/", pending[len(pending)-1].Name) {
			pending = pending[:len(pending)-1] // a sibling: nothing was kept below it
		}
		if isMountPoint(name, mountPoints, image) {
			continue
		}
		if hdr.Typeflag == tar.TypeDir && unchangedDir(hdr, image) {
			h := *hdr
			h.Name = name + "/"
			pending = append(pending, &h)
			continue
		}
		if err := write(hdr, tr); err != nil {
			return err
		}
	}
	if tw == nil {
		return nil
	}
	return tw.Close()
}

// isMountPoint reports whether name is where one of the container's mounts went and the
// image has nothing there: the runtime made it.
func isMountPoint(name string, mountPoints []string, image *workspace.Union) bool {
	for _, m := range mountPoints {
		if name == m {
			_, err := image.Lstat(name)
			return errors.Is(err, os.ErrNotExist)
		}
	}
	return false
}

// unchangedDir reports whether the directory hdr is in the image with the same mode and owner.
func unchangedDir(hdr *tar.Header, image *workspace.Union) bool {
	fi, err := image.Lstat(hdr.Name)
	if err != nil || !fi.IsDir() {
		return false
	}
	h, err := tar.FileInfoHeader(fi, "")
	return err == nil && h.Mode == hdr.Mode && h.Uid == hdr.Uid && h.Gid == hdr.Gid
}
