package exec

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mydocker/mydocker/internal/labtest"
)

func TestMain(m *testing.M) {
	labtest.Main(m, map[string]func() error{
		"container": runContainer,
		"enter":     enter,
	})
}

// The container's namespaces: all new.
const containerFlags = unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWNET | unix.CLONE_NEWPID |
	unix.CLONE_NEWNS | unix.CLONE_NEWCGROUP

// runContainer stands for a container's init: a host name of its own and a tmpfs only its
// mount namespace has, then it waits.
func runContainer() error {
	if err := unix.Sethostname([]byte("lab09")); err != nil {
		return err
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return err
	}
	dir := os.Getenv("LAB_DIR")
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, ""); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "marker"), []byte("inside\n"), 0o644); err != nil {
		return err
	}
	fmt.Println("ready")
	time.Sleep(time.Minute)
	return nil
}

func TestJoinNamespaces(t *testing.T) {
	labtest.RequiresRoot(t)
	target := labtest.StartChild(t, "container", containerFlags, "LAB_DIR="+t.TempDir())
	pid := target.Process.Pid
	type result struct {
		joined   map[string]bool
		hostname string
		err      error
	}
	done := make(chan result)
	go func() {
		// Never unlocked: the Go runtime ends this thread, changed namespaces and all, with
		// the goroutine.
		runtime.LockOSThread()
		if err := JoinNamespaces(pid); err != nil {
			done <- result{err: err}
			return
		}
		r := result{joined: map[string]bool{}}
		for _, ns := range []string{"ipc", "uts", "net", "pid", "cgroup", "mnt"} {
			mine := "/proc/thread-self/ns/" + ns
			if ns == "pid" {
				mine += "_for_children" // a thread's own PID namespace never changes
			}
			r.joined[ns] = same(mine, "/proc/"+strconv.Itoa(pid)+"/ns/"+ns)
		}
		var uts unix.Utsname
		unix.Uname(&uts)
		r.hostname = unix.ByteSliceToString(uts.Nodename[:])
		done <- r
	}()
	r := <-done
	if r.err != nil {
		t.Fatalf("JoinNamespaces(%d): %v (HINTS.md, %q)", pid, r.err, hintFor(r.err))
	}
	for _, ns := range []string{"ipc", "uts", "net", "pid", "cgroup"} {
		if !r.joined[ns] {
			t.Errorf("after JoinNamespaces the thread is not in the container's %s namespace (HINTS.md, \"which\")", ns)
		}
	}
	if r.joined["mnt"] {
		t.Errorf("JoinNamespaces joined the mount namespace: leave it to EnterMountNamespace, in the process that execs (HINTS.md, \"mount\")")
	}
	if r.hostname != "lab09" {
		t.Errorf("uname in the joined thread says %q, want the container's lab09", r.hostname)
	}
}

// TestJoinSharedNamespaces joins a container that shares the host's network, IPC, UTS and
// cgroup namespaces (docker run --net host, say): only its PID namespace is its own.
func TestJoinSharedNamespaces(t *testing.T) {
	labtest.RequiresRoot(t)
	target := labtest.StartChild(t, "container", unix.CLONE_NEWPID|unix.CLONE_NEWNS|unix.CLONE_NEWUTS, "LAB_DIR="+t.TempDir())
	done := make(chan error)
	go func() {
		runtime.LockOSThread()
		done <- JoinNamespaces(target.Process.Pid)
	}()
	if err := <-done; err != nil {
		t.Fatalf("JoinNamespaces of a container on the host's network: %v (HINTS.md, %q)", err, hintFor(err))
	}
}

// TestEnterMountNamespace enters the container's mount namespace in a process of its own (a
// Go program, so with many threads) and reads a file only that namespace has.
func TestEnterMountNamespace(t *testing.T) {
	labtest.RequiresRoot(t)
	dir := t.TempDir()
	target := labtest.StartChild(t, "container", containerFlags, "LAB_DIR="+dir)
	out, err := labtest.Child("enter", 0, "LAB_DIR="+dir, "LAB_PID="+strconv.Itoa(target.Process.Pid))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}

func enter() error {
	ns, err := os.Open("/proc/" + os.Getenv("LAB_PID") + "/ns/mnt")
	if err != nil {
		return err
	}
	defer ns.Close()
	if err := EnterMountNamespace(ns); err != nil {
		return fmt.Errorf("EnterMountNamespace: %v (HINTS.md, %q)", err, hintFor(err))
	}
	// Many goroutine switches: a goroutine that was not locked to the joined thread moves.
	for i := 0; i < 100; i++ {
		runtime.Gosched()
		data, err := os.ReadFile(filepath.Join(os.Getenv("LAB_DIR"), "marker"))
		if err != nil || string(data) != "inside\n" {
			return fmt.Errorf("after EnterMountNamespace, read %d: the container's file is not there (%v): "+
				"this goroutine ran on a thread outside the namespace (HINTS.md, \"lock\")", i, err)
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

func same(a, b string) bool {
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}

func hintFor(err error) string {
	if strings.Contains(err.Error(), "not implemented") {
		return "not implemented"
	}
	if strings.Contains(err.Error(), "invalid argument") {
		return "invalid argument"
	}
	return "which"
}
