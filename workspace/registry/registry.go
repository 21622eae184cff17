// Package registry pulls images from and pushes them to registries, over the Distribution
// API through go-containerregistry (the library crane and ko are built on): https, except for
// registries on loopback, which Docker also reaches over plain http; credentials from
// ~/.docker/config.json. It lives apart from package workspace, and runs in a program of its
// own (mydocker-registry), because net/http, TLS and the registry client would otherwise be
// linked into mydocker and slow every command's start (by 6 ms here).
package registry

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"runtime"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/zstd"
	"github.com/opencontainers/go-digest"

	"github.com/mydocker/mydocker/internal/bars"
	"github.com/mydocker/mydocker/internal/faults"
	"github.com/mydocker/mydocker/workspace"
)

func (a Access) remoteOptions() []remote.Option {
	return []remote.Option{
		remote.WithAuthFromKeychain(a.keychain()),
		remote.WithPlatform(v1.Platform{OS: "linux", Architecture: runtime.GOARCH}),
		remote.WithTransport(a.transport()),
	}
}

// Pulled is what a pull did.
type Pulled struct {
	Digest digest.Digest // what the reference names: the manifest, or a multi-platform index
	ID     digest.Digest // the image's
	// Name is the reference as Docker's status line names it (busybox:latest,
	// localhost:5000/app@sha256:...), Ref in full as its last line does
	// (docker.io/library/busybox:latest).
	Name, Ref string
	// Newer: Name did not name this image before the pull (Docker's "Downloaded newer
	// image"); otherwise the image is up to date.
	Newer bool
}

// Pull fetches the image ref (NAME[:TAG] or NAME@sha256:...) into the store: the manifest
// first (go-containerregistry's remote.Get: GET /v2/NAME/manifests/REF, and for a
// multi-platform image the manifest of this machine's platform); when its config is an
// image the store has, nothing more (the name is tagged and the digest recorded). Otherwise
// each layer the store lacks (a layer it has is skipped: "Already exists"), downloaded and
// unpacked at once, its blob checked against the manifest's digest and size before the layer
// is committed (AddBlob), and the layer against the diff id the config names; then the config
// and the tag are recorded. What a failed pull added goes again. Its progress shows it as
// docker pull does: "TAG: Pulling from REPOSITORY" once the manifest is read, the layers, then
// "Digest: sha256:..." and "Status: Downloaded newer image for NAME" — or "Status: Image is up
// to date for NAME" when NAME named that image already.
func (a Access) Pull(s *workspace.Store, root, ref string, progress *bars.Progress) (Pulled, error) {
	r, err := a.parse(ref)
	if err != nil {
		return Pulled{}, err
	}
	p := Pulled{Name: familiarName(r), Ref: fullName(r)}
	before := ""
	if img, err := s.Get(p.Name); err == nil {
		before = img.ID.String()
	}
	// The digest is what ref names: a multi-platform image's index, as Docker records it, not
	// the manifest of this machine's platform that the index leads to.
	desc, err := remote.Get(r, a.remoteOptions()...)
	if err != nil {
		return Pulled{}, fmt.Errorf("pull %s: %w", ref, err)
	}
	img, err := desc.Image()
	if err != nil {
		return Pulled{}, fmt.Errorf("pull %s: %w", ref, err)
	}
	m, err := img.Manifest() // read with the manifest: no request
	if err != nil {
		return Pulled{}, fmt.Errorf("pull %s: %w", ref, err)
	}
	p.Digest, p.ID = digest.Digest(desc.Digest.String()), digest.Digest(m.Config.Digest.String())
	what := r.Identifier()
	if _, ok := r.(name.Digest); ok {
		what = p.Name // Docker's, for a pull by digest
	}
	progress.Say(what, "Pulling from "+r.Context().RepositoryStr())
	done, err := a.pullKnown(s, root, r, m, p)
	if err == nil && !done {
		err = a.pullNew(s, root, r, img, p.Digest, progress)
	}
	if err != nil {
		return Pulled{}, err
	}
	p.Newer = before != p.ID.String()
	progress.Printf("Digest: %s\n", p.Digest)
	if p.Newer {
		progress.Printf("Status: Downloaded newer image for %s\n", p.Name)
	} else {
		progress.Printf("Status: Image is up to date for %s\n", p.Name)
	}
	return p, nil
}

// pullKnown ends the pull of an image the store has (the manifest's config is its id) as
// Docker does, fetching nothing more: it tags it (for a pull by tag) and records the digest,
// and which blobs of the repository its layers are. done is false when the store lacks it.
func (a Access) pullKnown(s *workspace.Store, root string, r name.Reference, m *v1.Manifest, p Pulled) (done bool, err error) {
	local, err := s.Get(p.ID.String())
	if err != nil || local.ID != p.ID {
		return false, nil
	}
	if t, ok := r.(name.Tag); ok {
		if err := s.Tag(local.ID, t.String()); errors.Is(err, workspace.ErrImageNotFound) {
			return false, nil // removed meanwhile: pulled again
		} else if err != nil {
			return false, fmt.Errorf("pull %s: %w", r, err)
		}
	}
	recs := recordsOf(root)
	err = recs.update(func() error {
		if ids := local.Config.RootFS.DiffIDs; len(ids) == len(m.Layers) {
			for i, l := range m.Layers {
				recs.addBlob(ids[i], blob{Repository: r.Context().Name(), Digest: digest.Digest(l.Digest.String()),
					DiffID: ids[i], Size: l.Size, MediaType: string(l.MediaType)})
			}
		}
		return recs.addDigest(repoName(r), local.ID, p.Digest)
	})
	return true, err
}

// pullNew fetches the config and the layers the store lacks of img, and records the image
// and the digest md names it by.
func (a Access) pullNew(s *workspace.Store, root string, r name.Reference, img v1.Image, md digest.Digest, progress *bars.Progress) error {
	config, err := img.RawConfigFile() // checked against the manifest's config digest
	if err != nil {
		return fmt.Errorf("pull %s: config: %w", r, err)
	}
	layers, err := img.Layers()
	if err != nil {
		return fmt.Errorf("pull %s: %w", r, err)
	}
	blobs, err := a.blobsOf(r.Context())
	if err != nil {
		return fmt.Errorf("pull %s: %w", r, err)
	}
	// Every layer stored or found is held by the lease until the image is recorded; what a
	// failed pull added goes again, unless another pull or an image holds it meanwhile.
	lease, err := s.NewLease()
	if err != nil {
		return fmt.Errorf("pull %s: %w", r, err)
	}
	fail := func(err error) error {
		progress.Wait()
		return errors.Join(err, lease.Discard())
	}
	for _, l := range layers {
		d, err := l.DiffID()
		if err != nil {
			return fail(fmt.Errorf("pull %s: %w", r, err))
		}
		want := digest.Digest(d.String())
		short := want.Encoded()[:12]
		if b, err := l.Digest(); err == nil {
			short = b.Hex[:12] // Docker names a pull's layers by their blobs
		}
		if has, err := lease.HoldLayer(want); err != nil {
			return fail(fmt.Errorf("pull %s: %w", r, err))
		} else if has {
			progress.Layer(short, "", 0).Done("Already exists")
			continue
		}
		size, _ := l.Size()
		bar := progress.Layer(short, "Downloading", size)
		got, err := unpack(lease, blobs, l, bar)
		if err == nil && got != want {
			err = fmt.Errorf("it unpacked to the diff id %s", got)
		}
		bar.End(err, "Pull complete")
		if err != nil {
			return fail(fmt.Errorf("pull %s: layer %s: %w", r, want, err))
		}
	}
	progress.Wait()
	var tags []string
	if t, ok := r.(name.Tag); ok {
		tags = []string{t.String()}
	}
	faults.Point("pull:stored")
	stored, err := s.AddImage(config, tags)
	if err != nil {
		return fail(err)
	}
	if err := lease.Release(); err != nil {
		return fmt.Errorf("pull %s: %w", r, err)
	}
	recs := recordsOf(root)
	return recs.update(func() error {
		for _, l := range layers {
			b, err := blobOf(r.Context(), l)
			if err != nil {
				return err
			}
			recs.addBlob(b.DiffID, b)
		}
		return recs.addDigest(repoName(r), stored.ID, md)
	})
}

// unpack downloads layer l (its digest and size as the manifest gives them) into the store,
// held by lease, and returns its diff id: see AddBlob.
func unpack(lease *workspace.Lease, blobs *blobs, l v1.Layer, bar *bars.Layer) (digest.Digest, error) {
	d, err := l.Digest()
	if err != nil {
		return "", err
	}
	size, err := l.Size()
	if err != nil {
		return "", err
	}
	blob, err := blobs.get(digest.Digest(d.String()))
	if err != nil {
		return "", err
	}
	defer blob.Close()
	return AddBlob(lease, bar.Reader(blob), digest.Digest(d.String()), size)
}

// drainAfter reads the tar, then what is left of its blob: the blob's digest is checked at
// the blob's end, which must come before the store commits the layer (when the tar ends).
type drainAfter struct {
	tar, blob io.Reader
}

func (d *drainAfter) Read(p []byte) (int, error) {
	n, err := d.tar.Read(p)
	if err == io.EOF {
		if _, derr := io.Copy(io.Discard, d.blob); derr != nil {
			return n, derr
		}
	}
	return n, err
}

// decompress reads a layer blob as the tar it holds: gzip and zstd (the compressions the OCI
// image spec names) are told by their magic numbers, anything else is taken as a plain tar.
func decompress(blob *bufio.Reader) (io.ReadCloser, error) {
	magic, _ := blob.Peek(4)
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		z, err := gzip.NewReader(blob)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return z, nil
	case bytes.Equal(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		z, err := zstd.NewReader(blob)
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		return z.IOReadCloser(), nil
	}
	return io.NopCloser(blob), nil
}

// Push sends the local image ref to the registry ref names, layer by layer as Docker does:
// a layer the repository has as a blob (the records say which) is neither tarred nor sent
// again; any other is written from the store (the tar it came as, or for a layer stored
// without tar-split's record, its files tarred again) and gzipped, then sent unless the
// registry has that blob. The gzip is this push's own: a pulled layer pushed to a repository
// that lacks it is another blob than the one pulled (the store keeps no compressed blobs),
// but the same diff id. The config carries the diff ids of the layers as sent: the store's,
// but for layers tarred again. It returns the manifest's digest.
func (a Access) Push(s *workspace.Store, root, ref string, progress *bars.Progress) (digest.Digest, error) {
	local, err := s.Get(ref)
	if err != nil {
		return "", err
	}
	r, err := a.parse(ref)
	if err != nil {
		return "", err
	}
	if _, err := s.LayerDirs(local); err != nil { // every layer is there
		return "", err
	}
	recs := recordsOf(root)
	if err := recs.read(); err != nil {
		return "", err
	}
	repo := r.Context()
	progress.Printf("The push refers to repository [%s]\n", repoName(r))
	ids := local.Config.RootFS.DiffIDs
	layers := make([]v1.Layer, len(ids))
	for i := range ids {
		if b, ok := recs.blobIn(ids[i], repo.Name()); ok {
			if l, err := a.blobLayer(repo, b); err == nil {
				progress.Layer(ids[i].Encoded()[:12], "", 0).Done("Layer already exists")
				layers[i] = l
				continue
			}
		}
		if layers[i], err = a.pushLayer(s, repo, ids[i], progress); err != nil {
			return "", fmt.Errorf("push %s: %w", ref, err)
		}
	}
	progress.Wait()
	config, err := s.RawConfig(local)
	if err != nil {
		return "", err
	}
	img, err := newPushedImage(config, ids, layers)
	if err != nil {
		return "", fmt.Errorf("push %s: %w", ref, err)
	}
	if err := remote.Write(r, img, a.remoteOptions()...); err != nil {
		return "", fmt.Errorf("push %s: %w", ref, err)
	}
	md, err := img.Digest()
	if err != nil {
		return "", err
	}
	size, err := img.Size()
	if err != nil {
		return "", err
	}
	progress.Printf("%s: digest: %s size: %d\n", r.Identifier(), md, size)
	err = recs.update(func() error {
		for i, l := range layers {
			b, err := blobOf(repo, l)
			if err != nil {
				return err
			}
			recs.addBlob(ids[i], b)
		}
		return recs.addDigest(repoName(r), local.ID, digest.Digest(md.String()))
	})
	return digest.Digest(md.String()), err
}

// pushLayer writes the store's layer id as a tar and sends it, unless the repository has the
// blob that makes.
func (a Access) pushLayer(s *workspace.Store, repo name.Repository, id digest.Digest, progress *bars.Progress) (v1.Layer, error) {
	// go-containerregistry reads it to learn its digests, then again to send it.
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(s.WriteLayer(pw, id)) }()
		return pr, nil
	})
	if err != nil {
		return nil, err
	}
	short := id.Encoded()[:12]
	d, err := l.Digest()
	if err != nil {
		return nil, err
	}
	if _, err := a.blobLayer(repo, blob{Digest: digest.Digest(d.String())}); err == nil {
		progress.Layer(short, "", 0).Done("Layer already exists")
		return l, nil
	}
	size, _ := l.Size()
	bar := progress.Layer(short, "Pushing", size)
	updates := make(chan v1.Update, 16)
	go func() {
		for u := range updates {
			bar.Set(u.Complete)
		}
	}()
	err = remote.WriteLayer(repo, l, append(a.remoteOptions(), remote.WithProgress(updates))...)
	bar.End(err, "Pushed")
	if err != nil {
		return nil, fmt.Errorf("layer %s: %w", id, err)
	}
	return l, nil
}

// blobLayer is the blob b of repo, when the registry still has it (it answers a HEAD).
func (a Access) blobLayer(repo name.Repository, b blob) (v1.Layer, error) {
	l, err := remote.Layer(repo.Digest(b.Digest.String()), a.remoteOptions()...)
	if err != nil {
		return nil, err
	}
	if _, err := l.Size(); err != nil {
		return nil, err
	}
	if b.DiffID == "" { // asked only whether it is there
		return l, nil
	}
	diffID, err := v1.NewHash(b.DiffID.String())
	if err != nil {
		return nil, err
	}
	return knownLayer{Layer: l, diffID: diffID, mediaType: types.MediaType(b.MediaType)}, nil
}

// knownLayer is a blob of the registry whose diff id and media type the records know: what
// go-containerregistry would otherwise learn by downloading it.
type knownLayer struct {
	v1.Layer
	diffID    v1.Hash
	mediaType types.MediaType
}

func (k knownLayer) DiffID() (v1.Hash, error)            { return k.diffID, nil }
func (k knownLayer) MediaType() (types.MediaType, error) { return k.mediaType, nil }

// blobOf is what the records keep of layer l as a blob of repo.
func blobOf(repo name.Repository, l v1.Layer) (blob, error) {
	d, err := l.Digest()
	if err != nil {
		return blob{}, err
	}
	diffID, err := l.DiffID()
	if err != nil {
		return blob{}, err
	}
	size, err := l.Size()
	if err != nil {
		return blob{}, err
	}
	mt, err := l.MediaType()
	if err != nil {
		return blob{}, err
	}
	return blob{Repository: repo.Name(), Digest: digest.Digest(d.String()), DiffID: digest.Digest(diffID.String()), Size: size, MediaType: string(mt)}, nil
}

// familiarName is the reference as Docker's messages name it: NAME:TAG or NAME@DIGEST, NAME
// as the store names it (repoName).
func familiarName(r name.Reference) string {
	if _, ok := r.(name.Digest); ok {
		return repoName(r) + "@" + r.Identifier()
	}
	return repoName(r) + ":" + r.Identifier()
}

// fullName is the reference with its registry, as docker pull's last line names it: Docker
// Hub's as docker.io/library/busybox:latest.
func fullName(r name.Reference) string {
	repo := r.Context()
	reg := repo.RegistryStr()
	if reg == name.DefaultRegistry {
		reg = "docker.io"
	}
	sep := ":"
	if _, ok := r.(name.Digest); ok {
		sep = "@"
	}
	return reg + "/" + repo.RepositoryStr() + sep + r.Identifier()
}

// repoName is a reference's repository as the store names it (docker.io/library/x is x).
func repoName(r name.Reference) string {
	full := r.Context().Name()
	if norm, err := workspace.NormalizeRef(full); err == nil {
		return norm[:len(norm)-len(":latest")]
	}
	return full
}
