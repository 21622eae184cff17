package container

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// The runtime starts the container's init and exec'd processes as this binary, re-executed.
// While such a process runs, a process in the container can open its /proc/PID/exe — the
// binary's file on the host — and once nothing executes it any more, open that descriptor
// again for writing through /proc/self/fd and replace the host's mydocker with its own
// program, which the next mydocker call runs as root (CVE-2019-5736; a script whose
// interpreter is /proc/self/exe is enough to make an exec'd process run the binary inside the
// container). So the binary is never started from a path the container could write through:
// it runs from a read-only bind mount of itself, made in a mount namespace of the starting
// thread's own. A write through that mount fails with EROFS, whatever the container holds.
// Where the bind cannot be made (the file on disk was replaced since this process started),
// it runs from a sealed in-memory copy instead (a memfd, as runc's cloned binary).

// startSealed starts cmd — this binary — from a locked thread of its own: prepare (nil, or
// setns into a container's namespaces) runs on it first. The thread stays with the child until
// the child exits, for two reasons: the thread's mount namespace is not the process's any
// more, and Pdeathsig belongs to the thread that forked the child. Until then the thread can
// also replace this process with another program (handoff): the child keeps its parent, the
// same process, and its parent-death signal, which an execve from any other thread would have
// fired. The child is not reaped here (a pidfd tells its exit): whoever waits for it reaps it
// (sealedChild.wait), and a child nobody waits for is left, living or a zombie, to the
// program a handoff runs or, when this process exits, to its own parent — as an OCI runtime's
// exec --detach leaves it to its caller, a subreaper.
func startSealed(cmd *exec.Cmd, prepare func() error, how launch) (*sealedChild, error) {
	started := make(chan error, 1)
	c := &sealedChild{cmd: cmd, done: make(chan struct{}), handoff: make(chan func() error),
		handoffFailed: make(chan error, 1), noHandoff: make(chan struct{})}
	go func() {
		runtime.LockOSThread() // never unlocked: Go retires the thread when this goroutine ends
		err := func() error {
			var (
				exe string
				mem *os.File
				err error
			)
			if how.peerMounts {
				exe, mem, err = memfdSelf()
			} else {
				exe, mem, err = sealSelf()
			}
			if err != nil {
				return err
			}
			if mem != nil {
				defer mem.Close() // the child has it open once started
			}
			cmd.Path = exe
			if how.byDescriptor && mem == nil {
				f, err := os.OpenFile(exe, unix.O_PATH|unix.O_CLOEXEC, 0)
				if err != nil {
					return fmt.Errorf("open %s: %w", exe, err)
				}
				defer f.Close()
				mem = f
			}
			if mem != nil {
				cmd.ExtraFiles = append(cmd.ExtraFiles, mem)
				cmd.Path = fmt.Sprintf("/proc/self/fd/%d", 2+len(cmd.ExtraFiles))
			}
			if how.joinUserNS != "" {
				if err := enterUserNamespace(cmd, how.joinUserNS); err != nil {
					return err
				}
			}
			if prepare != nil {
				if err := prepare(); err != nil {
					return err
				}
			}
			return cmd.Start()
		}()
		started <- err
		if err != nil {
			return
		}
		c.watch()
		close(c.done)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return c, nil
}

// launch says how startSealed starts its child.
type launch struct {
	// byDescriptor executes the program through a descriptor the child inherits rather than by
	// its path: a child that has become another user on its way (a new user namespace's root)
	// may have no right to the directories on the path.
	byDescriptor bool
	// joinUserNS is a user namespace (/proc/PID/ns/user) the child joins before its program
	// runs, through nsenter (see enterUserNamespace).
	joinUserNS string
	// peerMounts starts the child from a sealed copy of the binary (memfdSelf), not from a
	// bind in a mount namespace of the thread's own: a new mount namespace of the child's,
	// copied from that one, would hold the host's mounts as slaves, and a container whose
	// root shares mounts with the host (linux.rootfsPropagation shared) needs them as peers.
	peerMounts bool
}

// sealedChild is a child startSealed started.
type sealedChild struct {
	cmd           *exec.Cmd
	done          chan struct{}     // closed once it exited (and the thread let go)
	reaped        bool              // by the thread, on a kernel without pidfds
	waitErr       error             // what that wait returned
	handoff       chan func() error // an exec to run on the thread that started it...
	handoffFailed chan error        // ...and why it failed
	noHandoff     chan struct{}     // closed once a handoff can no longer be made
}

// watch waits, on the thread that started the child, until the child exits, running a
// handoff's exec meanwhile if one comes.
func (c *sealedChild) watch() {
	defer close(c.noHandoff)
	pidfd, err := unix.PidfdOpen(c.cmd.Process.Pid, unix.PIDFD_NONBLOCK)
	if err != nil { // a kernel before 5.10: the child is waited for, and reaped, here
		c.reaped, c.waitErr = true, c.cmd.Wait()
		return
	}
	exited := make(chan struct{})
	go func() {
		// Through the runtime's poller: no thread sits in poll(2) for each child.
		f := os.NewFile(uintptr(pidfd), "pidfd")
		defer f.Close()
		if rc, err := f.SyscallConn(); err == nil {
			rc.Read(func(fd uintptr) bool {
				n, _ := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 0)
				return n > 0
			})
		}
		close(exited)
	}()
	select {
	case <-exited:
	case execute := <-c.handoff:
		c.handoffFailed <- execute() // it returns only when the exec failed
		<-exited
	}
}

// wait waits for the child's exit and reaps it: call it once.
func (c *sealedChild) wait() error {
	<-c.done
	if c.reaped {
		return c.waitErr
	}
	return c.cmd.Wait()
}

// helper is the program the runtime starts for its init and exec roles: "" for this binary.
var helper string

// UseHelper makes the runtime start a container's init and exec'd processes from path, a
// program whose main is only Reexec (mydocker-init), instead of this binary. The init's start
// is on the critical path of every container, and a Go program starts in proportion to what it
// links: beside a busy parent, the whole engine took 20 ms here to reach the init's main, the
// helper 10 (page faults, mostly, and package initialization).
// A path that cannot be used when a process starts is skipped for this binary, which answers
// to the same roles. The course's programs never call it: the learner's code runs in the init.
func UseHelper(path string) { helper = path }

// sealSelf makes this thread's view of the program to start read-only and returns the path to
// execute: unshare a mount namespace (after the thread's own filesystem context, which a mount
// namespace change needs), stop mount events from leaving it, bind the program on itself and
// remount the bind read-only. mem, when not nil, is the sealed copy path names (memfdSelf),
// which must stay open until the child has started.
func sealSelf() (path string, mem *os.File, err error) {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return "", nil, fmt.Errorf("find this binary: %w", err)
	}
	if err := unix.Unshare(unix.CLONE_FS | unix.CLONE_NEWNS); err != nil {
		if errors.Is(err, unix.EPERM) {
			return memfdSelf() // an ordinary user: no mount namespace of its own to bind in
		}
		return "", nil, fmt.Errorf("unshare a mount namespace to seal the binary: %w", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return "", nil, fmt.Errorf("make the mounts of the sealing namespace slaves: %w", err)
	}
	if helper != "" {
		// Whatever file the path names now is the helper to run: after an upgrade, the new one.
		if err := unix.Mount(helper, helper, "", unix.MS_BIND, ""); err == nil {
			return sealed(helper)
		}
	}
	if strings.HasSuffix(exe, " (deleted)") {
		return memfdSelf()
	}
	// The bind is made from the path, resolved in this namespace: /proc/self/exe leads into
	// the old one, which mount(2) refuses. So check that the path is still this binary.
	if err := unix.Mount(exe, exe, "", unix.MS_BIND, ""); err != nil || !sameFile(exe, "/proc/self/exe") {
		return memfdSelf()
	}
	return sealed(exe)
}

// sealed finishes sealSelf on the bind at path.
func sealed(path string) (string, *os.File, error) {
	if err := remountReadonlyBind(path); err != nil {
		return "", nil, err
	}
	return path, nil, nil
}

// remountReadonlyBind makes the bind mount at path read-only, keeping the flags the mount it
// was made from has locked (remounting without them fails).
func remountReadonlyBind(path string) error {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return fmt.Errorf("statfs %s: %w", path, err)
	}
	locked := uintptr(st.Flags) & (unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_NOATIME | unix.MS_NODIRATIME | unix.MS_RELATIME)
	if err := unix.Mount("", path, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|locked, ""); err != nil {
		return fmt.Errorf("remount %s read-only: %w", path, err)
	}
	return nil
}

// sameFile reports whether the two paths are the same file.
func sameFile(a, b string) bool {
	var sa, sb unix.Stat_t
	return unix.Stat(a, &sa) == nil && unix.Stat(b, &sb) == nil && sa.Dev == sb.Dev && sa.Ino == sb.Ino
}

// memfdSelf copies the binary into a sealed memfd: no write, no resize, no new seals. The
// child executes it through /proc/self/fd, which it still has open when it calls execve.
func memfdSelf() (string, *os.File, error) {
	fd, err := unix.MemfdCreate("mydocker", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return "", nil, fmt.Errorf("memfd for a sealed copy of this binary: %w", err)
	}
	mem := os.NewFile(uintptr(fd), "sealed-mydocker")
	self, err := os.Open("/proc/self/exe")
	if err != nil {
		mem.Close()
		return "", nil, fmt.Errorf("open this binary: %w", err)
	}
	defer self.Close()
	if _, err := io.Copy(mem, self); err != nil {
		mem.Close()
		return "", nil, fmt.Errorf("copy this binary into a memfd: %w", err)
	}
	seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		mem.Close()
		return "", nil, fmt.Errorf("seal the copy of this binary: %w", err)
	}
	return fmt.Sprintf("/proc/self/fd/%d", fd), mem, nil
}
