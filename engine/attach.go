package engine

import (
	"fmt"
	"io"
	"net"

	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/internal/peercred"
)

// A container made with -i and run by a monitor (run -di, create -i) reads its stdin from a
// pipe the monitor holds; start -ai and attach send the user's input to it through a unix
// socket the monitor listens on. The socket is abstract (no path: a container directory's
// path can be longer than a socket path may be) and answers root alone.

func stdinSocket(id string) string { return "@mydocker-stdin-" + id }

// serveStdin passes what attachers send on to w, the container's stdin: a pipe, which the
// first attacher's end of input closes (the container reads EOF, as Docker's StdinOnce), or a
// terminal, which stays open. stop ends the listening.
func serveStdin(id string, w io.WriteCloser, closeOnEOF bool) (stop func(), err error) {
	l, err := net.Listen("unix", stdinSocket(id))
	if err != nil {
		return nil, fmt.Errorf("listen for stdin attachers: %w", err)
	}
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			if !peercred.FromRoot(conn) {
				conn.Close()
				continue
			}
			io.Copy(w, conn)
			conn.Close()
			if closeOnEOF {
				w.Close()
				l.Close()
				return
			}
		}
	}()
	return func() { l.Close() }, nil
}

// AttachStdin connects to a running container's stdin (made with -i); closing the write side
// of the connection ends the container's input.
func (e *Engine) AttachStdin(ref string) (*net.UnixConn, error) {
	st, err := e.Get(ref)
	if err != nil {
		return nil, err
	}
	if !st.OpenStdin {
		return nil, fmt.Errorf("container %s was not made with -i: it has no stdin to attach to", container.ShortID(st.ID))
	}
	conn, err := net.Dial("unix", stdinSocket(st.ID))
	if err != nil {
		return nil, fmt.Errorf("attach to the stdin of %s: %w", container.ShortID(st.ID), err)
	}
	return conn.(*net.UnixConn), nil
}
