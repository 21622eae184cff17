package main

import (
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The races of several mydocker processes on one root (and of two roots on one host), each
// opened on purpose: one process is held inside its window (internal/faults, MYDOCKER_PAUSE)
// while another does what used to win the race.

// paused is a mydocker process held at a point (faults.Point) until go on is called.
type paused struct {
	cmd      *exec.Cmd
	out, err bytes.Buffer
	fifo     *os.File
	done     chan error
}

// pausedAt starts mydocker args and returns once it is held at point. It fails the test if the
// process ends before it gets there, or does not get there within a minute.
func (e *engineEnv) pausedAt(point string, args ...string) *paused {
	e.t.Helper()
	fifo := filepath.Join(e.t.TempDir(), "pause")
	require.NoError(e.t, syscall.Mkfifo(fifo, 0o600))
	p := &paused{cmd: e.cmd(args...), done: make(chan error, 1)}
	p.cmd.Env = append(os.Environ(), "MYDOCKER_PAUSE="+point+":"+fifo)
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.err
	require.NoError(e.t, p.cmd.Start())
	go func() { p.done <- p.cmd.Wait() }()
	opened := make(chan *os.File, 1)
	go func() { // the open for writing returns once the process opened it for reading: it is there
		f, _ := os.OpenFile(fifo, os.O_WRONLY, 0)
		opened <- f
	}()
	select {
	case p.fifo = <-opened:
		e.t.Cleanup(func() { // a test that failed before goOn: let it end
			p.fifo.Close()
			select {
			case <-p.done:
			case <-time.After(time.Minute):
				p.cmd.Process.Kill()
			}
		})
		return p
	case err := <-p.done:
		if f, ferr := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0); ferr == nil { // let the opener go
			(<-opened).Close()
			f.Close()
		}
		e.t.Fatalf("mydocker %s ended before %s: %v: %s", strings.Join(args, " "), point, err, p.err.String())
	case <-time.After(time.Minute):
		p.cmd.Process.Kill()
		e.t.Fatalf("mydocker %s did not reach %s in a minute", strings.Join(args, " "), point)
	}
	return nil
}

// goOn lets the process go on and returns how it ended.
func (p *paused) goOn(t *testing.T) result {
	t.Helper()
	p.fifo.Close()
	var err error
	select {
	case err = <-p.done:
	case <-time.After(time.Minute):
		p.cmd.Process.Kill()
		err = <-p.done
		t.Errorf("mydocker did not end within a minute of going on")
	}
	p.done <- err // for the cleanup
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	}
	return result{stdout: p.out.String(), stderr: p.err.String(), code: code}
}

// A volume pruned while a container is being made with it: the container holds it from the
// moment it found it, and prune leaves it, data and all. It used to be pruned, and the run
// then mounted an empty directory in its place.
func TestVolumePrunedWhileAContainerIsMadeWithIt(t *testing.T) {
	e := newEngine(t)
	e.must("run", "--rm", "--net", "none", "-v", "data:/data", "busybox", "sh", "-c", "echo before > /data/f")
	p := e.pausedAt("create:held", "run", "--rm", "--net", "none", "-v", "data:/data", "busybox", "cat", "/data/f")
	pruned := e.must("volume", "prune", "-f")
	require.NotContains(t, pruned, "data", "a volume a container is being made with is in use")
	r := p.goOn(t)
	require.Equal(t, 0, r.code, "%s", r)
	require.Equal(t, "before\n", r.stdout, "the volume's data is there")
}

// An image removed (rmi, image prune -a) while a container is being made from it: refused,
// and the container runs. rmi used to delete it, layers and all, under the run.
func TestImageRemovedWhileAContainerIsMadeFromIt(t *testing.T) {
	e := newEngine(t)
	p := e.pausedAt("create:held", "run", "--rm", "--net", "none", "busybox", "echo", "ran")
	r := e.run("rmi", "busybox")
	require.NotEqual(t, 0, r.code, "rmi of an image a container is being made from is refused: %s", r)
	require.Contains(t, r.stderr, "is using it")
	e.must("image", "prune", "-a", "-f")
	require.Contains(t, e.must("images"), "busybox", "prune -a keeps it too")
	r = p.goOn(t)
	require.Equal(t, 0, r.code, "%s", r)
	require.Equal(t, "ran\n", r.stdout)
	e.must("rmi", "busybox") // and once nothing uses it, it goes
}

// Two runs that both find a named volume missing: the first makes it, the second takes it,
// and the first fails. Its rollback used to remove the volume it made from under the second;
// now the second holds it, and the volume stays the one it is.
func TestAFailedRunLeavesAVolumeAnotherHolds(t *testing.T) {
	e := newEngine(t)
	maker := e.pausedAt("create:held", "run", "--rm", "--net", "none", "-u", "nosuchuser", "-v", "shared:/data", "busybox", "true")
	data := filepath.Join(e.root, "volumes", "shared", "_data")
	inode := func() uint64 {
		var st syscall.Stat_t
		require.NoError(t, syscall.Stat(data, &st))
		return st.Ino
	}
	made := inode()
	taker := e.pausedAt("create:held", "run", "--rm", "--net", "none", "-v", "shared:/data", "busybox", "sh", "-c", "echo taken > /data/f")
	r := maker.goOn(t)
	require.Equal(t, 125, r.code, "the user does not exist: %s", r)
	require.Contains(t, r.stderr, "nosuchuser")
	require.Equal(t, made, inode(), "the volume is the one the first run made, not removed and made again")
	r = taker.goOn(t)
	require.Equal(t, 0, r.code, "%s", r)
	require.Equal(t, "taken\n", e.must("run", "--rm", "--net", "none", "-v", "shared:/data", "busybox", "cat", "/data/f"))
	require.Equal(t, made, inode())
}

// A rename while the container's watcher records its exit: each writes what the other wrote.
// The watcher used to read the name before it gave back the container's resources and write
// it back after, undoing a rename made meanwhile: the container was then found by neither
// name.
func TestRenameWhileTheExitIsRecorded(t *testing.T) {
	e := newEngine(t)
	p := e.pausedAt("finish:released", "run", "--name", "before", "--net", "none", "busybox", "sh", "-c", "exit 3")
	e.must("rename", "before", "after")
	r := p.goOn(t)
	require.Equal(t, 3, r.code, "%s", r)
	require.Equal(t, "exited 3", strings.TrimSpace(e.must("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "after")))
	require.Equal(t, "/after", strings.TrimSpace(e.must("inspect", "-f", "{{.Name}}", "after")))
	require.NotEqual(t, 0, e.run("inspect", "before").code, "the old name is free")
}

// A published port is held on the host for as long as the container runs: an engine with
// another root, or a program, that wants it is refused; a port a program holds is refused to
// a container (it used to be taken over by the DNAT rule, silently); -P's port is held from
// the moment it is picked; stop frees it.
func TestPublishedPortsAreHeldHostWide(t *testing.T) {
	if noBridge {
		t.Skip("needs the bridge module and iptables (not in the cgroup v2 VM)")
	}
	e, other := newEngine(t), newEngine(t)
	id := strings.TrimSpace(e.must("run", "-d", "-P", "--expose", "80", "busybox", "httpd", "-f", "-p", "80"))
	port := strings.TrimSpace(e.must("port", id, "80"))
	_, hostPort, err := net.SplitHostPort(port)
	require.NoError(t, err)
	_, err = net.Listen("tcp4", "127.0.0.1:"+hostPort)
	require.Error(t, err, "a program cannot take a port a container publishes")

	r := other.run("run", "-d", "-p", hostPort+":80", "busybox", "httpd", "-f", "-p", "80")
	require.Equal(t, 125, r.code, "another root cannot publish it: %s", r)
	require.Contains(t, r.stderr, "address already in use")
	require.Empty(t, other.must("ps", "-aq"), "and nothing of its container is left")

	l, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	held := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	r = other.run("run", "-d", "-p", "127.0.0.1:"+held+":80", "busybox", "httpd", "-f", "-p", "80")
	l.Close()
	require.Equal(t, 125, r.code, "a port a program listens on is refused: %s", r)
	require.Contains(t, r.stderr, "address already in use")

	e.must("stop", "-t", "1", id)
	l, err = net.Listen("tcp4", "127.0.0.1:"+hostPort)
	require.NoError(t, err, "stop frees the port")
	l.Close()
}
