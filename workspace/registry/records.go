package registry

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/opencontainers/go-digest"

	"github.com/mydocker/mydocker/internal/fsutil"
)

// The store keeps layers by diff id (the digest of the uncompressed tar). A registry keeps
// them by the digest of the compressed blob. These records join the two, as Docker's
// distribution metadata does: which blob a layer was in which repository, so that a push to a
// registry that has the blob neither tars nor sends the layer again, and a pulled image pushed
// back keeps its digest.

// blob is one layer as a blob of a repository.
type blob struct {
	Repository string        `json:"repository"` // registry/name, as go-containerregistry names it
	Digest     digest.Digest `json:"digest"`     // of the compressed blob
	DiffID     digest.Digest `json:"diff_id"`    // of the tar it holds
	Size       int64         `json:"size"`
	MediaType  string        `json:"media_type"`
}

// records is the file of what the registry client learned, in the store's directory.
type records struct {
	path string
	lock string
	root string
	// Blobs is keyed by the store's layer (its diff id).
	Blobs map[digest.Digest][]blob `json:"blobs,omitempty"`
}

func recordsOf(root string) *records {
	return &records{root: root, path: filepath.Join(root, "image", "distribution.json"), lock: filepath.Join(root, "image", "distribution.lock")}
}

// read reads the records; none yet is not an error.
func (r *records) read() error {
	err := fsutil.ReadJSON(r.path, r)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// update changes the records under their lock (pulls and pushes may run side by side).
func (r *records) update(change func() error) error {
	l, err := fsutil.LockFile(r.lock)
	if err != nil {
		return err
	}
	defer l.Unlock()
	if err := r.read(); err != nil {
		return err
	}
	if r.Blobs == nil {
		r.Blobs = map[digest.Digest][]blob{}
	}
	if err := change(); err != nil {
		return err
	}
	return fsutil.WriteJSON(r.path, r)
}

// addBlob records that layer is b (replacing what was known of it in b's repository).
func (r *records) addBlob(layer digest.Digest, b blob) {
	kept := []blob{b}
	for _, old := range r.Blobs[layer] {
		if old.Repository != b.Repository {
			kept = append(kept, old)
		}
	}
	r.Blobs[layer] = kept
}

// blobIn returns the blob layer is in repository.
func (r *records) blobIn(layer digest.Digest, repository string) (blob, bool) {
	for _, b := range r.Blobs[layer] {
		if b.Repository == repository {
			return b, true
		}
	}
	return blob{}, false
}

// addDigest records that the image id is repository@manifest (images --digests, and
// NAME@sha256:... as a name), in the file the image store reads them from. Under the lock.
func (r *records) addDigest(repository string, id, manifest digest.Digest) error {
	path := filepath.Join(r.root, "image", "repodigests.json")
	digests := map[string]digest.Digest{}
	if err := fsutil.ReadJSON(path, &digests); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	digests[repository+"@"+manifest.String()] = id
	return fsutil.WriteJSON(path, digests)
}
