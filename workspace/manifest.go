package workspace

import (
	"encoding/json"
	"fmt"
	"path"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ArchiveImage is one image of an archive (docker save's, or an OCI layout), as its manifest
// names it and its config describes it: what load records once every layer is checked.
type ArchiveImage struct {
	ID     digest.Digest  // the sha256 of Config: the image's id
	Config []byte         // the config as the archive holds it: its bytes make the id
	Layers []ArchiveLayer // bottom first
	Tags   []string       // as the store names them: "busybox" is "busybox:latest"
}

// ArchiveLayer is one layer of an archived image.
type ArchiveLayer struct {
	Path   string        // its tar's entry in the archive, cleaned: "<hex>/layer.tar"
	DiffID digest.Digest // the sha256 its (uncompressed) tar must have: the config says so
}

// dockerManifest is one entry of a docker-archive's manifest.json.
type dockerManifest struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// ReadDockerManifest reads a docker-archive's manifest.json: for each image, its config (from
// configs, the archive's small files by cleaned path), checked against the digest its file
// name gives (<id>.json), and its layers, the manifest's paths paired with the config's diff
// ids in order. The layers' tars are checked against those diff ids by load as it unpacks
// them.
func ReadDockerManifest(manifest []byte, configs map[string][]byte) ([]ArchiveImage, error) {
	var entries []dockerManifest
	if err := json.Unmarshal(manifest, &entries); err != nil {
		return nil, fmt.Errorf("load: manifest.json: %w", err)
	}
	var images []ArchiveImage
	for _, m := range entries {
		config, ok := configs[path.Clean(m.Config)]
		if !ok {
			return nil, fmt.Errorf("load: the archive lacks the config %s", m.Config)
		}
		named := digest.NewDigestFromEncoded(digest.SHA256, strings.TrimSuffix(path.Base(m.Config), ".json"))
		var paths []string
		for _, l := range m.Layers {
			paths = append(paths, path.Clean(l))
		}
		img, err := newArchiveImage(config, named, paths, m.RepoTags)
		if err != nil {
			return nil, err
		}
		images = append(images, img)
	}
	return images, nil
}

// newArchiveImage checks config against the digest the archive names it by and pairs its diff
// ids with the layers' paths.
func newArchiveImage(config []byte, named digest.Digest, paths, tags []string) (ArchiveImage, error) {
	img := ArchiveImage{ID: digest.FromBytes(config), Config: config}
	if img.ID != named {
		return img, fmt.Errorf("load: the config %s has the digest %s", named, img.ID)
	}
	var c ocispec.Image
	if err := json.Unmarshal(config, &c); err != nil {
		return img, fmt.Errorf("load: config %s: %w", named, err)
	}
	if len(c.RootFS.DiffIDs) != len(paths) {
		return img, fmt.Errorf("load: image %s names %d layers, its config %d", named, len(paths), len(c.RootFS.DiffIDs))
	}
	for i, p := range paths {
		if err := c.RootFS.DiffIDs[i].Validate(); err != nil {
			return img, fmt.Errorf("load: config %s: %w", named, err)
		}
		img.Layers = append(img.Layers, ArchiveLayer{Path: p, DiffID: c.RootFS.DiffIDs[i]})
	}
	for _, t := range tags {
		n, err := normalizeRef(t)
		if err != nil {
			return img, fmt.Errorf("load: %w", err)
		}
		img.Tags = append(img.Tags, n)
	}
	return img, nil
}
