package registry

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/opencontainers/go-digest"

	"github.com/mydocker/mydocker/workspace"
)

// blobs reads the blobs of one repository. Its client went through the token dance once:
// go-containerregistry's transport (transport.NewWithContext) asks GET /v2/, and when the
// registry answers 401 with a challenge — Bearer realm="https://auth.example/token",
// service=..., as Docker Hub does — gets a token for the repository's pull scope from the
// realm (with the credentials docker login stored, or none), then signs every request with
// it; Basic: the credentials themselves. Then GET /v2/NAME/blobs/DIGEST is a plain request.
type blobs struct {
	repo   name.Repository
	client *http.Client
}

func (a Access) blobsOf(repo name.Repository) (*blobs, error) {
	ctx := context.Background()
	auth, err := authn.Resolve(ctx, a.keychain(), repo)
	if err != nil {
		return nil, err
	}
	t, err := transport.NewWithContext(ctx, repo.Registry, auth, a.transport(), []string{repo.Scope(transport.PullScope)})
	if err != nil {
		return nil, err
	}
	return &blobs{repo: repo, client: &http.Client{Transport: t}}, nil
}

// get is GET /v2/NAME/blobs/DIGEST: the blob as the registry (or the storage it redirects to)
// sends it, unchecked: the caller checks it as it reads it (AddBlob).
func (b *blobs) get(d digest.Digest) (io.ReadCloser, error) {
	u := url.URL{Scheme: b.repo.Scheme(), Host: b.repo.RegistryStr(), Path: fmt.Sprintf("/v2/%s/blobs/%s", b.repo.RepositoryStr(), d)}
	resp, err := b.client.Get(u.String())
	if err != nil {
		return nil, err
	}
	if err := transport.CheckError(resp, http.StatusOK); err != nil {
		resp.Body.Close()
		return nil, err
	}
	return resp.Body, nil
}

// AddBlob unpacks the layer blob (gzip, zstd or a plain tar) into the store, held by lease
// until the image is recorded, and returns its diff id. The blob is checked as it is read
// against the digest and the size the manifest gives (workspace.CheckedBlob), and read to its
// end before the store commits the layer: a blob that is not the one the manifest names
// leaves nothing in the store.
func AddBlob(lease *workspace.Lease, blob io.Reader, want digest.Digest, size int64) (digest.Digest, error) {
	checked := bufio.NewReaderSize(workspace.CheckedBlob(blob, want, size), 1<<16)
	tar, err := decompress(checked)
	if err != nil {
		return "", err
	}
	defer tar.Close()
	d, err := lease.AddLayer(&drainAfter{tar: tar, blob: checked})
	if err != nil {
		// A blob damaged on its way most often breaks its tar before the blob's end, where
		// its digest is checked: when that fails too, it says what went wrong (unless that
		// is already what stopped the store).
		if _, derr := io.Copy(io.Discard, checked); derr != nil && !errors.Is(err, derr) {
			return "", fmt.Errorf("%w (its tar: %v)", derr, err)
		}
	}
	return d, err
}
