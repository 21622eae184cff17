package api

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
)

// The streams of a container or an exec go to a client in one of two ways. With a terminal,
// raw: the terminal's bytes as they come. Without, multiplexed: stdout and stderr share the
// connection, each write framed by an 8-byte header — the stream (1 stdout, 2 stderr), three
// zero bytes, the payload's length as a big-endian uint32 — which the client reads back apart
// (docker's pkg/stdcopy). attach and exec start take the whole connection over (hijack): the
// client's stdin comes on it, raw, and the streams go back on it.

// Stream numbers in a frame's header.
const (
	Stdin  byte = 0
	Stdout byte = 1
	Stderr byte = 2
)

// WriteFrame writes p as one frame of stream to w: the header, then p. Lab 18 asks a learner
// to write it: the chapter's server frames its streams with the learner's (Seams.WriteFrame).
func WriteFrame(w io.Writer, stream byte, p []byte) error {
	var header [8]byte
	header[0] = stream
	binary.BigEndian.PutUint32(header[4:], uint32(len(p)))
	if _, err := w.Write(header[:]); err != nil {
		return err
	}
	_, err := w.Write(p)
	return err
}

// Seams is lab 18's function (see container.Seams for how a chapter's program uses them): nil,
// the package's own.
var Seams struct {
	WriteFrame func(w io.Writer, stream byte, p []byte) error
}

// output is where a container's or an exec's streams go: framed apart (multiplexed) or raw,
// each write flushed at once. One lock for both streams: frames never interleave.
type output struct {
	mu      sync.Mutex
	w       io.Writer
	flush   func()
	framed  bool
	failed  error
	gone    chan struct{} // closed once a write failed: the client is gone
	stdout  io.Writer
	stderrW io.Writer
}

func newOutput(w io.Writer, flush func(), framed bool) *output {
	o := &output{w: w, flush: flush, framed: framed, gone: make(chan struct{})}
	o.stdout = &streamWriter{o, Stdout}
	o.stderrW = &streamWriter{o, Stderr}
	return o
}

type streamWriter struct {
	o      *output
	stream byte
}

func (s *streamWriter) Write(p []byte) (int, error) {
	o := s.o
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.failed != nil {
		return 0, o.failed
	}
	var err error
	if o.framed {
		write := WriteFrame
		if f := Seams.WriteFrame; f != nil {
			write = f
		}
		err = write(o.w, s.stream, p)
	} else {
		_, err = o.w.Write(p)
	}
	if err == nil && o.flush != nil {
		o.flush()
	}
	if err != nil {
		o.failed = err
		close(o.gone)
		return 0, err
	}
	return len(p), nil
}

// hijacked is a connection taken over from the HTTP server for a stream.
type hijacked struct {
	conn net.Conn
	buf  *bufio.ReadWriter
}

// hijack takes the request's connection over, answering as dockerd does: 101 UPGRADED when
// the client asked to upgrade it (the docker CLI does), 200 otherwise, with the stream's
// content type.
func hijack(w http.ResponseWriter, r *http.Request, framed bool) (*hijacked, error) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return nil, fmt.Errorf("the connection cannot be taken over for a stream")
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		return nil, fmt.Errorf("take the connection over: %w", err)
	}
	contentType := "application/vnd.docker.raw-stream"
	if framed && !versionLess(apiVersion(r), "1.42") {
		contentType = "application/vnd.docker.multiplexed-stream"
	}
	if r.Header.Get("Upgrade") != "" {
		fmt.Fprintf(buf, "HTTP/1.1 101 UPGRADED\r\nContent-Type: %s\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n", contentType)
	} else {
		fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\n\r\n", contentType)
	}
	if err := buf.Flush(); err != nil {
		conn.Close()
		return nil, err
	}
	return &hijacked{conn: conn, buf: buf}, nil
}

// output is where the streams go on the hijacked connection.
func (h *hijacked) output(framed bool) *output {
	return newOutput(h.conn, nil, framed)
}

// stdin is what the client sends on the connection: what the HTTP server had read ahead
// first.
func (h *hijacked) stdin() io.Reader { return h.buf.Reader }

// closeWrite tells the client the streams ended (it reads EOF), leaving its stdin open.
func (h *hijacked) closeWrite() {
	if cw, ok := h.conn.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
		return
	}
	h.conn.Close()
}

// streamResponse starts a streamed response (logs, events, progress): each write reaches the
// client at once.
func streamResponse(w http.ResponseWriter, contentType string) (io.Writer, func()) {
	// A build, a load or an import reads its body while it answers: Go's server would close
	// the body at the first write otherwise.
	http.NewResponseController(w).EnableFullDuplex()
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(http.StatusOK)
	flush := func() {}
	if f, ok := w.(http.Flusher); ok {
		flush = f.Flush
		flush()
	}
	return w, flush
}
