package engine

import (
	"errors"
	"slices"

	"github.com/opencontainers/go-digest"

	"github.com/mydocker/mydocker/workspace"
)

// PruneContainers removes every container that does not run (exited, created, dead) and
// returns their ids. One it cannot remove is skipped, its error kept.
func (e *Engine) PruneContainers() ([]string, error) {
	all, err := e.List()
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, st := range all {
		if st.Status == Running {
			continue
		}
		if err := e.Remove(st.ID, false); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, st.ID)
	}
	return removed, errors.Join(errs...)
}

// PruneImages removes the images no container uses: the dangling ones (untagged, and no
// image built on them), or with all every one. Deleting an image deletes the intermediate
// images of its build with it (workspace.Store.Remove). It returns what was untagged and
// deleted, as rmi does.
func (e *Engine) PruneImages(all bool) (untagged []string, deleted []digest.Digest, err error) {
	var errs []error
	// With all, an image others were built on goes once they have: pass after pass, while
	// one deletes anything.
	for pass := true; pass; {
		pass = false
		imgs, err := e.images.List()
		if err != nil {
			return untagged, deleted, err
		}
		held, _, err := e.holders()
		if err != nil {
			return untagged, deleted, err
		}
		parents, err := e.images.WithChildren()
		if err != nil {
			return untagged, deleted, err
		}
		for _, img := range imgs {
			if (len(img.RepoTags) > 0 && !all) || len(held[img.ID]) > 0 || parents[img.ID] || slices.Contains(deleted, img.ID) {
				continue
			}
			refs := img.RepoTags
			if len(refs) == 0 {
				refs = []string{img.ID.String()}
			}
			for _, ref := range refs { // each tag goes; the last takes the image with it
				// Asked again under the store's lock: a container may take it meanwhile.
				u, d, err := e.images.Remove(ref, false, e.imageUser)
				if errors.Is(err, workspace.ErrImageInUse) || errors.Is(err, workspace.ErrImageNotFound) {
					break
				}
				if err != nil {
					errs = append(errs, err)
					break
				}
				untagged, deleted = append(untagged, u...), append(deleted, d...)
				pass = pass || (all && len(d) > 0)
			}
		}
	}
	// What crashed imports, loads and pulls left: layers no image names.
	if _, err := e.images.Sweep(); err != nil {
		errs = append(errs, err)
	}
	return untagged, deleted, errors.Join(errs...)
}

// Usage is one line of system df: what a kind of object takes on disk.
type Usage struct {
	Type              string
	Total, Active     int
	Size, Reclaimable int64
}

// DiskUsage is system df: images (active: used by a container), containers (active: running;
// their size is their own layer) and volumes (active: mounted by a container).
func (e *Engine) DiskUsage() ([]Usage, error) {
	imgs, err := e.images.List()
	if err != nil {
		return nil, err
	}
	all, err := e.List()
	if err != nil {
		return nil, err
	}
	heldImages, heldVolumes, err := e.holders()
	if err != nil {
		return nil, err
	}
	images := Usage{Type: "Images", Total: len(imgs)}
	for _, img := range imgs {
		images.Size += img.Size
		if len(heldImages[img.ID]) > 0 {
			images.Active++
		} else {
			images.Reclaimable += img.Size
		}
	}
	containers := Usage{Type: "Containers", Total: len(all)}
	for _, st := range all {
		rw, _ := e.Size(st)
		containers.Size += rw
		if st.Status == Running {
			containers.Active++
		} else {
			containers.Reclaimable += rw
		}
	}
	vols, err := e.Volumes()
	if err != nil {
		return nil, err
	}
	volumes := Usage{Type: "Local Volumes", Total: len(vols)}
	for _, v := range vols {
		size := dirSize(v.Mountpoint)
		volumes.Size += size
		if len(heldVolumes[v.Name]) > 0 {
			volumes.Active++
		} else {
			volumes.Reclaimable += size
		}
	}
	return []Usage{images, containers, volumes, {Type: "Build Cache"}}, nil
}
