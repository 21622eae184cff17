package workspace

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// SaveDockerArchive writes images in the docker-archive format that `docker load` reads:
// manifest.json, each image's config as <id>.json and each layer as <diff id>/layer.tar.
//
// Each layer is the tar it came as, put together again from tar-split's record (tarsplit.go),
// so the archive holds the store's diff ids and the store's config bytes: the image keeps its
// id wherever it is loaded. A layer stored without a record is tarred again from its files:
// other bytes, another diff id, and the archive's config names those (another image id).
func (s *Store) SaveDockerArchive(w io.Writer, refs ...string) error {
	tw := tar.NewWriter(w)
	var manifest []dockerManifest
	written := map[digest.Digest]layerBlob{}
	for _, ref := range refs {
		img, err := s.archiveImage(tw, ref, written, false)
		if err != nil {
			return err
		}
		entry := dockerManifest{RepoTags: img.tags}
		for _, l := range img.layers {
			entry.Layers = append(entry.Layers, l.hex+"/layer.tar")
		}
		entry.Config = digest.FromBytes(img.config).Encoded() + ".json"
		if err := addTarFile(tw, entry.Config, img.config); err != nil {
			return err
		}
		manifest = append(manifest, entry)
	}
	data, err := json.Marshal(manifest)
	if err != nil {
		return err
	}
	if err := addTarFile(tw, "manifest.json", data); err != nil {
		return err
	}
	return tw.Close()
}

// layerBlob is a layer as an archive holds it: the sha256 of its tar, and its size.
type layerBlob struct {
	hex  string
	size int64
}

// savedImage is an image as an archive writes it: its config (the store's bytes when every
// layer goes as it came; else with the diff ids of the layers as tarred again), its layers,
// and the tag the command named (none for an id).
type savedImage struct {
	config []byte
	layers []layerBlob
	tags   []string
}

// archiveImage writes the layers of the image ref that are not written yet (written maps the
// store's diff ids to the layers in the archive) and returns the image as archived.
func (s *Store) archiveImage(tw *tar.Writer, ref string, written map[digest.Digest]layerBlob, oci bool) (*savedImage, error) {
	img, err := s.Get(ref)
	if err != nil {
		return nil, err
	}
	dirs, err := s.LayerDirs(img)
	if err != nil {
		return nil, err
	}
	raw, err := s.RawConfig(img)
	if err != nil {
		return nil, err
	}
	a := &savedImage{config: raw}
	// The tags the command named, as docker save writes them: an image saved by id has none.
	if norm, err := normalizeRef(ref); err == nil && slices.Contains(img.RepoTags, norm) {
		a.tags = []string{norm}
	}
	ids := make([]digest.Digest, len(dirs))
	same := true
	for i, dir := range dirs {
		orig := img.Config.RootFS.DiffIDs[i]
		l, ok := written[orig]
		if !ok {
			if l, err = s.addLayerTar(tw, orig, dir, oci); err != nil {
				return nil, fmt.Errorf("save %s: %w", ref, err)
			}
			written[orig] = l
		}
		ids[i] = digest.NewDigestFromEncoded(digest.SHA256, l.hex)
		same = same && ids[i] == orig
		a.layers = append(a.layers, l)
	}
	if !same {
		if a.config, err = ConfigWithDiffIDs(raw, ids); err != nil {
			return nil, fmt.Errorf("save %s: %w", ref, err)
		}
	}
	return a, nil
}

// ConfigWithDiffIDs is an image config (JSON) naming other layers: rootfs.diff_ids replaced,
// every other field kept as it was.
func ConfigWithDiffIDs(config []byte, ids []digest.Digest) ([]byte, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(config, &fields); err != nil {
		return nil, fmt.Errorf("image config: %w", err)
	}
	rootfs, err := json.Marshal(ocispec.RootFS{Type: "layers", DiffIDs: ids})
	if err != nil {
		return nil, err
	}
	fields["rootfs"] = rootfs
	return json.Marshal(fields)
}

// addLayerTar adds the layer id (unpacked in dir) to the archive under the sha256 of its tar,
// which it returns with the size: as <sha256>/layer.tar (docker-archive), or as
// blobs/sha256/<sha256> with oci. The tar is the one the layer came as when the store has its
// record (its sha256 is then id), else the layer's files tarred again.
func (s *Store) addLayerTar(tw *tar.Writer, id digest.Digest, dir string, oci bool) (layerBlob, error) {
	if orig, ok := s.originalTar(id); ok {
		size, err := orig.Size()
		if err != nil {
			return layerBlob{}, err
		}
		l := layerBlob{id.Encoded(), size}
		if err := writeLayerHeader(tw, l, oci); err != nil {
			return layerBlob{}, err
		}
		_, err = orig.WriteTo(tw)
		return l, err
	}
	// A tar entry needs its size first: the layer is tarred to a temporary file.
	tmp, err := os.CreateTemp("", "mydocker-layer-*.tar")
	if err != nil {
		return layerBlob{}, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	h := sha256.New()
	if err := writeDiff(io.MultiWriter(tmp, h), dir); err != nil {
		return layerBlob{}, fmt.Errorf("layer %s: %w", id, err)
	}
	size, err := tmp.Seek(0, io.SeekCurrent)
	if err != nil {
		return layerBlob{}, err
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return layerBlob{}, err
	}
	l := layerBlob{fmt.Sprintf("%x", h.Sum(nil)), size}
	if err := writeLayerHeader(tw, l, oci); err != nil {
		return layerBlob{}, err
	}
	_, err = io.Copy(tw, tmp)
	return l, err
}

// writeLayerHeader writes the archive's entry header for layer l.
func writeLayerHeader(tw *tar.Writer, l layerBlob, oci bool) error {
	name := "blobs/sha256/" + l.hex
	if !oci {
		name = l.hex + "/layer.tar"
		if err := tw.WriteHeader(&tar.Header{Name: l.hex + "/", Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
			return err
		}
	}
	return tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: l.size})
}

func addTarFile(tw *tar.Writer, name string, data []byte) error {
	if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(data))}); err != nil {
		return err
	}
	_, err := tw.Write(data)
	return err
}

// SaveOCIArchive writes images as an OCI image layout in a tar (what `save --format oci`
// writes, and podman, skopeo and containerd read): oci-layout, index.json naming each image by
// its reference, and blobs/sha256/ holding manifests, configs and layers (uncompressed tars).
func (s *Store) SaveOCIArchive(w io.Writer, refs ...string) error {
	tw := tar.NewWriter(w)
	if err := addTarFile(tw, "oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return err
	}
	written := map[digest.Digest]layerBlob{}
	index := ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex}
	for _, ref := range refs {
		img, err := s.archiveImage(tw, ref, written, true)
		if err != nil {
			return err
		}
		manifest := ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest}
		for _, l := range img.layers {
			d := digest.NewDigestFromEncoded(digest.SHA256, l.hex) // uncompressed: the diff id too
			manifest.Layers = append(manifest.Layers, ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayer, Digest: d, Size: l.size})
		}
		configData := img.config
		manifest.Config = ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: digest.FromBytes(configData), Size: int64(len(configData))}
		if err := addTarFile(tw, "blobs/sha256/"+manifest.Config.Digest.Encoded(), configData); err != nil {
			return err
		}
		manifestData, err := json.Marshal(manifest)
		if err != nil {
			return err
		}
		desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(manifestData), Size: int64(len(manifestData))}
		if err := addTarFile(tw, "blobs/sha256/"+desc.Digest.Encoded(), manifestData); err != nil {
			return err
		}
		for _, t := range img.tags {
			desc.Annotations = map[string]string{ocispec.AnnotationRefName: t, "io.containerd.image.name": t}
		}
		index.Manifests = append(index.Manifests, desc)
	}
	data, err := json.Marshal(index)
	if err != nil {
		return err
	}
	if err := addTarFile(tw, "index.json", data); err != nil {
		return err
	}
	return tw.Close()
}
