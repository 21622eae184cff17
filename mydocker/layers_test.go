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
