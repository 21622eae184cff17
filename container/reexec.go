package container

import (
	"os"
	"runtime"
	"strings"
)

// The names this binary answers to when the runtime re-executes it (argv[0]). Any program
// built on this package (mydocker, a chapter's engine) calls Reexec first thing in main. The
// engine's own roles (its monitor) are named with the same prefix.
const (
	initName = "mydocker-init" // the container's PID 1 until it executes the command
	execName = "mydocker-exec" // runs an exec'd command inside the container
)

// The init's and an exec'd process's work happens on the process's main thread: namespaces
// made or joined on another thread are not the process's (/proc/PID/ns shows the main
// thread's), and once main runs the Go runtime may move the main goroutine off the main
// thread, unless an init function locked it there. (The OCI suite's linux_ns_nopath once saw
// the host's cgroup namespace in a created container: its init had unshared it elsewhere.)
func init() {
	if r := role(); r == initName || r == execName {
		runtime.LockOSThread()
	}
}

// Reexecuted reports whether this process was re-executed for one of the runtime's or the
// engine's roles (argv[0] "mydocker-..."), not started by a user: a test binary that doubles
// as a program hands such a start to the program's main, which sets up what the role needs.
func Reexecuted() bool { return strings.HasPrefix(role(), "mydocker-") }

// role is the name this process was started under: argv[0], or for a process nsenter started
// (enterUserNamespace), the role it was given in the environment.
func role() string {
	if r := os.Getenv(roleEnv); strings.HasPrefix(r, "mydocker-") {
		return r
	}
	return os.Args[0]
}

// Reexec runs the runtime's re-executed role this process was started for, if any, and then
// exits. It returns false for a normal start, when the caller should go on with its own main.
func Reexec() bool {
	switch role() {
	case initName:
		runInit()
	case execName:
		runExec()
	default:
		return false
	}
	return true
}
