package main

import (
	le "encoding/binary"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// capNetRaw is what `setcap cap_net_raw+ep` writes (a revision 2 vfs_cap_data).
func capNetRaw() []byte {
	b := make([]byte, 20)
	le.LittleEndian.PutUint32(b[0:], 0x02000000|0x1)
	le.LittleEndian.PutUint32(b[4:], 1<<unix.CAP_NET_RAW)
	return b
}

// A file's capability survives commit, and save and load: ping as a user works in the image
// made, as it did in the container (a Debian image's ping lost cap_net_raw at commit). busybox
// has no setcap: the test sets the capability on the container's copy from the host, in its
// writable layer, where setcap inside would have put it.
func TestCapabilityKeptThroughCommitSaveLoad(t *testing.T) {
	e := newEngine(t)
	id := strings.TrimSpace(e.must("create", "--net", "none", "busybox", "cp", "/bin/busybox", "/bin/busybox-ping"))
	e.must("start", "-a", id)
	upper := filepath.Join(e.root, "containers", id, "fs", "upper", "bin", "busybox-ping")
	require.NoError(t, unix.Lsetxattr(upper, "security.capability", capNetRaw(), 0))
	require.NoError(t, unix.Lsetxattr(upper, "user.origin", []byte("test"), 0))
	e.must("commit", id, "pinger")

	// As a user: the capability alone lets it open the raw socket busybox's ping needs.
	ping := func(e *engineEnv, bin string) result {
		return e.run("run", "--rm", "--net", "none", "-u", "65534", "pinger", bin, "ping", "-c", "1", "-W", "5", "127.0.0.1")
	}
	r := ping(e, "busybox")
	require.NotEqual(t, 0, r.code, "without the capability: %s", r)
	require.Contains(t, r.stderr, "permission denied")
	r = ping(e, "busybox-ping")
	require.Equal(t, 0, r.code, "the committed image's capability: %s", r)

	archive := filepath.Join(t.TempDir(), "pinger.tar")
	e.must("save", "-o", archive, "pinger")
	other := newEngine(t)
	other.must("load", "-i", archive)
	r = ping(other, "busybox-ping")
	require.Equal(t, 0, r.code, "after save and load: %s", r)
}

// imageID is the full id of image ref in e's store.
func imageID(t *testing.T, e *engineEnv, ref string) string {
	t.Helper()
	return strings.TrimSpace(e.must("inspect", "-f", "{{.Id}}", ref))
}

// diffIDs are the image's layers, as Docker's inspect shows them ({{json .RootFS.Layers}}).
func diffIDs(t *testing.T, e *engineEnv, ref string) string {
	t.Helper()
	return strings.TrimSpace(e.must("inspect", "-f", "{{json .RootFS.Layers}}", ref))
}

// Images keep their id and their layers' diff ids through save and load with Docker 20.10 on
// the other side, both ways: what mydocker imported and committed, loaded by Docker; and what
// Docker made (its own tars, its own config), loaded by mydocker and saved again for Docker.
func TestDockerKeepsSavedIDs(t *testing.T) {
	e := newEngine(t)
	d := startDockerd(t)
	dir := t.TempDir()
	e.must("run", "--net", "none", "--name", "mk", "busybox", "sh", "-c", "echo made > /made")
	e.must("commit", "mk", "made:1")
	archive := filepath.Join(dir, "from-mydocker.tar")
	e.must("save", "-o", archive, "busybox", "made:1")
	r := d.docker("", "load", "-i", archive)
	require.Equal(t, 0, r.code, "%s", r)
	for _, ref := range []string{"busybox", "made:1"} {
		r := d.docker("", "image", "inspect", "-f", "{{.Id}} {{json .RootFS.Layers}}", ref)
		require.Equal(t, 0, r.code, "%s", r)
		require.Equal(t, imageID(t, e, ref)+" "+diffIDs(t, e, ref), strings.TrimSpace(r.stdout), "Docker's id and layers of %s", ref)
	}

	// Docker commits a layer of its own; its save goes through mydocker and back.
	r = d.docker("", "run", "--net", "none", "--name", "dk", "made:1", "sh", "-c", "echo docker > /docker; rm /made")
	require.Equal(t, 0, r.code, "%s", r)
	r = d.docker("", "commit", "dk", "docker-made:1")
	require.Equal(t, 0, r.code, "%s", r)
	want := d.docker("", "image", "inspect", "-f", "{{.Id}} {{json .RootFS.Layers}}", "docker-made:1")
	require.Equal(t, 0, want.code, "%s", want)
	fromDocker := filepath.Join(dir, "from-docker.tar")
	r = d.docker("", "save", "-o", fromDocker, "docker-made:1")
	require.Equal(t, 0, r.code, "%s", r)
	other := newEngine(t)
	other.must("load", "-i", fromDocker)
	require.Equal(t, strings.TrimSpace(want.stdout), imageID(t, other, "docker-made:1")+" "+diffIDs(t, other, "docker-made:1"), "mydocker's id and layers of Docker's image")
	require.Equal(t, "docker\n", other.must("run", "--rm", "--net", "none", "docker-made:1", "cat", "/docker"))

	back := filepath.Join(dir, "back.tar")
	other.must("save", "-o", back, "docker-made:1")
	r = d.docker("", "rmi", "docker-made:1")
	require.Equal(t, 0, r.code, "%s", r)
	r = d.docker("", "load", "-i", back)
	require.Equal(t, 0, r.code, "%s", r)
	got := d.docker("", "image", "inspect", "-f", "{{.Id}} {{json .RootFS.Layers}}", "docker-made:1")
	require.Equal(t, want.stdout, got.stdout, "Docker's image, back from mydocker")
}

// A pushed image is the store's: its config's digest (the id a pull gives it) is the image
// id, and its layers' diff ids are the store's, as with Docker.
func TestPushKeepsImageID(t *testing.T) {
	addr := startRegistry(t, registryOptions{}).addr
	e := newEngine(t)
	e.must("run", "--net", "none", "--name", "mk", "busybox", "sh", "-c", "echo pushed > /pushed")
	e.must("commit", "mk", addr+"/kept:1")
	e.must("push", "-q", addr+"/kept:1")
	other := newEngine(t)
	other.must("rmi", "busybox")
	other.must("pull", "-q", addr+"/kept:1")
	require.Equal(t, imageID(t, e, addr+"/kept:1"), imageID(t, other, addr+"/kept:1"))
	require.Equal(t, diffIDs(t, e, addr+"/kept:1"), diffIDs(t, other, addr+"/kept:1"))
}
