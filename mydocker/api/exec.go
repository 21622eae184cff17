package api

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"

	mobyctr "github.com/moby/moby/api/types/container"
	"golang.org/x/sys/unix"

	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/engine"
)

var errNoSuchExec = errors.New("no such exec instance")

// An exec instance is what POST /containers/{name}/exec makes and POST /exec/{id}/start runs:
// the server keeps it, in memory, until a while after it ended, for its exit status.
type execInstance struct {
	id, containerID string
	opts            engine.ExecOptions
	attach          struct{ stdin, stdout, stderr bool }

	mu       sync.Mutex
	started  bool
	running  bool
	exitCode *int
	pid      int
	pty      *os.File // its terminal, while it runs (resize)
}

type execs struct {
	mu sync.Mutex
	m  map[string]*execInstance
}

func (x *execs) add(i *execInstance) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.m == nil {
		x.m = map[string]*execInstance{}
	}
	x.m[i.id] = i
}

func (x *execs) get(id string) (*execInstance, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if i, ok := x.m[id]; ok {
		return i, nil
	}
	return nil, errNoSuchExec
}

// execCreate is POST /containers/{name}/exec.
func (s *Server) execCreate(w http.ResponseWriter, r *http.Request) error {
	var req mobyctr.ExecCreateRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if len(req.Cmd) == 0 {
		return badRequest("no exec command specified")
	}
	st, err := s.e.Get(r.PathValue("name"))
	if err != nil {
		return err
	}
	if st.Status != engine.Running {
		return &apiError{http.StatusConflict, errors.New("container " + st.ID + " is not running")}
	}
	b := make([]byte, 32)
	rand.Read(b)
	i := &execInstance{id: hex.EncodeToString(b), containerID: st.ID, opts: engine.ExecOptions{
		Cmd: req.Cmd, Env: req.Env, Workdir: req.WorkingDir, User: req.User, Privileged: req.Privileged,
		Interactive: req.AttachStdin, Tty: req.Tty,
	}}
	i.attach.stdin, i.attach.stdout, i.attach.stderr = req.AttachStdin, req.AttachStdout, req.AttachStderr
	s.execs.add(i)
	writeJSON(w, http.StatusCreated, mobyctr.ExecCreateResponse{ID: i.id})
	return nil
}

// execStart is POST /exec/{id}/start: the connection taken over, the command's streams on it
// (framed unless it has a terminal), its stdin from it; the command's end ends the stream.
// Detached, it runs on its own and the answer is at once.
func (s *Server) execStart(w http.ResponseWriter, r *http.Request) error {
	i, err := s.execs.get(r.PathValue("id"))
	if err != nil {
		return err
	}
	var req mobyctr.ExecStartRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	i.mu.Lock()
	if i.started {
		i.mu.Unlock()
		return &apiError{http.StatusConflict, errors.New("exec " + i.id + " has already been started")}
	}
	i.started = true
	i.mu.Unlock()

	// The command's ends: pipes, or its terminal.
	var stdio container.Stdio
	var outR, errR, inW *os.File
	closeAll := func(files ...*os.File) {
		for _, f := range files {
			if f != nil {
				f.Close()
			}
		}
	}
	if !i.opts.Tty {
		if outR, stdio.Stdout, err = os.Pipe(); err != nil {
			return err
		}
		if errR, stdio.Stderr, err = os.Pipe(); err != nil {
			closeAll(outR, stdio.Stdout)
			return err
		}
		if i.attach.stdin && !req.Detach {
			if stdio.Stdin, inW, err = os.Pipe(); err != nil {
				closeAll(outR, stdio.Stdout, errR, stdio.Stderr)
				return err
			}
		}
	}
	// An attached exec takes the connection over before the command starts, as dockerd's:
	// a client that reads the response's head through a buffer (docker-py's, docker-compose's)
	// loses what arrives with it, and the command's first words would.
	var h *hijacked
	if !req.Detach {
		if h, err = hijack(w, r, !i.opts.Tty); err != nil {
			closeAll(outR, stdio.Stdout, errR, stdio.Stderr, stdio.Stdin, inW)
			return nil
		}
		defer h.conn.Close()
	}
	opts := i.opts
	opts.Interactive = i.attach.stdin && !req.Detach
	p, err := s.e.StartExec(i.containerID, opts, stdio)
	closeAll(stdio.Stdout, stdio.Stderr, stdio.Stdin) // the command has its own
	if err != nil {
		closeAll(outR, errR, inW)
		code := 126 // the command could not be invoked, as dockerd records it
		var se *container.StartError
		if errors.As(err, &se) {
			code = se.Code
		}
		i.mu.Lock()
		i.exitCode = &code
		i.mu.Unlock()
		if h == nil {
			return err
		}
		// The response has gone: the error is told on the stream, as dockerd tells it.
		fmt.Fprintf(h.output(!i.opts.Tty).stdout, "%s\r\n", err)
		h.closeWrite()
		return nil
	}
	i.mu.Lock()
	i.running, i.pid, i.pty = true, p.Pid(), p.Pty()
	i.mu.Unlock()
	finish := func() int {
		code := p.Wait()
		i.mu.Lock()
		i.running, i.exitCode, i.pty = false, &code, nil
		i.mu.Unlock()
		return code
	}
	if req.Detach {
		closeAll(outR, errR)
		go finish()
		w.WriteHeader(http.StatusOK)
		return nil
	}
	out := h.output(!i.opts.Tty)
	var copiers sync.WaitGroup
	copyOut := func(dst io.Writer, src io.Reader) {
		copiers.Add(1)
		go func() {
			defer copiers.Done()
			if _, err := io.Copy(dst, src); err != nil {
				// The client is gone: the rest is dropped, so that the command never blocks
				// on a full pipe and its end still ends this request.
				io.Copy(io.Discard, src)
			}
		}()
	}
	if pty := p.Pty(); pty != nil {
		if i.attach.stdin {
			go io.Copy(pty, h.stdin())
		}
		copyOut(out.stdout, pty) // ends with EIO once the command's side is closed
	} else {
		if inW != nil {
			go func() { io.Copy(inW, h.stdin()); inW.Close() }()
		}
		copyOut(streamOrDiscard(out.stdout, i.attach.stdout), outR)
		copyOut(streamOrDiscard(out.stderrW, i.attach.stderr), errR)
	}
	finish()
	copiers.Wait()
	closeAll(outR, errR)
	if pty := p.Pty(); pty != nil {
		pty.Close()
	}
	h.closeWrite()
	return nil
}

func streamOrDiscard(w io.Writer, attach bool) io.Writer {
	if attach {
		return w
	}
	return io.Discard
}

// execInspect is GET /exec/{id}/json: whether it runs, and how it ended.
func (s *Server) execInspect(w http.ResponseWriter, r *http.Request) error {
	i, err := s.execs.get(r.PathValue("id"))
	if err != nil {
		return err
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	resp := mobyctr.ExecInspectResponse{ID: i.id, ContainerID: i.containerID, Running: i.running, ExitCode: i.exitCode,
		OpenStdin: i.attach.stdin, OpenStdout: i.attach.stdout, OpenStderr: i.attach.stderr, Pid: i.pid,
		ProcessConfig: &mobyctr.ExecProcessConfig{Tty: i.opts.Tty, User: i.opts.User, Privileged: &i.opts.Privileged}}
	if len(i.opts.Cmd) > 0 {
		resp.ProcessConfig.Entrypoint, resp.ProcessConfig.Arguments = i.opts.Cmd[0], i.opts.Cmd[1:]
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// execResize is POST /exec/{id}/resize?h=&w=.
func (s *Server) execResize(w http.ResponseWriter, r *http.Request) error {
	i, err := s.execs.get(r.PathValue("id"))
	if err != nil {
		return err
	}
	rows, cols, err := size(r)
	if err != nil {
		return err
	}
	i.mu.Lock()
	pty := i.pty
	i.mu.Unlock()
	if pty == nil {
		return &apiError{http.StatusConflict, errors.New("exec " + i.id + " has no terminal running")}
	}
	if err := unix.IoctlSetWinsize(int(pty.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
