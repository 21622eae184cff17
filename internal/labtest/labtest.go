// Package labtest runs a lab's code where it can do its work: in a child process (the lab's
// test binary, started again) in new namespaces, so that a learner's mounts, pivots and chroots
// happen in a mount namespace of their own and vanish with it, whatever the code does.
package labtest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mydocker/mydocker/internal/busybox"
)

const childEnv = "LABTEST_CHILD"

// Main is a lab's TestMain. Started as a child (Child), the process runs that child's function
// and exits: 0 when it returns nil, 1 with the error on standard error otherwise.
func Main(m *testing.M, children map[string]func() error) {
	name := os.Getenv(childEnv)
	if name == "" {
		os.Exit(m.Run())
	}
	fn, ok := children[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "labtest: no child %q\n", name)
		os.Exit(2)
	}
	if err := fn(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// Child runs the child function name in a copy of this test binary, created with flags (clone
// flags such as CLONE_NEWNS) and with env added to its environment, and returns what it
// printed and how it ended. It is bounded to a minute. A child may start children of its own.
func Child(name string, flags uintptr, env ...string) (string, error) {
	return ChildAttr(name, &syscall.SysProcAttr{Cloneflags: flags}, env...)
}

// ChildAttr is Child with the process attributes in full (user namespaces need uid maps).
func ChildAttr(name string, attr *syscall.SysProcAttr, env ...string) (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, self, "-test.run=^$")
	cmd.Env = append(append(os.Environ(), childEnv+"="+name), env...)
	cmd.SysProcAttr = attr
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("child %s still running after a minute", name)
	}
	return out.String(), err
}

// Spawned is a child started by Spawn: its process, and lines to and from it.
type Spawned struct {
	*exec.Cmd
	in  io.Writer
	out *bufio.Reader
}

// Spawn starts the child function name like Child (created with flags, killed if this process
// dies), without waiting for it, and returns once it has printed its first line (its "ready").
// It needs no test: a child may spawn children of its own.
func Spawn(name string, flags uintptr, env ...string) (*Spawned, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "-test.run=^$")
	cmd.Env = append(append(os.Environ(), childEnv+"="+name), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: flags, Pdeathsig: syscall.SIGKILL}
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &Spawned{Cmd: cmd, in: in, out: bufio.NewReader(out)}
	ready := make(chan error, 1)
	go func() {
		_, err := s.out.ReadString('\n')
		ready <- err
	}()
	select {
	case err = <-ready:
	case <-time.After(time.Minute):
		err = errors.New("not ready after a minute")
	}
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("child %s: %w", name, err)
	}
	return s, nil
}

// Ask sends the child a line and returns the line it answers.
func (s *Spawned) Ask(line string) string {
	io.WriteString(s.in, line+"\n")
	answer, err := s.out.ReadString('\n')
	if err != nil {
		return err.Error()
	}
	return strings.TrimSpace(answer)
}

// Stop kills the child and waits for it.
func (s *Spawned) Stop() {
	s.Process.Kill()
	s.Wait()
}

// StartChild is Spawn for a test: a failure fails it, and the child is stopped when it ends.
func StartChild(t testing.TB, name string, flags uintptr, env ...string) *exec.Cmd {
	t.Helper()
	s, err := Spawn(name, flags, env...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s.Cmd
}

// RequiresRoot fails the test unless it runs as root. A lab test that skipped its privileged
// part would let the lab say ok with the learner's mount, pivot or cgroup code never run: so
// it fails, and says how to run it.
func RequiresRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		lab := "NN-lab"
		if _, file, _, ok := runtime.Caller(1); ok {
			lab = filepath.Base(filepath.Dir(file)) // the lab's directory, where its test is
		}
		t.Fatalf("this test needs root to run your code for real, and a lab whose tests did not run proves nothing: "+
			"run them as root: sudo go test ./labs/%s/ (or, as root, make lab N=%.2s)", lab, lab)
	}
}

// Rootfs makes a small root filesystem in a temporary directory: the host's busybox-static as
// /bin/busybox with links for sh, ls, cat and nsenter, and the directories a container expects.
// The test fails when busybox-static is not installed.
func Rootfs(t testing.TB) string {
	t.Helper()
	bin, err := busybox.Find()
	if err != nil {
		t.Fatalf("needs busybox-static (apt-get install busybox-static): %v", err)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	for _, d := range []string{"bin", "proc", "dev", "tmp", "etc"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "bin/busybox"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, applet := range []string{"sh", "ls", "cat", "nsenter", "mount"} {
		if err := os.Symlink("busybox", filepath.Join(root, "bin", applet)); err != nil {
			t.Fatal(err)
		}
	}
	// A file only this root has: finding it says which root a process sees.
	if err := os.WriteFile(filepath.Join(root, "etc/lab-rootfs"), []byte("inside\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

// PretendSharedHost makes the calling child's mount namespace a stand-in for a systemd host:
// cut off from the real host first (private), then shared, so that the mount namespaces of
// its own children start as peers of it and a mount that is not made private there shows here.
func PretendSharedHost() error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("test setup: make / private: %w", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_SHARED, ""); err != nil {
		return fmt.Errorf("test setup: make / shared: %w", err)
	}
	return nil
}

// MountPoints lists the mount points in /proc/self/mountinfo, in order.
func MountPoints() ([]string, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	var points []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if f := strings.Fields(line); len(f) > 4 {
			points = append(points, f[4])
		}
	}
	return points, nil
}
