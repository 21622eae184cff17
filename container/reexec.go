package container

import (
	"os"
)

// The names this binary answers to when the runtime re-executes it (argv[0]). Any program
// built on this package (mydocker, a chapter's engine) calls Reexec first thing in main.
const (
	initName = "mydocker-init" // the container's PID 1 until it executes the command
	execName = "mydocker-exec" // runs an exec'd command inside the container
)

// Reexec runs the runtime's re-executed role this process was started for, if any, and then
// exits. It returns false for a normal start, when the caller should go on with its own main.
func Reexec() bool {
	switch os.Args[0] {
	case initName:
		runInit()
	case execName:
		runExec()
	default:
		return false
	}
	return true
}
