// Command benchfloor is the least a container start costs when, as in mydocker, a Go command
// line starts a Go init: it starts itself again in new namespaces (mount, PID, UTS, IPC,
// network), and that child changes root to ROOTFS and executes /bin/true. No image, spec,
// cgroup, mount, confinement or record: two Go programs' starts and exits, in series, and the
// namespaces'. make bench runs it beside mydocker as the "go-floor" row.
//
// With -one, the same with one Go program (docs/one-runtime-start.md): a locked thread unshares
// the namespaces, changes root and starts /bin/true itself, stopped at its exec (ptrace) while
// /proc of its PID namespace is mounted from outside it (procfs's pidns= option of recent
// kernels). make bench's "go-one-floor" row.
//
//	benchfloor [-one] ROOTFS
package main

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

const childName = "benchfloor-child"

func main() {
	args := os.Args[1:]
	one := len(args) == 2 && args[0] == "-one"
	if one {
		args = args[1:]
	}
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: benchfloor [-one] ROOTFS")
		os.Exit(2)
	}
	if one {
		if err := oneRuntime(args[0]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(125)
		}
		return
	}
	if os.Args[0] == childName {
		if err := syscall.Chroot(args[0]); err != nil {
			fmt.Fprintf(os.Stderr, "chroot %s: %v\n", args[0], err)
			os.Exit(125)
		}
		if err := syscall.Chdir("/"); err != nil {
			os.Exit(125)
		}
		err := syscall.Exec("/bin/true", []string{"true"}, nil)
		fmt.Fprintf(os.Stderr, "execute /bin/true: %v\n", err)
		os.Exit(127)
	}
	cmd := exec.Command("/proc/self/exe", args[0])
	cmd.Args[0] = childName
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWPID |
		syscall.CLONE_NEWUTS | syscall.CLONE_NEWIPC | syscall.CLONE_NEWNET}
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
