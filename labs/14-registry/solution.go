//go:build solution

package blobs

import (
	"io"

	"github.com/opencontainers/go-digest"

	"github.com/mydocker/mydocker/workspace"
)

// The reference: the image store's own function.

func VerifyBlob(blob io.Reader, want digest.Digest, size int64) io.Reader {
	return workspace.VerifyBlob(blob, want, size)
}
