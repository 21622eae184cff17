package container

import (
	"fmt"
	"os"
	"runtime"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// execNamespaces are the namespaces the parent of an exec'd process joins before forking it:
// all but the mount namespace, which the process enters itself (EnterMountNamespace). The
// cgroup namespace is joined only where the container has its own (cgroup v2).
var execNamespaces = []string{"ipc", "uts", "net", "pid", "cgroup"}

// openNamespace opens /proc/PID/ns/NAME.
func openNamespace(pid int, name string) (*os.File, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/ns/" + name)
	if err != nil {
		return nil, fmt.Errorf("open %s namespace of process %d: %w", name, pid, err)
	}
	return f, nil
}

// JoinNamespaces moves the calling thread into the IPC, UTS, network, PID and cgroup
// namespaces of process pid, for Exec to fork its process from it (startSealed).
//
// Namespaces belong to threads. The goroutine that calls this is locked to its OS thread and
// never unlocks, so the Go runtime throws the changed thread away when it ends; a process
// forked from the thread starts with its namespaces (for a PID namespace, setns only changes
// where children go, which is exactly what a fork needs). The mount namespace is left to the
// child: it is this binary, and it must be loaded from the host's filesystem (a dynamically
// linked build needs the host's ld.so), not from the container's.
func JoinNamespaces(pid int) error {
	for _, ns := range execNamespaces {
		f, err := openNamespace(pid, ns)
		if err != nil {
			return err
		}
		if sameNamespace(f, ns) {
			f.Close()
			continue // shared with the host (--net host, cgroup v1): nothing to join
		}
		err = unix.Setns(int(f.Fd()), 0)
		f.Close()
		if err != nil {
			return fmt.Errorf("join %s namespace of process %d: %w", ns, pid, err)
		}
	}
	return nil
}

// joinNamespacePaths moves the calling thread (locked, see startSealed) into the namespaces
// of the spec given by path, as containerd gives a pod's containers its network namespace:
// the init forked from the thread starts in them. A user namespace cannot be joined so by a
// threaded process; a mount namespace is left to the init (joinMountNamespace).
func joinNamespacePaths(namespaces []specs.LinuxNamespace) error {
	for _, ns := range namespaces {
		if ns.Path == "" {
			continue
		}
		if ns.Type == specs.MountNamespace {
			continue // the init's to join (joinMountNamespace)
		}
		if ns.Type == specs.UserNamespace {
			return fmt.Errorf("joining an existing %s namespace (%s) is not supported", ns.Type, ns.Path)
		}
		f, err := os.Open(ns.Path)
		if err != nil {
			return fmt.Errorf("open %s namespace: %w", ns.Type, err)
		}
		// setns with the type asked for: the kernel refuses a path to another kind.
		err = unix.Setns(int(f.Fd()), int(cloneFlags[ns.Type]))
		f.Close()
		if err != nil {
			return fmt.Errorf("join %s namespace %s: %w", ns.Type, ns.Path, err)
		}
	}
	return nil
}

// joinMountNamespace moves the init into the mount namespace its spec names by path, where it
// makes the container's root, as runc does. It is the init's to join, not its parent's: the
// init is loaded from the runtime's filesystem (a dynamically linked build needs the host's
// ld.so), and its work on the root and the execve of the command are all this locked
// thread's, which alone needs to be in the namespace.
func joinMountNamespace(namespaces []specs.LinuxNamespace) error {
	for _, ns := range namespaces {
		if ns.Type != specs.MountNamespace || ns.Path == "" {
			continue
		}
		f, err := os.Open(ns.Path)
		if err != nil {
			return fmt.Errorf("open mount namespace: %w", err)
		}
		defer f.Close()
		if err := enterMountNamespace(f); err != nil {
			return fmt.Errorf("join mount namespace %s: %w", ns.Path, err)
		}
	}
	return nil
}

// sameNamespace reports whether ns is the namespace this thread is in already.
func sameNamespace(ns *os.File, name string) bool {
	var a, b unix.Stat_t
	return unix.Fstat(int(ns.Fd()), &a) == nil &&
		unix.Stat("/proc/thread-self/ns/"+name, &b) == nil && a.Ino == b.Ino && a.Dev == b.Dev
}

// EnterMountNamespace moves the calling goroutine's thread into the mount namespace open as
// ns, for good: the goroutine stays locked to it, and an execve(2) from this thread takes the
// namespace along. The kernel refuses a mount namespace to a thread that shares its root and
// working directory with others, as Go's threads do, so the thread first takes its own copy
// with unshare(CLONE_FS). runc does this in C before its Go runtime starts (nsexec); this is
// the pure-Go way.
func EnterMountNamespace(ns *os.File) error {
	runtime.LockOSThread()
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return fmt.Errorf("unshare fs: %w", err)
	}
	if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("join mount namespace: %w", err)
	}
	return nil
}
