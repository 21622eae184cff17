package workspace

import (
	"archive/tar"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
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
	"golang.org/x/sys/unix"

	"github.com/mydocker/mydocker/internal/faults"
	"github.com/mydocker/mydocker/internal/fsutil"
)

// Loaded is one image a load added: its id and the tags it was given.
type Loaded struct {
	ID   digest.Digest
	Tags []string
}

// LayerProgress is told of a layer as its unpacking starts (its short id and bytes): it may
// wrap the layer's reader, and done is called with how the layer ended.
type LayerProgress func(id string, size int64, r io.Reader) (wrapped io.Reader, done func(error))

// LoadArchive adds the images of a docker-archive (what docker save writes) or of an OCI image
// layout in a tar (save --format oci, skopeo's oci-archive), gzip or not, to the store: all of
// them with their layers and tags, or nothing. Every layer is checked against the diff id its
// config names (and an OCI blob against its digest), every config against its digest, before
// anything is recorded; a layer the store has is not unpacked again.
// progress, when not nil, is told of each layer it unpacks.
func (s *Store) LoadArchive(r io.Reader, progress LayerProgress) (loaded []Loaded, err error) {
	spool, err := s.seekable(r)
	if err != nil {
		return nil, err
	}
	defer spool.Close()

	files := map[string][]byte{} // manifest.json and the configs, by name
	if err := eachEntry(spool, func(name string, hdr *tar.Header, tr io.Reader) error {
		// The indexes, manifests and configs: small files. A small layer is read too, and
		// not used from here.
		if name == "manifest.json" || name == "index.json" || (strings.HasSuffix(name, ".json") || strings.HasPrefix(name, "blobs/")) && hdr.Size < 1<<20 {
			data, err := io.ReadAll(tr)
			files[name] = data
			return err
		}
		return nil
	}); err != nil {
		return nil, err
	}
	var p *loadPlan
	if _, ok := files["manifest.json"]; ok {
		p, err = dockerPlan(files)
	} else if _, ok := files["index.json"]; ok {
		p, err = ociPlan(files)
	} else {
		err = fmt.Errorf("load: neither a docker-archive (manifest.json) nor an OCI layout (index.json)")
	}
	if err != nil {
		return nil, err
	}
	want := p.want

	// The layers the store lacks, each checked against its diff id, and those it has, all held
	// by a lease until the images are recorded; what this load added goes again if it fails.
	lease, err := s.NewLease()
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, lease.Discard())
		} else {
			err = lease.Release()
		}
	}()
	if err := eachEntry(spool, func(name string, hdr *tar.Header, tr io.Reader) (err error) {
		d, ok := want[name]
		if !ok {
			return nil
		}
		if has, err := lease.HoldLayer(d); has || err != nil {
			return err
		}
		if progress != nil {
			var done func(error)
			tr, done = progress(d.Encoded()[:12], hdr.Size, tr)
			defer func() { done(err) }()
		}
		blob := sha256.New()
		lr, err := decompress(io.TeeReader(tr, blob))
		if err != nil {
			return err
		}
		got, err := lease.AddLayer(lr)
		if err != nil {
			return fmt.Errorf("load: layer %s: %w", name, err)
		}
		if want, ok := p.blobs[name]; ok {
			io.Copy(blob, tr) // what the unpacking left: the blob's digest covers all of it
			if d := digest.NewDigestFromEncoded(digest.SHA256, hex.EncodeToString(blob.Sum(nil))); d != want {
				return fmt.Errorf("load: the blob %s has the digest %s", name, d)
			}
		}
		if got != d {
			return fmt.Errorf("load: the layer %s has the diff id %s, its config says %s", name, got, d)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	for _, d := range want {
		if !s.HasLayer(d) {
			return nil, fmt.Errorf("load: the archive lacks the layer %s", d)
		}
	}
	faults.Point("load:stored")
	return s.recordImages(p.images)
}

// recordImages writes the images' configs (their own bytes: an image's id is their digest) and
// points their tags at them, under the store's lock, once it has checked that the store holds
// every layer they name.
func (s *Store) recordImages(images []ArchiveImage) ([]Loaded, error) {
	l, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer l.Unlock()
	for _, img := range images {
		for _, l := range img.Layers {
			if !s.HasLayer(l.DiffID) {
				return nil, fmt.Errorf("the store lacks the layer %s of image %s", l.DiffID, img.ID)
			}
		}
	}
	repos, err := s.readRepos()
	if err != nil {
		return nil, err
	}
	var loaded []Loaded
	for _, img := range images {
		if _, err := os.Stat(s.configPath(img.ID)); err != nil {
			if err := fsutil.WriteFileAtomic(s.configPath(img.ID), img.Config, 0o644); err != nil {
				return nil, err
			}
		}
		for _, t := range img.Tags {
			repos[t] = img.ID
		}
		loaded = append(loaded, Loaded{ID: img.ID, Tags: img.Tags})
	}
	return loaded, fsutil.WriteJSON(s.reposPath(), repos)
}

// AddImage records an image fetched from elsewhere (a registry) whose layers the store holds
// (Lease.AddLayer, Lease.HoldLayer): config checked against them, then recorded with its tags.
func (s *Store) AddImage(config []byte, tags []string) (*Image, error) {
	var c ocispec.Image
	if err := json.Unmarshal(config, &c); err != nil {
		return nil, fmt.Errorf("image config: %w", err)
	}
	names := make([]string, len(c.RootFS.DiffIDs))
	for i := range names {
		names[i] = fmt.Sprint(i)
	}
	img, err := newArchiveImage(config, digest.FromBytes(config), names, tags)
	if err != nil {
		return nil, err
	}
	p := loadPlan{want: map[string]digest.Digest{}}
	if err := p.addImage(img); err != nil {
		return nil, err
	}
	if _, err := s.recordImages(p.images); err != nil {
		return nil, err
	}
	return s.load(img.ID)
}

// NormalizeRef is a reference as the store names it ("busybox" is "busybox:latest").
func NormalizeRef(ref string) (string, error) { return normalizeRef(ref) }

// WriteLayer writes the stored layer d as a tar: the one it came as when the store keeps its
// record (tarsplit.go; checked against d as it goes), else its files tarred again (other bytes,
// another diff id).
func (s *Store) WriteLayer(w io.Writer, d digest.Digest) error {
	if orig, ok := s.originalTar(d); ok {
		_, err := orig.WriteTo(w)
		return err
	}
	return writeDiff(w, filepath.Join(s.layerDir(d), "diff"))
}

// loadPlan is what an archive holds: its images, the diff id each layer entry must have, and
// for an OCI layout the digest each blob must have.
type loadPlan struct {
	images []ArchiveImage
	want   map[string]digest.Digest
	blobs  map[string]digest.Digest
}

// addImage plans img's load: an entry two images name must be one layer to both.
func (p *loadPlan) addImage(img ArchiveImage) error {
	for _, l := range img.Layers {
		if prev, ok := p.want[l.Path]; ok && prev != l.DiffID {
			return fmt.Errorf("load: the layer %s is named by two diff ids", l.Path)
		}
		p.want[l.Path] = l.DiffID
	}
	p.images = append(p.images, img)
	return nil
}

// dockerPlan reads a docker-archive's manifest.json (lab 13's ReadDockerManifest in a chapter
// built with -tags lab).
func dockerPlan(files map[string][]byte) (*loadPlan, error) {
	images, err := readDockerManifest(files["manifest.json"], files)
	if err != nil {
		return nil, err
	}
	p := &loadPlan{want: map[string]digest.Digest{}}
	for _, img := range images {
		if err := p.addImage(img); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// ociPlan reads an OCI layout's index.json and the manifests it names.
func ociPlan(files map[string][]byte) (*loadPlan, error) {
	var index ocispec.Index
	if err := json.Unmarshal(files["index.json"], &index); err != nil {
		return nil, fmt.Errorf("load: index.json: %w", err)
	}
	p := &loadPlan{want: map[string]digest.Digest{}, blobs: map[string]digest.Digest{}}
	blob := func(d digest.Digest) ([]byte, error) {
		if err := d.Validate(); err != nil {
			return nil, fmt.Errorf("load: %w", err)
		}
		data, ok := files["blobs/"+d.Algorithm().String()+"/"+d.Encoded()]
		if !ok {
			return nil, fmt.Errorf("load: the archive lacks the blob %s", d)
		}
		if got := digest.FromBytes(data); got != d {
			return nil, fmt.Errorf("load: the blob %s has the digest %s", d, got)
		}
		return data, nil
	}
	for _, desc := range index.Manifests {
		data, err := blob(desc.Digest)
		if err != nil {
			return nil, err
		}
		var m ocispec.Manifest
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("load: manifest %s: %w", desc.Digest, err)
		}
		if m.MediaType != "" && m.MediaType != ocispec.MediaTypeImageManifest {
			return nil, fmt.Errorf("load: manifest %s: %s is not an image manifest (an index of platforms is not loaded)", desc.Digest, m.MediaType)
		}
		cfg, err := blob(m.Config.Digest)
		if err != nil {
			return nil, err
		}
		var layers []string
		for _, l := range m.Layers {
			if err := l.Digest.Validate(); err != nil {
				return nil, fmt.Errorf("load: %w", err)
			}
			name := "blobs/" + l.Digest.Algorithm().String() + "/" + l.Digest.Encoded()
			p.blobs[name] = l.Digest
			layers = append(layers, name)
		}
		var tags []string
		if ref := cmp.Or(desc.Annotations["io.containerd.image.name"], desc.Annotations[ocispec.AnnotationRefName]); ref != "" && strings.ContainsAny(ref, ":/") {
			tags = append(tags, ref)
		}
		img, err := newArchiveImage(cfg, m.Config.Digest, layers, tags)
		if err != nil {
			return nil, err
		}
		if err := p.addImage(img); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// HasLayer reports whether the store holds the layer with diff id d.
func (s *Store) HasLayer(d digest.Digest) bool {
	_, err := os.Stat(filepath.Join(s.layerDir(d), "diff"))
	return err == nil
}

// seekable is the archive as a file to read twice: the manifest comes last in docker save's
// archives, and is read before the layers the store lacks. A plain tar in a file is read
// where it is; anything else (stdin, gzip) is first copied, uncompressed, to a temporary file
// that Close removes.
func (s *Store) seekable(r io.Reader) (*os.File, error) {
	if f, ok := r.(*os.File); ok {
		magic := make([]byte, 2)
		if info, err := f.Stat(); err == nil && info.Mode().IsRegular() {
			if _, err := f.ReadAt(magic, 0); err == nil && !(magic[0] == 0x1f && magic[1] == 0x8b) {
				fd, err := unix.Dup(int(f.Fd())) // closed on its own; the caller closes f
				if err != nil {
					return nil, fmt.Errorf("load: %w", err)
				}
				unix.CloseOnExec(fd)
				return os.NewFile(uintptr(fd), f.Name()), nil
			}
		}
	}
	r, err := decompress(r)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(s.dir, "tmp"), 0o700); err != nil {
		return nil, err
	}
	spool, err := os.CreateTemp(filepath.Join(s.dir, "tmp"), "load-*.tar")
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	os.Remove(spool.Name()) // gone with its last descriptor
	if _, err := io.Copy(spool, r); err != nil {
		spool.Close()
		return nil, fmt.Errorf("load: read the archive: %w", err)
	}
	return spool, nil
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
