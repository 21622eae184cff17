package container

import (
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Seams are the runtime's functions the course's labs ask a learner to write, one field per
// lab function. A chapter's program built with -tags lab sets them to the learner's functions
// (chapters/internal/lab), so that the learner's code runs the chapter's containers; nil, the
// runtime's own run. The runtime calls each through the small function of the same name in
// lower case below, never the exported one directly; the labs' reference solutions call the
// exported ones, so -tags 'lab solution' runs the runtime's own code through the seam.
var Seams struct {
	NamespaceFlags      func([]specs.LinuxNamespace) (uintptr, error)   // lab 01
	MakeMountsPrivate   func() error                                    // lab 01
	MountProc           func(target string) error                       // lab 01
	LookPath            func(file string, env []string) (string, error) // lab 02
	MoveRoot            func(rootfs string) error                       // lab 02
	PivotRoot           func(rootfs string) error                       // lab 03
	MountOverlay        func(target string, options []string) error     // lab 05
	MountVolume         func(rootfs string, m specs.Mount) error        // lab 06
	JoinNamespaces      func(pid int) error                             // lab 09
	EnterMountNamespace func(ns *os.File) error                         // lab 09
	DropBoundingSet     func(keep []string) error                       // lab 12
}

func namespaceFlags(ns []specs.LinuxNamespace) (uintptr, error) {
	if f := Seams.NamespaceFlags; f != nil {
		return f(ns)
	}
	return NamespaceFlags(ns), nil
}

func makeMountsPrivate() error {
	if f := Seams.MakeMountsPrivate; f != nil {
		return f()
	}
	return MakeMountsPrivate()
}

func mountProc(target string) error {
	if f := Seams.MountProc; f != nil {
		return f(target)
	}
	return MountProc(target)
}

func lookPath(file string, env []string) (string, error) {
	if f := Seams.LookPath; f != nil {
		return f(file, env)
	}
	return LookPath(file, env)
}

func moveRoot(rootfs string) error {
	if f := Seams.MoveRoot; f != nil {
		return f(rootfs)
	}
	return MoveRoot(rootfs)
}

func pivotRoot(rootfs string) error {
	if f := Seams.PivotRoot; f != nil {
		return f(rootfs)
	}
	return PivotRoot(rootfs)
}

func mountOverlay(target string, options []string) error {
	if f := Seams.MountOverlay; f != nil {
		return f(target, options)
	}
	return MountOverlay(target, options)
}

func mountVolume(rootfs string, m specs.Mount) error {
	if f := Seams.MountVolume; f != nil {
		return f(rootfs, m)
	}
	return MountInto(rootfs, m)
}

func joinNamespaces(pid int) error {
	if f := Seams.JoinNamespaces; f != nil {
		return f(pid)
	}
	return JoinNamespaces(pid)
}

func enterMountNamespace(ns *os.File) error {
	if f := Seams.EnterMountNamespace; f != nil {
		return f(ns)
	}
	return EnterMountNamespace(ns)
}

func dropBoundingSet(keep []string) error {
	if f := Seams.DropBoundingSet; f != nil {
		return f(keep)
	}
	return DropBoundingSet(keep)
}
