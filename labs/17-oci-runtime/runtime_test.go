package ociruntime

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/mydocker/runccli"
)

// process starts a command as a stand-in for a container's init and names it as the runtime
// records an init: its pid and its start time.
func process(t *testing.T, name string, args ...string) (*exec.Cmd, container.Process) {
	t.Helper()
	cmd := exec.Command(name, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, container.Process{Pid: cmd.Process.Pid, Start: startTime(t, cmd.Process.Pid)}
}

// startTime is field 22 of /proc/PID/stat.
func startTime(t *testing.T, pid int) uint64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	n, err := strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func fifo(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "exec.fifo")
	if err := unix.Mkfifo(path, 0o622); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestState(t *testing.T) {
	_, running := process(t, "sleep", "1000")
	waiting := fifo(t)
	gone := filepath.Join(filepath.Dir(waiting), "started") // no such file: start removed it
	zombie, z := process(t, "true")
	waitFor(t, "a zombie", func() bool {
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", zombie.Process.Pid))
		return err == nil && strings.Contains(string(st), ") Z ")
	})
	reused := container.Process{Pid: os.Getpid(), Start: 1} // this test's pid, another start time
	frozen := func() bool { return true }
	thawed := func() bool { return false }
	annotations := map[string]string{"org.example": "lab17"}
	for _, c := range []struct {
		name   string
		c      runccli.Container
		status specs.ContainerState
		pid    int
		hint   string
	}{
		{"created: the init waits on its fifo", runccli.Container{Init: running, ExecFifo: waiting, Frozen: thawed}, specs.StateCreated, running.Pid, "created"},
		{"running: start removed the fifo", runccli.Container{Init: running, ExecFifo: gone, Frozen: thawed}, specs.StateRunning, running.Pid, "created"},
		{"paused: its cgroups are frozen", runccli.Container{Init: running, ExecFifo: gone, Frozen: frozen}, "paused", running.Pid, "paused"},
		{"stopped: the init is a zombie", runccli.Container{Init: z, ExecFifo: gone, Frozen: thawed}, specs.StateStopped, 0, "zombie"},
		{"stopped: its pid is another process's now", runccli.Container{Init: reused, ExecFifo: gone, Frozen: thawed}, specs.StateStopped, 0, "start time"},
		{"stopped: the init died before start", runccli.Container{Init: z, ExecFifo: waiting, Frozen: thawed}, specs.StateStopped, 0, "stopped first"},
	} {
		c.c.ID, c.c.Bundle, c.c.Annotations = "c1", "/srv/bundle", annotations
		got := State(c.c)
		if strings.HasPrefix(string(got.Status), "not implemented") {
			t.Fatal(got.Status)
		}
		if got.Status != c.status {
			t.Errorf("%s: status %q, want %q (HINTS.md, %q)", c.name, got.Status, c.status, c.hint)
		}
		if got.Pid != c.pid {
			t.Errorf("%s: pid %d, want %d: a stopped container has none, any other has its init's (HINTS.md, \"pid\")", c.name, got.Pid, c.pid)
		}
		if got.Version != specs.Version || got.ID != "c1" || got.Bundle != "/srv/bundle" || got.Annotations["org.example"] != "lab17" {
			t.Errorf("%s: ociVersion %q, id %q, bundle %q, annotations %v; want %q, c1, /srv/bundle, the container's (HINTS.md, \"fields\")",
				c.name, got.Version, got.ID, got.Bundle, got.Annotations, specs.Version)
		}
	}
}

// TestReleaseInit: a stand-in init holds the fifo open as the runtime's init does, and waits
// for a byte; your ReleaseInit must give it one.
func TestReleaseInit(t *testing.T) {
	path := fifo(t)
	f, err := os.OpenFile(path, os.O_RDWR, 0) // as the init opens it: this open does not wait
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := make(chan error, 1)
	go func() {
		_, err := io.ReadFull(f, make([]byte, 1))
		got <- err
	}()
	done := release(t, path)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ReleaseInit with the init waiting: %v (HINTS.md, \"open\")", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("ReleaseInit with the init waiting has not returned in 5 seconds (HINTS.md, \"open\")")
	}
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("the init's read: %v", err)
		}
	case <-time.After(5 * time.Second):
		f.Write([]byte{0}) // let the reader go
		t.Fatalf("the init waited 5 seconds and read no byte: write one to the fifo (HINTS.md, \"byte\")")
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the fifo is still there after ReleaseInit (%v): the container would still be \"created\" (HINTS.md, \"remove\")", err)
	}
}

// TestReleaseAGoneInit: nobody holds the fifo open any more (the init died): ReleaseInit must
// fail at once, not wait for a reader that will never come.
func TestReleaseAGoneInit(t *testing.T) {
	path := fifo(t)
	select {
	case err := <-release(t, path):
		if err == nil {
			t.Fatalf("ReleaseInit with no init = <nil>: the container's command never runs, and start must say so (HINTS.md, \"ENXIO\")")
		}
		if !errors.Is(err, unix.ENXIO) {
			t.Errorf("ReleaseInit with no init: %v; want the open's ENXIO, wrapped (HINTS.md, \"ENXIO\")", err)
		}
	case <-time.After(5 * time.Second):
		// Open it for reading, so that a blocked open returns and the test can end.
		if r, err := os.OpenFile(path, os.O_RDONLY|unix.O_NONBLOCK, 0); err == nil {
			defer r.Close()
		}
		t.Fatalf("ReleaseInit with no init has waited 5 seconds: a blocking open of a fifo waits for a reader (HINTS.md, \"ENXIO\")")
	}
	missing := filepath.Join(t.TempDir(), "exec.fifo")
	if err := <-release(t, missing); err == nil {
		t.Errorf("ReleaseInit of a fifo that is not there (a container started already) = <nil> (HINTS.md, \"no fifo\")")
	}
	if _, err := os.Lstat(missing); err == nil {
		t.Errorf("ReleaseInit of a fifo that was not there made %s: open it without O_CREATE (HINTS.md, \"no fifo\")", missing)
	}
}

// release runs your ReleaseInit on its own goroutine, its "not implemented" or panic an error.
func release(t *testing.T, path string) <-chan error {
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("ReleaseInit panicked: %v", r)
			}
		}()
		done <- ReleaseInit(path)
	}()
	return done
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("test setup: no %s after 5 seconds", what)
		}
	}
}
