package container

import (
	"fmt"
	"os/exec"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"
)

// joinNamespaces is the order exec enters a container's namespaces in: the mount namespace
// last, since after it /proc is the container's.
var joinNamespaces = []string{"ipc", "uts", "net", "pid", "mnt"}

// startInNamespaces starts cmd inside every namespace of the process pid.
//
// Namespaces belong to threads. A goroutine locks itself to its OS thread, moves that thread
// into the container's namespaces with setns(2) and forks the command from it: the child
// starts with the thread's namespaces (for a PID namespace, setns only changes where children
// go, which is exactly what a fork needs). The mount namespace is the delicate one: the kernel
// refuses it to a thread that shares its root and working directory with others, as Go's
// threads do, so the thread first takes a private copy with unshare(CLONE_FS). runc does the
// same work in C before its Go runtime starts (nsexec); this is the pure-Go way. The goroutine
// never unlocks, so the Go runtime throws the changed thread away when it ends.
func startInNamespaces(pid int, cmd *exec.Cmd) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		done <- func() error {
			if err := unix.Unshare(unix.CLONE_FS); err != nil {
				return fmt.Errorf("unshare fs: %w", err)
			}
			// Open them all first: once in the container's mount namespace, /proc/<pid>
			// would name another process, or none.
			fds := make([]int, 0, len(joinNamespaces))
			defer func() {
				for _, fd := range fds {
					unix.Close(fd)
				}
			}()
			for _, ns := range joinNamespaces {
				fd, err := unix.Open("/proc/"+strconv.Itoa(pid)+"/ns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
				if err != nil {
					return fmt.Errorf("open %s namespace of process %d: %w", ns, pid, err)
				}
				fds = append(fds, fd)
			}
			for i, fd := range fds {
				if err := unix.Setns(fd, 0); err != nil {
					return fmt.Errorf("join %s namespace of process %d: %w", joinNamespaces[i], pid, err)
				}
			}
			return cmd.Start()
		}()
	}()
	return <-done
}
