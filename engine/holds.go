package engine

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/internal/fsutil"
	"github.com/mydocker/mydocker/internal/names"
	"github.com/mydocker/mydocker/workspace"
)

// holds are what a container uses in the stores beside its own: its image (and through it the
// image's layers, which commit and the vfs driver read) and its named volumes. A container
// being made records them (holds.json in its directory) under the image store's lock and the
// volumes' lock, before it reads or mounts any of them; rmi, image prune, volume rm and volume
// prune read every container's holds under the same locks and refuse what is held. The holds
// go with the container's directory. This is moby's reference counting of volumes and
// containerd's leases, kept on disk because several mydocker processes share one root.
type holds struct {
	Image   digest.Digest `json:"image"`
	Volumes []string      `json:"volumes,omitempty"`
}

func (s *Store) holdsPath(id string) string { return filepath.Join(s.dir, id, "holds.json") }

// held is what holdImageAndVolumes found and made for a container.
type held struct {
	image   *workspace.Image
	volumes []NamedVolume // as they are mounted, each with its name
	// made are the volumes it made, for the rollback of a failed create (discardVolumes);
	// anonymous, those without a name of the user's, which go with a --rm container.
	made, anonymous []string
}

// holdImageAndVolumes records that container id, whose directory is made, uses the image
// opts name and its volumes, making those that do not exist yet: opts' named volumes (an
// empty name is an anonymous volume, given a random one) and, as Docker does, an anonymous
// volume for each VOLUME of the image that no mount of opts covers.
func (e *Engine) holdImageAndVolumes(id string, opts *Options) (h held, err error) {
	h.image, err = e.images.Use(opts.Image, func(img *workspace.Image) error {
		vl, err := e.volumesLock()
		if err != nil {
			return err
		}
		defer vl.Unlock()
		record := holds{Image: img.ID}
		for _, nv := range append(slices.Clone(opts.NamedVolumes), imageVolumes(img, opts)...) {
			isNew := nv.Name == ""
			if !isNew {
				if _, err := e.volume(nv.Name); errors.Is(err, ErrNoSuchVolume) {
					isNew = true
				}
			}
			v, err := e.volumeCreate(nv.Name, nil)
			if err != nil {
				return err
			}
			if isNew {
				h.made = append(h.made, v.Name)
			}
			if nv.Name == "" {
				h.anonymous = append(h.anonymous, v.Name)
			}
			nv.Name = v.Name
			h.volumes = append(h.volumes, nv)
			record.Volumes = append(record.Volumes, v.Name)
		}
		if opts.AutoRemove {
			// Not waiting for the disk, as a --rm container's state (see Store.write): a
			// crash kills the container, which is then removed whatever it held.
			return fsutil.UpdateJSON(e.containers.holdsPath(id), record)
		}
		return fsutil.WriteJSON(e.containers.holdsPath(id), record)
	})
	if err != nil {
		// Made under the lock above and held by nobody: the locks are let go, they can go.
		e.discardVolumes(id, h.made)
		return held{}, err
	}
	return h, nil
}

// imageVolumes are the anonymous volumes the image's VOLUMEs ask for, those that no bind
// mount, tmpfs or volume of opts is mounted on, in path order.
func imageVolumes(img *workspace.Image, opts *Options) []NamedVolume {
	covered := map[string]bool{}
	for _, m := range opts.Mounts {
		covered[path.Clean(m.Destination)] = true
	}
	for _, t := range opts.Tmpfs {
		dest, _, _ := strings.Cut(t, ":")
		covered[path.Clean(dest)] = true
	}
	for _, nv := range opts.NamedVolumes {
		covered[path.Clean(nv.Destination)] = true
	}
	var out []NamedVolume
	for _, dest := range slices.Sorted(maps.Keys(img.Config.Config.Volumes)) {
		if d := path.Clean("/" + dest); !covered[d] && d != "/" {
			out = append(out, NamedVolume{Destination: d})
			covered[d] = true
		}
	}
	return out
}

// holders reads what every container holds: for each image id and each volume name, the
// containers that hold it. A container being made holds what it recorded; one whose holds
// predate holds.json holds its state's image and the volumes its spec mounts. An error
// reading any container's is returned: a delete must then refuse, never guess.
func (e *Engine) holders() (images map[digest.Digest][]string, volumes map[string][]string, err error) {
	entries, err := os.ReadDir(e.containers.dir)
	if err != nil {
		return nil, nil, fmt.Errorf("list containers: %w", err)
	}
	images, volumes = map[digest.Digest][]string{}, map[string][]string{}
	for _, d := range entries {
		id := d.Name()
		if !d.IsDir() || !names.IsID(id) {
			continue
		}
		h, err := e.containers.readHolds(id, e.volumesDir())
		if err != nil {
			return nil, nil, fmt.Errorf("what container %s uses cannot be read (remove it with rm -f): %w", container.ShortID(id), err)
		}
		if h.Image != "" {
			images[h.Image] = append(images[h.Image], id)
		}
		for _, v := range h.Volumes {
			volumes[v] = append(volumes[v], id)
		}
	}
	return images, volumes, nil
}

// readHolds reads the holds of container id: holds.json, or for a container made before it
// existed, its state's image and the volumes (below volumesDir) its spec mounts. A container
// not yet published holds what it recorded while its creator lives; one whose creator died
// holds nothing (Prune removes it).
func (s *Store) readHolds(id, volumesDir string) (holds, error) {
	var h holds
	err := fsutil.ReadJSON(s.holdsPath(id), &h)
	if err == nil {
		if dead, err := s.creatorDied(id); err != nil || dead {
			return holds{}, err
		}
		return h, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return h, err
	}
	var st State
	if err := fsutil.ReadJSON(s.statePath(id), &st); errors.Is(err, os.ErrNotExist) {
		return h, nil // recorded nothing yet, or gone
	} else if err != nil {
		return h, err
	}
	h.Image = digest.Digest(st.ImageID)
	spec, err := s.Spec(id)
	if errors.Is(err, os.ErrNotExist) {
		return h, nil
	}
	if err != nil {
		return h, err
	}
	for _, m := range spec.Mounts {
		if rel, ok := strings.CutPrefix(m.Source, volumesDir+"/"); ok && m.Type == "bind" {
			if name, _, _ := strings.Cut(rel, "/"); name != "" {
				h.Volumes = append(h.Volumes, name)
			}
		}
	}
	return h, nil
}

// imageUser names a container that holds image id ("" for none), for rmi and prune: asked
// under the image store's lock (workspace.Store.Remove).
func (e *Engine) imageUser(id digest.Digest) (string, error) {
	images, _, err := e.holders()
	if err != nil {
		return "", err
	}
	if users := images[id]; len(users) > 0 {
		return container.ShortID(users[0]), nil
	}
	return "", nil
}

// ImageInUse reports whether a container holds the image; when that cannot be told, it is
// taken to be (the answer is for a listing: deletes ask imageUser under the lock).
func (e *Engine) ImageInUse(id digest.Digest) bool {
	user, err := e.imageUser(id)
	return err != nil || user != ""
}

// RemoveImage is rmi: it untags ref and deletes the image when no tag is left and no container
// holds it (with force, an image in use is only untagged).
func (e *Engine) RemoveImage(ref string, force bool) (untagged []string, deleted []digest.Digest, err error) {
	return e.images.Remove(ref, force, e.imageUser)
}
