//go:build !solution

package engineapi

import (
	"errors"
	"io"
)

// WriteFrame writes p to w as one frame of stream (1 stdout, 2 stderr), the way the Docker
// Engine API sends a container's output to a client without a terminal: an 8-byte header —
// the stream's number, three zero bytes, the length of p as a big-endian uint32 — then p
// itself, even when p is empty. The server calls it for each write of the container's
// stdout or stderr, under one lock, on the connection the client reads; when the client is
// gone, a write fails, and that error must come back: the server then stops sending.
func WriteFrame(w io.Writer, stream byte, p []byte) error {
	return errors.New("not implemented: write WriteFrame in labs/18-engine-api/frames.go")
}

// ReadFrames is the client's side, what the docker CLI does with the server's stream (docker's
// pkg/stdcopy): it reads frames from r until r ends and writes each one's payload to stdout
// (stream 1, and 0, which no server sends) or stderr (stream 2). A frame of stream 3 is an
// error the server sent instead of output: ReadFrames returns it, its payload in the message.
// Another stream number is an error too, and so is a failed write. A stream that ends between
// two frames, or inside one (the server went away), is the end: what came whole was written.
func ReadFrames(r io.Reader, stdout, stderr io.Writer) error {
	return errors.New("not implemented: write ReadFrames in labs/18-engine-api/frames.go")
}
