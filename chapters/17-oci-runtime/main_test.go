package main

import (
	_ "embed"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/mydocker/mydocker/internal/critest"
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
//
// The CRI part needs crictl, built from the version internal/crictl pins and put on the PATH,
// the CNI plugins, and images it imports offline ($CRI_IMAGES). What it may leave, should it
// fail half-way: its pods (removed while its containerd still runs), the CNI bridge and
// cache, the pods' cgroup parent, the shims' sockets.
func TestTranscript(t *testing.T) {
	if _, err := os.Stat("/run/containerd"); os.IsNotExist(err) {
		t.Cleanup(func() { os.RemoveAll("/run/containerd") })
	}
	criTools := []string{"containerd", "ctr", "containerd-shim-runc-v2", "crictl", "/usr/lib/cni/bridge", "/usr/lib/cni/host-local"}
	var images string
	if _, err := exec.LookPath("containerd"); err == nil {
		t.Setenv("PATH", filepath.Dir(critest.Crictl(t))+":"+os.Getenv("PATH"))
		images = critest.Images(t)
	}
	if _, err := os.Stat("/var/lib/cni"); os.IsNotExist(err) {
		t.Cleanup(func() { os.Remove("/var/lib/cni/results"); os.Remove("/var/lib/cni") })
	}
	transcript.Test(t, "ch17", readme,
		transcript.Env("CONTAINERD_ADDRESS=containerd/containerd.sock"), transcript.Env("CONTAINERD_NAMESPACE=ch17"),
		transcript.Env("CRI_CONFIG_FILE=crictl.yaml"), transcript.Env("CRI_IMAGES="+images),
		transcript.Needs("containerd", "containerd", "ctr", "containerd-shim-runc-v2"),
		transcript.Needs("cri", criTools...),
		transcript.Cleanup("if [ -f cri.pid ] && kill -0 $(cat cri.pid) 2>/dev/null; then crictl rmp -a -f; kill $(cat cri.pid); fi; "+
			"for i in $(seq 100); do [ -f cri.pid ] && kill -0 $(cat cri.pid) 2>/dev/null || break; sleep 0.1; done; "+
			`for id in $(cat pod.id 2>/dev/null); do rm -f /run/containerd/s/$(printf '%s' "$PWD/cri/containerd.sock/k8s.io/$id" | sha256sum | cut -c1-64); done; `+
			"ip link del ch17cri0 2>/dev/null; rm -f /var/lib/cni/results/ch17-*; "+
			"rmdir /sys/fs/cgroup/*/ch17cri/* /sys/fs/cgroup/*/ch17cri /sys/fs/cgroup/ch17cri 2>/dev/null; true"),
		transcript.Cleanup("for c in $(./ch17 --root run list -q 2>/dev/null); do ./ch17 --root run delete -f $c; done; true"),
		transcript.Cleanup("for c in $(ls /run/containerd/runc/ch17 2>/dev/null); do ./ch17 --root /run/containerd/runc/ch17 delete -f $c; done; "+
			"if [ -f containerd.pid ]; then kill $(cat containerd.pid) 2>/dev/null; fi; "+
			"rmdir /run/containerd/runc/ch17 /sys/fs/cgroup/ch17 /sys/fs/cgroup/*/ch17 2>/dev/null; true"),
		// A shim's socket, should it be killed: named by the sha256 of containerd's address,
		// the namespace and the container's id.
		transcript.Cleanup(`for c in c2 c3; do rm -f /run/containerd/s/$(printf '%s' "$PWD/containerd/containerd.sock/ch17/$c" | sha256sum | cut -c1-64); done`))
}
