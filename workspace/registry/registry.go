// Package registry pulls images from and pushes them to registries, over the Distribution
// API through go-containerregistry (the library crane and ko are built on): https, except for
// registries on loopback, which Docker also reaches over plain http; credentials from
// ~/.docker/config.json. It lives apart from package workspace, and runs in a program of its
// own (mydocker-registry), because net/http, TLS and the registry client would otherwise be
// linked into mydocker and slow every command's start (by 6 ms here).
package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/opencontainers/go-digest"

	"github.com/mydocker/mydocker/internal/fsutil"
	"github.com/mydocker/mydocker/workspace"
)

func remoteOptions() []remote.Option {
	return []remote.Option{
		remote.WithAuthFromKeychain(authn.DefaultKeychain),
		remote.WithPlatform(v1.Platform{OS: "linux", Architecture: runtime.GOARCH}),
	}
}

// Pull fetches the image ref (NAME[:TAG] or NAME@sha256:...) into the store: each layer it
// lacks is unpacked and checked against the diff id the config names (blobs are checked
// against their digests as they are read), then the config and the tag are recorded; what a
// failed pull added goes again. It returns the manifest's digest.
func Pull(s *workspace.Store, root, ref string, progress io.Writer) (digest.Digest, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", fmt.Errorf("invalid reference format %q: %w", ref, err)
	}
	img, err := remote.Image(r, remoteOptions()...)
	if err != nil {
		return "", fmt.Errorf("pull %s: %w", ref, err)
	}
	md, err := img.Digest()
	if err != nil {
		return "", fmt.Errorf("pull %s: %w", ref, err)
	}
	config, err := img.RawConfigFile() // checked against the manifest's config digest
	if err != nil {
		return "", fmt.Errorf("pull %s: config: %w", ref, err)
	}
	layers, err := img.Layers()
	if err != nil {
		return "", fmt.Errorf("pull %s: %w", ref, err)
	}
	var added []digest.Digest
	fail := func(err error) (digest.Digest, error) {
		s.RemoveUnusedLayers(added)
		return "", err
	}
	for _, l := range layers {
		d, err := l.DiffID()
		if err != nil {
			return fail(fmt.Errorf("pull %s: %w", ref, err))
		}
		want := digest.Digest(d.String())
		if s.HasLayer(want) {
			fmt.Fprintf(progress, "%s: Already exists\n", want.Encoded()[:12])
			continue
		}
		rc, err := l.Uncompressed()
		if err != nil {
			return fail(fmt.Errorf("pull %s: layer %s: %w", ref, want, err))
		}
		got, err := s.AddLayer(rc)
		if cerr := rc.Close(); err == nil { // the blob's digest is checked as it ends
			err = cerr
		}
		if err != nil {
			return fail(fmt.Errorf("pull %s: layer %s: %w", ref, want, err))
		}
		added = append(added, got)
		if got != want {
			return fail(fmt.Errorf("pull %s: the layer %s unpacked to the diff id %s", ref, want, got))
		}
		fmt.Fprintf(progress, "%s: Pull complete\n", want.Encoded()[:12])
	}
	var tags []string
	if t, ok := r.(name.Tag); ok {
		tags = []string{t.String()}
	}
	stored, err := s.AddImage(config, tags)
	if err != nil {
		return fail(err)
	}
	return digest.Digest(md.String()), recordDigest(root, repoName(r), stored.ID, digest.Digest(md.String()))
}

// Push sends the local image ref to the registry ref names: its layers tarred again and
// gzipped (as Docker pushes them), the config carrying their diff ids; blobs the registry has
// are not sent again. It returns the manifest's digest.
func Push(s *workspace.Store, root, ref string, progress io.Writer) (digest.Digest, error) {
	local, err := s.Get(ref)
	if err != nil {
		return "", err
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", fmt.Errorf("invalid reference format %q: %w", ref, err)
	}
	dirs, err := s.LayerDirs(local)
	if err != nil {
		return "", err
	}
	var layers []v1.Layer
	for _, dir := range dirs {
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
			pr, pw := io.Pipe()
			go func() { pw.CloseWithError(workspace.WriteLayerTar(pw, dir)) }()
			return pr, nil
		})
		if err != nil {
			return "", fmt.Errorf("push %s: %w", ref, err)
		}
		layers = append(layers, l)
	}
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		return "", fmt.Errorf("push %s: %w", ref, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return "", err
	}
	// The image's own config, with the diff ids of the layers as tarred now.
	data, err := json.Marshal(local.Config)
	if err != nil {
		return "", err
	}
	var own v1.ConfigFile
	if err := json.Unmarshal(data, &own); err != nil {
		return "", err
	}
	own.RootFS = cf.RootFS
	if img, err = mutate.ConfigFile(img, &own); err != nil {
		return "", err
	}
	fmt.Fprintf(progress, "The push refers to repository [%s]\n", repoName(r))
	if err := remote.Write(r, img, remoteOptions()...); err != nil {
		return "", fmt.Errorf("push %s: %w", ref, err)
	}
	md, err := img.Digest()
	if err != nil {
		return "", err
	}
	fmt.Fprintf(progress, "%s: digest: %s\n", r.Identifier(), md)
	return digest.Digest(md.String()), recordDigest(root, repoName(r), local.ID, digest.Digest(md.String()))
}

// repoName is a reference's repository as the store names it (docker.io/library/x is x).
func repoName(r name.Reference) string {
	full := r.Context().Name()
	if norm, err := workspace.NormalizeRef(full); err == nil {
		return norm[:len(norm)-len(":latest")]
	}
	return full
}

// recordDigest remembers that the image id is repo@manifestDigest (images --digests).
func recordDigest(root, repo string, id, manifestDigest digest.Digest) error {
	path := filepath.Join(root, "image", "repodigests.json")
	digests := map[string]digest.Digest{}
	if err := fsutil.ReadJSON(path, &digests); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	digests[repo+"@"+manifestDigest.String()] = id
	return fsutil.WriteJSON(path, digests)
}
