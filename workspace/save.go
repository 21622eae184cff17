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

// dockerManifest is one entry of a docker-archive's manifest.json.
type dockerManifest struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// SaveDockerArchive writes images in the docker-archive format that `docker load` reads:
// manifest.json, each image's config as <id>.json and each layer as <diff id>/layer.tar.
//
// The store keeps layers unpacked, not as the tars they came in, so each layer is tarred
// again. The new tar is the same files but not the same bytes, so its diff id, and with it the
// image id, differ from the store's: the archive carries configs with the new diff ids.
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
		data, err := json.Marshal(img.config)
		if err != nil {
			return err
		}
		entry.Config = digest.FromBytes(data).Encoded() + ".json"
		if err := addTarFile(tw, entry.Config, data); err != nil {
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

// archivedImage is an image as an archive writes it: its config with the diff ids of its
// layers as tarred again, those layers, and the tag the command named (none for an id).
type archivedImage struct {
	config ocispec.Image
	layers []layerBlob
	tags   []string
}

// archiveImage writes the layers of the image ref that are not written yet (written maps the
// store's diff ids to the layers in the archive) and returns the image as archived.
func (s *Store) archiveImage(tw *tar.Writer, ref string, written map[digest.Digest]layerBlob, oci bool) (*archivedImage, error) {
	img, err := s.Get(ref)
	if err != nil {
		return nil, err
	}
	dirs, err := s.LayerDirs(img)
	if err != nil {
		return nil, err
	}
	a := &archivedImage{config: img.Config}
	a.config.RootFS.DiffIDs = nil
	// The tags the command named, as docker save writes them: an image saved by id has none.
	if norm, err := normalizeRef(ref); err == nil && slices.Contains(img.RepoTags, norm) {
		a.tags = []string{norm}
	}
	for i, dir := range dirs {
		orig := img.Config.RootFS.DiffIDs[i]
		l, ok := written[orig]
		if !ok {
			hex, size, err := addLayerTar(tw, dir, oci)
			if err != nil {
				return nil, fmt.Errorf("save layer %s: %w", orig, err)
			}
			l = layerBlob{hex, size}
			written[orig] = l
		}
		a.config.RootFS.DiffIDs = append(a.config.RootFS.DiffIDs, digest.NewDigestFromEncoded(digest.SHA256, l.hex))
		a.layers = append(a.layers, l)
	}
	return a, nil
}

// addLayerTar tars an unpacked layer into a temporary file (a tar entry needs its size first),
// then adds it to the archive under its sha256, which it returns with the size: as
// <sha256>/layer.tar (docker-archive), or as blobs/sha256/<sha256> with oci.
func addLayerTar(tw *tar.Writer, dir string, oci bool) (string, int64, error) {
	tmp, err := os.CreateTemp("", "mydocker-layer-*.tar")
	if err != nil {
		return "", 0, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	h := sha256.New()
	if err := writeDiff(io.MultiWriter(tmp, h), dir); err != nil {
		return "", 0, err
	}
	size, err := tmp.Seek(0, io.SeekCurrent)
	if err != nil {
		return "", 0, err
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return "", 0, err
	}
	hex := fmt.Sprintf("%x", h.Sum(nil))
	name := "blobs/sha256/" + hex
	if !oci {
		name = hex + "/layer.tar"
		if err := tw.WriteHeader(&tar.Header{Name: hex + "/", Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
			return "", 0, err
		}
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: size}); err != nil {
		return "", 0, err
	}
	_, err = io.Copy(tw, tmp)
	return hex, size, err
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
		configData, err := json.Marshal(img.config)
		if err != nil {
			return err
		}
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
