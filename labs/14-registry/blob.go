//go:build !solution

package blobs

import (
	"errors"
	"io"

	"github.com/opencontainers/go-digest"
)

// VerifyBlob returns a reader of blob that checks, as the blob ends, that it was the one the
// manifest names: size bytes whose digest is want ("sha256:..."; want.Algorithm() knows its
// hash). It passes the bytes on as they come — the engine unpacks a layer while it downloads
// it, and a layer can be gigabytes — and, when blob ends, returns instead of io.EOF an error
// wrapping workspace.ErrBlobMismatch if the bytes were other ones (their digest is not want),
// or more or fewer than size. It reads at most size+1 bytes of blob: one more shows a blob is
// longer. An invalid want is an error on the first Read. Once it has returned an error, every
// later Read returns the same one.
func VerifyBlob(blob io.Reader, want digest.Digest, size int64) io.Reader {
	return failing{errors.New("not implemented: write VerifyBlob in labs/14-registry/blob.go")}
}

type failing struct{ err error }

func (f failing) Read([]byte) (int, error) { return 0, f.err }
