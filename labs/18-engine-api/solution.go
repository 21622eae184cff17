//go:build solution

package engineapi

import (
	"io"

	"github.com/moby/moby/api/pkg/stdcopy"

	"github.com/mydocker/mydocker/mydocker/api"
)

// The reference: the server's own frame writer, and the reader docker's clients use.

func WriteFrame(w io.Writer, stream byte, p []byte) error { return api.WriteFrame(w, stream, p) }

func ReadFrames(r io.Reader, stdout, stderr io.Writer) error {
	_, err := stdcopy.StdCopy(stdout, stderr, r)
	return err
}
