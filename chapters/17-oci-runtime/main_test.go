package main

import (
	_ "embed"
	"os"
	"testing"

	"github.com/mydocker/mydocker/internal/transcript"
)

//go:embed README.md
var readme []byte

// The test binary is also ch17: the README's transcript runs it under that name (and
// containerd's shim, given it as --runc-binary).
func TestMain(m *testing.M) { transcript.Main(m, "ch17", main) }

// The containerd part runs a private containerd (its own root, state and sockets in the
// transcript's directory) where containerd is installed, and is left out where it is not (the
// cgroup v2 VM). Its shim keeps its sockets and the runtime's state in /run/containerd, which
// goes again if the test made it; the cgroup parent containerd made goes too.
func TestTranscript(t *testing.T) {
	if _, err := os.Stat("/run/containerd"); os.IsNotExist(err) {
		t.Cleanup(func() { os.RemoveAll("/run/containerd") })
	}
	transcript.Test(t, "ch17", readme,
		transcript.Env("CONTAINERD_ADDRESS=containerd/containerd.sock"), transcript.Env("CONTAINERD_NAMESPACE=ch17"),
		transcript.Needs("containerd", "containerd", "ctr", "containerd-shim-runc-v2"),
		transcript.Cleanup("for c in $(./ch17 --root run list -q 2>/dev/null); do ./ch17 --root run delete -f $c; done; true"),
		transcript.Cleanup("for c in $(ls /run/containerd/runc/ch17 2>/dev/null); do ./ch17 --root /run/containerd/runc/ch17 delete -f $c; done; "+
			"if [ -f containerd.pid ]; then kill $(cat containerd.pid) 2>/dev/null; fi; "+
			"rmdir /run/containerd/runc/ch17 /sys/fs/cgroup/ch17 /sys/fs/cgroup/*/ch17 2>/dev/null; true"),
		// A shim's socket, should it be killed: named by the sha256 of containerd's address,
		// the namespace and the container's id.
		transcript.Cleanup(`for c in c2 c3; do rm -f /run/containerd/s/$(printf '%s' "$PWD/containerd/containerd.sock/ch17/$c" | sha256sum | cut -c1-64); done`))
}
