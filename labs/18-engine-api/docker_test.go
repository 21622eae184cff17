package engineapi

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/mydocker/mydocker/engine"
	"github.com/mydocker/mydocker/internal/busybox"
	"github.com/mydocker/mydocker/internal/labtest"
	"github.com/mydocker/mydocker/mydocker/api"
	"github.com/mydocker/mydocker/workspace/registry"
)

// The engine runs this test binary again: as each container's monitor, and as its init.
func TestMain(m *testing.M) {
	if engine.Reexec() {
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// server is the Engine API served by this test over an engine of its own, on a unix socket,
// its streams framed by your WriteFrame: chapter 18's server, as ch18 system service runs it.
type server struct {
	t      *testing.T
	e      *engine.Engine
	sock   string
	docker string // the docker CLI
	home   string // its HOME: no configuration of yours reaches it
	bin    string // the busybox the image holds, as /bin/busybox
}

func serve(t *testing.T) *server {
	labtest.RequiresRoot(t)
	s := &server{t: t, sock: filepath.Join(t.TempDir(), "api.sock"), home: t.TempDir()}
	// Debian's docker.io (make deps installs it), else the first docker on the PATH.
	s.docker = "/usr/bin/docker"
	if _, err := os.Stat(s.docker); err != nil {
		if s.docker, err = exec.LookPath("docker"); err != nil {
			t.Fatal("needs the docker CLI: apt-get install docker.io (make deps)")
		}
	}
	var err error
	if s.bin, err = busybox.Find(); err != nil {
		t.Fatal(err)
	}
	if s.e, err = engine.New(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	var image bytes.Buffer
	if err := busybox.WriteTar(&image, s.bin); err != nil {
		t.Fatal(err)
	}
	if _, err := s.e.Images().Import(&image, "busybox", nil); err != nil {
		t.Fatal(err)
	}
	api.Seams.WriteFrame = WriteFrame
	l, err := net.Listen("unix", s.sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: api.New(s.e, "lab18", registry.Access{})}
	go srv.Serve(l)
	t.Cleanup(func() {
		srv.Close()
		api.Seams.WriteFrame = nil
		containers, err := s.e.List()
		if err != nil {
			t.Errorf("cleanup: list the containers: %v", err)
		}
		for _, c := range containers {
			if err := s.e.Remove(c.ID, true); err != nil {
				t.Errorf("cleanup: remove container %s: %v", c.Name, err)
			}
		}
	})
	return s
}

// run runs the docker CLI against the server, bounded to a minute, and returns what it wrote
// to its stdout and its stderr apart, and its exit status.
func (s *server) run(args ...string) (stdout, stderr string, code int) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.docker, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + s.home, "DOCKER_HOST=unix://" + s.sock}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		s.t.Fatalf("docker %q still runs after a minute: the stream it reads never ended (HINTS.md, \"docker\")", args)
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		s.t.Fatalf("docker %q: %v", args, err)
	}
	return out.String(), errOut.String(), code
}

// TestDockerRun: docker run attaches to the container before it starts it; its output comes
// back on that connection in your frames, and the docker CLI splits it apart.
func TestDockerRun(t *testing.T) {
	s := serve(t)
	out, errOut, code := s.run("run", "--rm", "--net", "none", "busybox", "sh", "-c", "echo to stdout; echo to stderr >&2; exit 3")
	if out != "to stdout\n" || errOut != "to stderr\n" || code != 3 {
		t.Errorf("docker run of a container that writes a line to each output and exits 3: stdout %q, stderr %q, exit status %d; "+
			"want \"to stdout\\n\", \"to stderr\\n\", 3 (HINTS.md, \"docker\")", out, errOut, code)
	}
}

// TestDockerLogs: docker logs reads the container's log in your frames, each line on its
// stream; and ReadFrames reads the server's own frames of the same log, as docker logs does.
func TestDockerLogs(t *testing.T) {
	s := serve(t)
	if _, errOut, code := s.run("run", "--name", "lab18-logs", "--net", "none", "busybox", "sh", "-c", "echo one; echo two >&2; echo three"); code != 0 {
		t.Fatalf("docker run: exit status %d: %s", code, errOut)
	}
	out, errOut, code := s.run("logs", "lab18-logs")
	if out != "one\nthree\n" || errOut != "two\n" || code != 0 {
		t.Errorf("docker logs: stdout %q, stderr %q, exit status %d; want \"one\\nthree\\n\", \"two\\n\", 0 (HINTS.md, \"docker\")", out, errOut, code)
	}

	api.Seams.WriteFrame = nil // the server's own frames, for your reader
	defer func() { api.Seams.WriteFrame = WriteFrame }()
	client := http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", s.sock)
	}}}
	resp, err := client.Get("http://mydocker/v1.41/containers/lab18-logs/logs?stdout=1&stderr=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, errOut, err = read(t, resp.Body)
	if err != nil || out != "one\nthree\n" || errOut != "two\n" {
		t.Errorf("ReadFrames of GET /containers/lab18-logs/logs: stdout %q, stderr %q, %v; want \"one\\nthree\\n\", \"two\\n\" (HINTS.md, \"header\")", out, errOut, err)
	}
}

// TestDockerExec: a command's output through docker exec, in your frames: busybox itself,
// over a megabyte, must come out byte for byte, and the two outputs apart.
func TestDockerExec(t *testing.T) {
	s := serve(t)
	if _, errOut, code := s.run("run", "-d", "--name", "lab18-exec", "--net", "none", "busybox", "sleep", "1000"); code != 0 {
		t.Fatalf("docker run -d: exit status %d: %s", code, errOut)
	}
	want, err := os.ReadFile(s.bin)
	if err != nil {
		t.Fatal(err)
	}
	out, errOut, code := s.run("exec", "lab18-exec", "cat", "/bin/busybox")
	if out != string(want) || code != 0 {
		t.Errorf("docker exec cat /bin/busybox: %d bytes (exit status %d, stderr %q), want the %d bytes of %s (HINTS.md, \"large\")", len(out), code, errOut, len(want), s.bin)
	}
	out, errOut, code = s.run("exec", "lab18-exec", "sh", "-c", "echo out; echo err >&2; exit 2")
	if out != "out\n" || errOut != "err\n" || code != 2 {
		t.Errorf("docker exec of a command that writes to each output and exits 2: stdout %q, stderr %q, exit status %d; want \"out\\n\", \"err\\n\", 2 (HINTS.md, \"docker\")", out, errOut, code)
	}
}
