package registry

import (
	"encoding/json"
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"

	"github.com/mydocker/mydocker/workspace"
)

// pushedImage is an image as push sends it: the store's config, byte for byte when its layers
// go as they came (so that a pulled image pushed back keeps its digest, as with Docker), and a
// manifest naming the layers' blobs.
type pushedImage struct {
	config []byte
	layers []v1.Layer
	oci    bool // a layer is in an OCI media type: the manifest is an OCI one too
}

// newPushedImage builds the image of config (as stored) and layers: a config whose diff ids
// are not the layers' (layers stored without tar-split's record, tarred again) gets theirs.
func newPushedImage(config []byte, diffIDs []digest.Digest, layers []v1.Layer) (v1.Image, error) {
	img := &pushedImage{config: config, layers: layers}
	same := len(diffIDs) == len(layers)
	sent := make([]digest.Digest, len(layers))
	for i, l := range layers {
		d, err := l.DiffID()
		if err != nil {
			return nil, err
		}
		sent[i] = digest.Digest(d.String())
		same = same && sent[i] == diffIDs[i]
		mt, err := l.MediaType()
		if err != nil {
			return nil, err
		}
		img.oci = img.oci || strings.HasPrefix(string(mt), "application/vnd.oci.")
	}
	if !same {
		var err error
		if img.config, err = workspace.ConfigWithDiffIDs(config, sent); err != nil {
			return nil, err
		}
	}
	return partial.CompressedToImage(img)
}

func (p *pushedImage) RawConfigFile() ([]byte, error) { return p.config, nil }

func (p *pushedImage) MediaType() (types.MediaType, error) {
	if p.oci {
		return types.OCIManifestSchema1, nil
	}
	return types.DockerManifestSchema2, nil
}

func (p *pushedImage) RawManifest() ([]byte, error) {
	mt, _ := p.MediaType()
	configType := types.DockerConfigJSON
	if p.oci {
		configType = types.OCIConfigJSON
	}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     mt,
		Config:        v1.Descriptor{MediaType: configType, Size: int64(len(p.config)), Digest: v1.Hash{Algorithm: "sha256", Hex: digest.FromBytes(p.config).Encoded()}},
	}
	for _, l := range p.layers {
		desc, err := partial.Descriptor(l)
		if err != nil {
			return nil, err
		}
		m.Layers = append(m.Layers, v1.Descriptor{MediaType: desc.MediaType, Size: desc.Size, Digest: desc.Digest})
	}
	return json.Marshal(m)
}

func (p *pushedImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	for _, l := range p.layers {
		if d, err := l.Digest(); err == nil && d == h {
			return l, nil
		}
	}
	return nil, fmt.Errorf("no layer %s in the image", h)
}
