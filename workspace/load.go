package workspace

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/mydocker/mydocker/internal/fsutil"
)

// Loaded is one image a load added: its id and the tags it was given.
type Loaded struct {
	ID   digest.Digest
	Tags []string
}

// LoadDockerArchive adds the images of a docker-archive (what docker save writes, gzip or
// not) to the store: all of them with their layers and tags, or nothing. Every layer is
// checked against the diff id its config names, and every config against the digest its name
// says, before anything is recorded; a layer the store has is not unpacked again.
func (s *Store) LoadDockerArchive(r io.Reader) (loaded []Loaded, err error) {
	r, err = decompress(r)
	if err != nil {
		return nil, err
	}
	// The manifest comes last in docker save's archives: the archive is kept to be read twice,
	// once for what it holds and once for the layers the store lacks.
	if err := os.MkdirAll(filepath.Join(s.dir, "tmp"), 0o700); err != nil {
		return nil, err
	}
	spool, err := os.CreateTemp(filepath.Join(s.dir, "tmp"), "load-*.tar")
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	defer os.Remove(spool.Name())
	defer spool.Close()
	if _, err := io.Copy(spool, r); err != nil {
		return nil, fmt.Errorf("load: read the archive: %w", err)
	}

	files := map[string][]byte{} // manifest.json and the configs, by name
	if err := eachEntry(spool, func(name string, hdr *tar.Header, tr io.Reader) error {
		if name == "manifest.json" || (strings.HasSuffix(name, ".json") && hdr.Size < 1<<20) || strings.HasPrefix(name, "blobs/sha256/") && hdr.Size < 1<<20 {
			data, err := io.ReadAll(tr)
			files[name] = data
			return err
		}
		return nil
	}); err != nil {
		return nil, err
	}
	data, ok := files["manifest.json"]
	if !ok {
		return nil, fmt.Errorf("load: not a docker-archive: no manifest.json")
	}
	var manifest []dockerManifest
	if err := json.Unmarshal(data, &manifest); err != nil {
		return nil, fmt.Errorf("load: manifest.json: %w", err)
	}
	type image struct {
		config []byte
		id     digest.Digest
		tags   []string
	}
	var images []image
	want := map[string]digest.Digest{} // layer path in the archive -> the diff id it must have
	for _, m := range manifest {
		cfg, ok := files[path.Clean(m.Config)]
		if !ok {
			return nil, fmt.Errorf("load: the archive lacks the config %s", m.Config)
		}
		id := digest.FromBytes(cfg)
		if named := strings.TrimSuffix(path.Base(m.Config), ".json"); named != id.Encoded() {
			return nil, fmt.Errorf("load: the config %s has the digest %s", m.Config, id)
		}
		var c ocispec.Image
		if err := json.Unmarshal(cfg, &c); err != nil {
			return nil, fmt.Errorf("load: config %s: %w", m.Config, err)
		}
		if len(c.RootFS.DiffIDs) != len(m.Layers) {
			return nil, fmt.Errorf("load: image %s names %d layers, its config %d", m.Config, len(m.Layers), len(c.RootFS.DiffIDs))
		}
		for i, l := range m.Layers {
			if err := c.RootFS.DiffIDs[i].Validate(); err != nil {
				return nil, fmt.Errorf("load: config %s: %w", m.Config, err)
			}
			if prev, ok := want[path.Clean(l)]; ok && prev != c.RootFS.DiffIDs[i] {
				return nil, fmt.Errorf("load: the layer %s is named by two diff ids", l)
			}
			want[path.Clean(l)] = c.RootFS.DiffIDs[i]
		}
		var tags []string
		for _, t := range m.RepoTags {
			norm, err := normalizeRef(t)
			if err != nil {
				return nil, fmt.Errorf("load: %w", err)
			}
			tags = append(tags, norm)
		}
		images = append(images, image{config: cfg, id: id, tags: tags})
	}

	// The layers the store lacks, each checked against its diff id; what this load added goes
	// again if the load fails.
	var added []digest.Digest
	defer func() {
		if err != nil && len(added) > 0 {
			if l, lerr := s.lock(); lerr == nil {
				s.removeUnusedLayers(added)
				l.Unlock()
			}
		}
	}()
	if err := eachEntry(spool, func(name string, _ *tar.Header, tr io.Reader) error {
		d, ok := want[name]
		if !ok || s.hasLayer(d) {
			return nil
		}
		lr, err := decompress(tr)
		if err != nil {
			return err
		}
		got, err := s.addLayer(lr)
		if err != nil {
			return fmt.Errorf("load: layer %s: %w", name, err)
		}
		if got != d {
			added = append(added, got)
			return fmt.Errorf("load: the layer %s has the diff id %s, its config says %s", name, got, d)
		}
		added = append(added, got)
		return nil
	}); err != nil {
		return nil, err
	}
	for _, d := range want {
		if !s.hasLayer(d) {
			return nil, fmt.Errorf("load: the archive lacks the layer %s", d)
		}
	}

	l, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer l.Unlock()
	repos, err := s.readRepos()
	if err != nil {
		return nil, err
	}
	for _, img := range images {
		if _, err := os.Stat(s.configPath(img.id)); err != nil {
			if err := fsutil.WriteFileAtomic(s.configPath(img.id), img.config, 0o644); err != nil {
				return nil, err
			}
		}
		for _, t := range img.tags {
			repos[t] = img.id
		}
		loaded = append(loaded, Loaded{ID: img.id, Tags: img.tags})
	}
	return loaded, fsutil.WriteJSON(s.reposPath(), repos)
}

// hasLayer reports whether the store holds the layer with diff id d.
func (s *Store) hasLayer(d digest.Digest) bool {
	_, err := os.Stat(filepath.Join(s.layerDir(d), "diff"))
	return err == nil
}

// eachEntry reads the tar in f from its start and calls fn on each regular file, its name
// cleaned.
func eachEntry(f *os.File, fn func(name string, hdr *tar.Header, r io.Reader) error) error {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("load: read the archive: %w", err)
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		if err := fn(path.Clean(hdr.Name), hdr, tr); err != nil {
			return err
		}
	}
}
