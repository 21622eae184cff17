package workspace

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/mydocker/mydocker/internal/fsutil"
)

// A build makes one image per step, each on the one before, as Docker's classic builder does;
// the store keeps beside each such image what its config cannot say (Docker keeps the same in
// imagedb/metadata): the image it was built on, the cache key of the step that made it and
// when (meta/sha256/ID.json), and, under its parent, that it is one of its children
// (children/PARENT/ID; PARENT "scratch" for FROM scratch). That is the build cache: a step
// whose parent and key match an image's is that image (Cached), found among the parent's
// children alone. The chain also decides what rmi and prune may delete: an image others were
// built on stays while they do, and an untagged parent goes with its last child. An image
// pulled, loaded or imported has no such record.
type imageMeta struct {
	Parent   digest.Digest `json:"parent,omitempty"`
	CacheKey string        `json:"cache_key,omitempty"`
	Created  int64         `json:"created,omitempty"` // Unix nanoseconds
}

// CacheEntry is one image the build cache can answer with: its id, when it was made, and
// what made it (its parent, "" for FROM scratch, and the step's cache key).
type CacheEntry struct {
	ID, Parent digest.Digest
	Key        string
	Created    int64 // Unix nanoseconds
}

func (s *Store) metaPath(id digest.Digest) string {
	return filepath.Join(s.dir, "meta", id.Algorithm().String(), id.Encoded()+".json")
}

// childrenDir holds an entry for each image built on parent ("" for FROM scratch).
func (s *Store) childrenDir(parent digest.Digest) string {
	name := "scratch"
	if parent != "" {
		name = parent.Encoded()
	}
	return filepath.Join(s.dir, "children", name)
}

// children are the images built on parent whose config is still there. Under the store's lock.
func (s *Store) children(parent digest.Digest) ([]digest.Digest, error) {
	entries, err := os.ReadDir(s.childrenDir(parent))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the images built on %s: %w", parent, err)
	}
	var out []digest.Digest
	for _, e := range entries {
		if !isHex(e.Name()) {
			continue
		}
		id := digest.NewDigestFromEncoded(digest.SHA256, e.Name())
		if _, err := os.Stat(s.configPath(id)); err == nil {
			out = append(out, id)
		}
	}
	return out, nil
}

// metas reads the records of the images built here, by image id. A record whose image is
// gone (a crash between the two removals) is left out. Under the store's lock.
func (s *Store) metas() (map[digest.Digest]imageMeta, error) {
	dir := filepath.Join(s.dir, "meta", "sha256")
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return map[digest.Digest]imageMeta{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read image records: %w", err)
	}
	out := make(map[digest.Digest]imageMeta, len(entries))
	for _, e := range entries {
		hex, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || !isHex(hex) {
			continue
		}
		id := digest.NewDigestFromEncoded(digest.SHA256, hex)
		if _, err := os.Stat(s.configPath(id)); err != nil {
			continue
		}
		var m imageMeta
		if err := fsutil.ReadJSON(filepath.Join(dir, e.Name()), &m); err != nil {
			return nil, err
		}
		out[id] = m
	}
	return out, nil
}

// AddChild records the image a build step made on parent ("" for FROM scratch): config, with
// Docker's additions ext, as its config, and key the step's cache key; the lease holds it
// until the build ends. The store must hold every layer it names.
func (s *Store) AddChild(l *Lease, parent digest.Digest, config ocispec.Image, ext dockerspec.DockerOCIImageConfigExt, key string) (*Image, error) {
	data, err := encodeConfig(config, ext)
	if err != nil {
		return nil, err
	}
	id := digest.FromBytes(data)
	sl, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer sl.Unlock()
	for _, d := range config.RootFS.DiffIDs {
		if !s.HasLayer(d) {
			return nil, fmt.Errorf("record image: the store lacks its layer %s", d)
		}
	}
	if parent != "" {
		if _, err := os.Stat(s.configPath(parent)); err != nil {
			return nil, fmt.Errorf("record image: its parent %s: %w", parent, ErrImageNotFound)
		}
	}
	if err := s.writeConfig(id, data); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(s.metaPath(id)), 0o700); err != nil {
		return nil, fmt.Errorf("record image: %w", err)
	}
	// Not waited for on the disk: lost in a host crash, the image is only no step's cache
	// and no child's parent any more.
	m := imageMeta{Parent: parent, CacheKey: key}
	if config.Created != nil {
		m.Created = config.Created.UnixNano()
	}
	if err := fsutil.UpdateJSON(s.metaPath(id), m); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(s.childrenDir(parent), 0o700); err != nil {
		return nil, fmt.Errorf("record image: %w", err)
	}
	if err := fsutil.UpdateFile(filepath.Join(s.childrenDir(parent), id.Encoded()), nil, 0o600); err != nil {
		return nil, err
	}
	if err := l.holdImage(id); err != nil {
		return nil, err
	}
	return s.load(id)
}

// Cached is the build cache's lookup: the image a step keyed key made on parent before, held
// by the lease (nil when there is none, or when what it was is gone).
func (s *Store) Cached(l *Lease, parent digest.Digest, key string) (*Image, error) {
	sl, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer sl.Unlock()
	children, err := s.children(parent)
	if err != nil {
		return nil, err
	}
	var entries []CacheEntry
	for _, id := range children {
		var m imageMeta
		if err := fsutil.ReadJSON(s.metaPath(id), &m); err != nil {
			continue
		}
		entries = append(entries, CacheEntry{ID: id, Parent: m.Parent, Key: m.CacheKey, Created: m.Created})
	}
	id := pickCached(entries, parent, key)
	if id == "" {
		return nil, nil
	}
	img, err := s.load(id)
	if err != nil {
		return nil, err
	}
	if _, err := s.LayerDirs(img); err != nil {
		return nil, nil // a layer went missing: no hit, the step runs again
	}
	return img, l.holdImage(id)
}

// PickCached is the cache's rule, Docker's classic builder's (image/cache): of the images
// made here, one built on parent by a step with the same key; the newest when several are.
// "" when none is.
func PickCached(entries []CacheEntry, parent digest.Digest, key string) digest.Digest {
	var best *CacheEntry
	for i, e := range entries {
		if e.Parent != parent || e.Key != key {
			continue
		}
		if best == nil || e.Created > best.Created {
			best = &entries[i]
		}
	}
	if best == nil {
		return ""
	}
	return best.ID
}

// Parent is the image id was built on ("" when it was not built here, or on scratch).
func (s *Store) Parent(id digest.Digest) digest.Digest {
	var m imageMeta
	if err := fsutil.ReadJSON(s.metaPath(id), &m); err != nil {
		return ""
	}
	return m.Parent
}

// WithChildren are the images others were built on: the intermediate images of builds, which
// images lists only with -a when they have no tag, and which prune keeps.
func (s *Store) WithChildren() (map[digest.Digest]bool, error) {
	sl, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer sl.Unlock()
	entries, err := os.ReadDir(filepath.Join(s.dir, "children"))
	if errors.Is(err, os.ErrNotExist) {
		return map[digest.Digest]bool{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read image records: %w", err)
	}
	out := map[digest.Digest]bool{}
	for _, e := range entries {
		if !isHex(e.Name()) {
			continue
		}
		parent := digest.NewDigestFromEncoded(digest.SHA256, e.Name())
		if children, err := s.children(parent); err != nil {
			return nil, err
		} else if len(children) > 0 {
			out[parent] = true
		}
	}
	return out, nil
}

// parentsIn is the set of images metas names as a parent.
func parentsIn(metas map[digest.Digest]imageMeta) map[digest.Digest]bool {
	out := map[digest.Digest]bool{}
	for _, m := range metas {
		if m.Parent != "" {
			out[m.Parent] = true
		}
	}
	return out
}

// removeConfig deletes the config of image id and its records. Under the store's lock.
func (s *Store) removeConfig(id digest.Digest) error {
	var m imageMeta
	if err := fsutil.ReadJSON(s.metaPath(id), &m); err == nil {
		os.Remove(filepath.Join(s.childrenDir(m.Parent), id.Encoded()))
		os.Remove(s.childrenDir(m.Parent)) // when it was the last
	}
	os.Remove(s.childrenDir(id)) // none left, or it would not be removed
	if err := os.Remove(s.metaPath(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove image %s: %w", id, err)
	}
	if err := os.Remove(s.configPath(id)); err != nil {
		return fmt.Errorf("remove image %s: %w", id, err)
	}
	return fsutil.SyncDir(filepath.Dir(s.configPath(id)))
}
