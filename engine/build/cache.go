package build

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"runtime"
	"slices"
	"strings"
	"time"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// The cache is Docker's classic builder's (image/cache): a step's image is reused when an
// image made here from the same parent has the same "run config" (the config the step
// leaves, its command replaced by the instruction: "/bin/sh -c #(nop)  ENV A=1", or the
// RUN's own command with its build args). The store keeps each image's parent and that key
// (workspace.Store.Cached); the key is the sha256 of the run config as JSON, which encoding/json
// writes the same way each time (map keys sorted). A COPY's instruction names its sources by
// their content (HashFile): a file touched, but the same, is the same step.

// cacheKey is the key a step with this run config (and Docker's config additions) is stored
// and looked up under.
func cacheKey(probe ocispec.ImageConfig, docker dockerspec.DockerOCIImageConfigExt) (string, error) {
	data, err := json.Marshal(dockerspec.DockerOCIImageConfig{ImageConfig: probe, DockerOCIImageConfigExt: docker})
	if err != nil {
		return "", fmt.Errorf("cache key: %w", err)
	}
	return digest.FromBytes(data).String(), nil
}

// probe asks the cache for the step's image: on a hit the stage moves on to it and the step
// is done. After a miss the stage's later steps are not asked (their parent is new); nor is
// anything with --no-cache.
func (b *builder) probe(s *stageState, probe ocispec.ImageConfig) (bool, error) {
	if b.opts.NoCache || b.busted {
		return false, nil
	}
	key, err := cacheKey(probe, s.docker)
	if err != nil {
		return false, err
	}
	img, err := b.store.Cached(b.lease, s.parentID(), key)
	if err != nil {
		return false, err
	}
	if img == nil {
		b.busted = true
		return false, nil
	}
	fmt.Fprint(b.out, " ---> Using cache\n")
	s.image = img
	return true, nil
}

// record makes the step's image on the stage's: the stage's config, layer on top of its
// layers ("" for none: an empty layer in its history), the history entry Docker writes
// (created by the run config's command), and the cache key, for the next build.
func (b *builder) record(s *stageState, probe ocispec.ImageConfig, layer digest.Digest) error {
	key, err := cacheKey(probe, s.docker)
	if err != nil {
		return err
	}
	var img ocispec.Image
	if s.image != nil {
		img = s.image.Config
		img.RootFS.DiffIDs = slices.Clone(img.RootFS.DiffIDs)
		img.History = slices.Clone(img.History)
	} else {
		img = ocispec.Image{Platform: ocispec.Platform{Architecture: runtime.GOARCH, OS: "linux"}, RootFS: ocispec.RootFS{Type: "layers"}}
	}
	now := time.Now().UTC()
	img.Created, img.Author, img.Config = &now, s.author, cloneConfig(s.config)
	if layer != "" {
		img.RootFS.DiffIDs = append(img.RootFS.DiffIDs, layer)
	}
	img.History = append(img.History, ocispec.History{Created: &now, CreatedBy: strings.Join(probe.Cmd, " "), Author: s.author, EmptyLayer: layer == ""})
	child, err := b.store.AddChild(b.lease, s.parentID(), img, s.docker, key)
	if err != nil {
		return err
	}
	s.image = child
	return nil
}

// FileMeta is what the cache reads of one file a COPY or ADD copies, beside its bytes: the
// name it is copied under (relative to the directory copied, or a file's own name), its
// type and permissions, its owner when the copy keeps it (COPY --from; a copy from the
// context is root's or --chown's, whoever owns the file), a symlink's target and its size.
// Never its times: a file touched but unchanged copies the same.
type FileMeta struct {
	Name     string
	Mode     fs.FileMode
	UID, GID int
	Linkname string
	Size     int64
}

// HashFile is the hash of one file of a COPY source: the sha256 of its metadata and its bytes
// (content: nil for anything but a regular file), in hex.
func HashFile(meta FileMeta, content io.Reader) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%q %o %d %d %q %d\n", meta.Name, uint32(meta.Mode), meta.UID, meta.GID, meta.Linkname, meta.Size)
	if content != nil {
		if _, err := io.Copy(h, content); err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// hashStrings is Docker's hash of several hashes: "dir:..." for a directory's files, "multi:..."
// for several sources.
func hashStrings(prefix string, hashes []string) string {
	sum := sha256.Sum256([]byte(strings.Join(hashes, ",")))
	return prefix + ":" + hex.EncodeToString(sum[:])
}
