package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// oneRuntime starts /bin/true in new namespaces and root rootfs with no second Go program.
func oneRuntime(rootfs string) error {
	// os/exec's first start probes clone(CLONE_PIDFD) with a child that exits at once: made
	// after the unshare below, that child would be the new PID namespace's init, and its exit
	// would end the namespace (every fork after it fails with ENOMEM). This runs the probe now.
	if _, err := os.FindProcess(os.Getpid()); err != nil {
		return err
	}
	errc := make(chan error)
	go func() {
		// Never unlocked: the thread, in the container's namespaces, ends with the goroutine.
		runtime.LockOSThread()
		errc <- startOnThread(rootfs)
	}()
	return <-errc
}

func startOnThread(rootfs string) error {
	// A descriptor of the host's /proc, to name the child's PID namespace once it exists: the
	// kernel gives none of a PID namespace before its first process.
	hostProc, err := unix.Open("/proc", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open /proc: %w", err)
	}
	defer unix.Close(hostProc)
	// CLONE_NEWPID is the namespace of the thread's children; CLONE_FS, the thread's own root.
	if err := unix.Unshare(unix.CLONE_FS | unix.CLONE_NEWNS | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWNET | unix.CLONE_NEWPID); err != nil {
		return fmt.Errorf("unshare: %w", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make / private: %w", err)
	}
	if err := unix.Chroot(rootfs); err != nil {
		return fmt.Errorf("chroot %s: %w", rootfs, err)
	}
	if err := unix.Chdir("/"); err != nil {
		return err
	}
	cmd := exec.Command("/bin/true")
	// Given, not left nil: os/exec would open /dev/null, which the new root may not have.
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	// Traced, the child stops at its exec before its first instruction: /proc is mounted then.
	cmd.SysProcAttr = &syscall.SysProcAttr{Ptrace: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	if err := mountProcAtExec(hostProc, cmd.Process.Pid); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return err
	}
	return cmd.Wait()
}

// mountProcAtExec waits for the traced child's stop at its exec, mounts /proc of its PID
// namespace (pidns=) and lets it run.
func mountProcAtExec(hostProc, pid int) error {
	var ws unix.WaitStatus
	if _, err := unix.Wait4(pid, &ws, unix.WALL, nil); err != nil || !ws.Stopped() {
		return fmt.Errorf("wait for the exec of %d: %v (%v)", pid, err, ws)
	}
	ns, err := unix.Openat(hostProc, fmt.Sprintf("%d/ns/pid", pid), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("the PID namespace of %d: %w", pid, err)
	}
	defer unix.Close(ns)
	fs, err := unix.Fsopen("proc", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return fmt.Errorf("fsopen proc: %w", err)
	}
	defer unix.Close(fs)
	if err := unix.FsconfigSetFd(fs, "pidns", ns); err != nil {
		return fmt.Errorf("proc's pidns= (a recent kernel's): %w", err)
	}
	if err := unix.FsconfigCreate(fs); err != nil {
		return fmt.Errorf("create proc: %w", err)
	}
	m, err := unix.Fsmount(fs, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOEXEC)
	if err != nil {
		return fmt.Errorf("fsmount proc: %w", err)
	}
	defer unix.Close(m)
	if err := unix.MoveMount(m, "", unix.AT_FDCWD, "/proc", unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("mount proc: %w", err)
	}
	if err := unix.PtraceDetach(pid); err != nil {
		return fmt.Errorf("detach from %d: %w", pid, err)
	}
	return nil
}
