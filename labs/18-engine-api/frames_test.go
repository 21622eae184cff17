package engineapi

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"

	"github.com/mydocker/mydocker/mydocker/api"
)

// frame is one frame as the API defines it, built here byte by byte: the stream, three zero
// bytes, the payload's length (big-endian), the payload.
func frame(stream byte, payload string) []byte {
	b := []byte{stream, 0, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[4:], uint32(len(payload)))
	return append(b, payload...)
}

// large is a payload bigger than 64 KiB, 70 000 bytes: its length needs the third byte of the
// four (00 01 11 70).
var large = strings.Repeat("0123456789abcdef", 70000/16)

// write is your WriteFrame of p, its "not implemented" and a panic a failure.
func write(t *testing.T, w io.Writer, stream byte, p []byte) error {
	t.Helper()
	var err error
	func() {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("WriteFrame panicked: %v", r)
			}
		}()
		err = WriteFrame(w, stream, p)
	}()
	if err != nil && strings.HasPrefix(err.Error(), "not implemented") {
		t.Fatal(err)
	}
	return err
}

func TestWriteFrame(t *testing.T) {
	for _, c := range []struct {
		name    string
		stream  byte
		payload string
		hint    string
	}{
		{"stdout", api.Stdout, "hello\n", "header"},
		{"stderr", api.Stderr, "oops\n", "header"},
		{"an empty payload: the header alone", api.Stdout, "", "empty"},
		{"256 bytes: the length is big-endian", api.Stderr, strings.Repeat("x", 256), "big-endian"},
		{"more than 64 KiB, in one frame", api.Stdout, large, "large"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got bytes.Buffer
			if err := write(t, &got, c.stream, []byte(c.payload)); err != nil {
				t.Fatalf("WriteFrame(%d, %d bytes) = %v", c.stream, len(c.payload), err)
			}
			want := frame(c.stream, c.payload)
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("WriteFrame(%d, %d bytes) wrote %d bytes starting % x, want %d bytes starting % x (HINTS.md, %q)",
					c.stream, len(c.payload), got.Len(), head(got.Bytes()), len(want), head(want), c.hint)
			}
		})
	}
}

// head is what a message shows of a frame: its header and a few bytes more.
func head(b []byte) []byte {
	if len(b) > 12 {
		return b[:12]
	}
	return b
}

// TestDockerReadsYourFrames: the frames your WriteFrame writes, one stream after the other as
// a container writes them, read back by docker's own reader (pkg/stdcopy, what the docker CLI
// runs on the connection).
func TestDockerReadsYourFrames(t *testing.T) {
	writes := []struct {
		stream byte
		p      string
	}{{api.Stdout, "one\n"}, {api.Stderr, "warning: two\n"}, {api.Stdout, ""}, {api.Stdout, large}, {api.Stderr, "three\n"}, {api.Stdout, "four"}}
	var conn, wantOut, wantErr bytes.Buffer
	for _, w := range writes {
		if err := write(t, &conn, w.stream, []byte(w.p)); err != nil {
			t.Fatalf("WriteFrame(%d, %q): %v", w.stream, head([]byte(w.p)), err)
		}
		if w.stream == api.Stdout {
			wantOut.WriteString(w.p)
		} else {
			wantErr.WriteString(w.p)
		}
	}
	var out, errOut bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &errOut, &conn); err != nil {
		t.Fatalf("docker's reader: %v (HINTS.md, \"header\")", err)
	}
	if out.String() != wantOut.String() || errOut.String() != wantErr.String() {
		t.Errorf("docker read %d bytes of stdout and %q of stderr, want %d bytes and %q (HINTS.md, \"header\")",
			out.Len(), errOut.String(), wantOut.Len(), wantErr.String())
	}
}

// failingWriter is a client gone: it takes n bytes, then every write fails. It counts the
// writes tried after one failed.
type failingWriter struct {
	n      int
	failed bool
	after  int
}

var errGone = errors.New("write unix ch18.sock: broken pipe")

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.failed {
		f.after++
		return 0, errGone
	}
	if len(p) <= f.n {
		f.n -= len(p)
		return len(p), nil
	}
	n := f.n
	f.n, f.failed = 0, true
	return n, errGone
}

func TestWriteFrameToAClientGone(t *testing.T) {
	for _, n := range []int{0, 4, 8, 10} {
		t.Run(fmt.Sprintf("gone after %d bytes", n), func(t *testing.T) {
			w := &failingWriter{n: n}
			err := write(t, w, api.Stdout, []byte("hello, anyone?\n"))
			if !errors.Is(err, errGone) {
				t.Errorf("WriteFrame to a client gone after %d bytes = %v, want the write's error (%v): the server stops sending on it (HINTS.md, \"error\")", n, err, errGone)
			}
			if w.after > 0 {
				t.Errorf("WriteFrame wrote again after a write failed: a payload without its header would put the stream out of step (HINTS.md, \"error\")")
			}
		})
	}
}

// read is your ReadFrames of r, bounded in time, its "not implemented" and a panic a failure.
func read(t *testing.T, r io.Reader) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("ReadFrames panicked: %v", r)
			}
		}()
		done <- ReadFrames(r, &out, &errOut)
	}()
	select {
	case err = <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("ReadFrames has not returned after 5 seconds, at the end of its stream (HINTS.md, \"end\")")
	}
	if err != nil && strings.HasPrefix(err.Error(), "not implemented") {
		t.Fatal(err)
	}
	return out.String(), errOut.String(), err
}

// stream is what a server sends for a container that writes to both outputs: an empty frame
// and one of more than 64 KiB among them.
func stream() (conn []byte, stdout, stderr string) {
	for _, f := range []struct {
		stream byte
		p      string
	}{{1, "one\n"}, {2, "warning: two\n"}, {1, ""}, {1, large}, {2, "three\n"}, {1, "four"}} {
		conn = append(conn, frame(f.stream, f.p)...)
		if f.stream == 1 {
			stdout += f.p
		} else {
			stderr += f.p
		}
	}
	return conn, stdout, stderr
}

func TestReadFrames(t *testing.T) {
	conn, wantOut, wantErr := stream()
	for _, c := range []struct {
		name string
		r    io.Reader
		hint string
	}{
		{"at once", bytes.NewReader(conn), "header"},
		{"a byte at a time, as a slow connection gives it", iotest.OneByteReader(bytes.NewReader(conn)), "partial"},
		{"half of what is asked, each read", iotest.HalfReader(bytes.NewReader(conn)), "partial"},
		{"with the last read's EOF", iotest.DataErrReader(bytes.NewReader(conn)), "end"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, errOut, err := read(t, c.r)
			if err != nil {
				t.Fatalf("ReadFrames: %v (HINTS.md, %q)", err, c.hint)
			}
			if out != wantOut || errOut != wantErr {
				t.Errorf("ReadFrames wrote %d bytes to stdout and %q to stderr, want %d bytes and %q (HINTS.md, %q)",
					len(out), errOut, len(wantOut), wantErr, c.hint)
			}
		})
	}
}

// TestReadTheServersFrames reads what the server's own WriteFrame writes.
func TestReadTheServersFrames(t *testing.T) {
	var conn bytes.Buffer
	api.WriteFrame(&conn, api.Stdout, []byte("hello\n"))
	api.WriteFrame(&conn, api.Stderr, []byte("oops\n"))
	out, errOut, err := read(t, &conn)
	if err != nil || out != "hello\n" || errOut != "oops\n" {
		t.Errorf("ReadFrames of the server's frames: stdout %q, stderr %q, %v; want \"hello\\n\", \"oops\\n\" (HINTS.md, \"header\")", out, errOut, err)
	}
}

func TestReadFramesCut(t *testing.T) {
	whole := frame(1, "whole\n")
	for _, c := range []struct {
		name string
		conn []byte
	}{
		{"inside a header", append(whole, frame(2, "cut\n")[:5]...)},
		{"inside a payload", append(whole, frame(2, "cut\n")[:10]...)},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, errOut, _ := read(t, bytes.NewReader(c.conn))
			if out != "whole\n" || errOut != "" {
				t.Errorf("ReadFrames of a stream cut %s: stdout %q, stderr %q; want \"whole\\n\" and nothing of the cut frame (HINTS.md, \"end\")", c.name, out, errOut)
			}
		})
	}
}

func TestReadFramesErrors(t *testing.T) {
	t.Run("the server's error, stream 3", func(t *testing.T) {
		conn := append(frame(1, "before\n"), frame(3, "the container's log is gone")...)
		out, _, err := read(t, bytes.NewReader(conn))
		if err == nil || !strings.Contains(err.Error(), "the container's log is gone") {
			t.Errorf("ReadFrames of a stream-3 frame = %v, want an error with its payload in the message (HINTS.md, \"stream 3\")", err)
		}
		if out != "before\n" {
			t.Errorf("ReadFrames wrote %q to stdout before the error, want \"before\\n\"", out)
		}
	})
	t.Run("an unknown stream", func(t *testing.T) {
		if _, _, err := read(t, bytes.NewReader(frame(7, "what is this?"))); err == nil {
			t.Errorf("ReadFrames of a frame of stream 7 = <nil>, want an error: that is no stream (HINTS.md, \"unknown\")")
		}
	})
	t.Run("stderr's write fails", func(t *testing.T) {
		done := make(chan error, 1)
		go func() { done <- ReadFrames(bytes.NewReader(frame(2, "oops\n")), io.Discard, &failingWriter{}) }()
		select {
		case err := <-done:
			if !errors.Is(err, errGone) {
				t.Errorf("ReadFrames whose stderr fails = %v, want that write's error (HINTS.md, \"error\")", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("ReadFrames has not returned after 5 seconds")
		}
	})
}
