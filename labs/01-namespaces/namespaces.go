//go:build !solution

package namespaces

import (
	"errors"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// CloneFlags returns the clone(2) flags that create the spec's namespaces: CLONE_NEWPID for
// "pid", CLONE_NEWNS for "mount", and so on (golang.org/x/sys/unix has the constants). A
// namespace with a Path is joined later with setns, not created: it adds no flag. Nor does the
// cgroup namespace: the init creates it itself, once it is in its cgroup.
func CloneFlags(namespaces []specs.LinuxNamespace) (uintptr, error) {
	return 0, errors.New("not implemented: write CloneFlags in labs/01-namespaces/namespaces.go")
}

// InitMounts is the init's first work, in its new mount and PID namespaces: stop mount events
// from reaching the host (make every mount private, recursively, from /), then mount a new
// procfs on /proc, so that /proc shows this PID namespace.
func InitMounts() error {
	return errors.New("not implemented: write InitMounts in labs/01-namespaces/namespaces.go")
}
