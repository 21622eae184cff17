package preflight

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRunOnThisMachine(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("as root: the tests run the engine on this machine")
	}
	checks := Run()
	seen := map[string]bool{}
	for _, c := range checks {
		seen[c.What] = true
		assert.NotEqual(t, Missing, c.Level, "%s: %s (%s)", c.What, c.Found, c.Fix)
		if c.Level != OK {
			assert.NotEmpty(t, c.Fix, "%s: a finding that is not ok says what to do", c.What)
		}
	}
	for _, what := range []string{"root", "cgroups", "overlay", "mount propagation", "iptables FORWARD", "left over"} {
		assert.True(t, seen[what], "no %q check", what)
	}
}

func TestMountinfoFindsRoot(t *testing.T) {
	require.NotEmpty(t, rootFilesystem(), "the filesystem on / from /proc/self/mountinfo")
}

// Only the overlay mounts of an image store of ours are left over: a dockerd's are its own.
func TestOurOverlays(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"image/configs/sha256", "image/layers/sha256/aa/diff", "image/layers/sha256/bb/diff"} {
		require.NoError(t, os.MkdirAll(filepath.Join(root, d), 0o700))
	}
	table := strings.Join([]string{
		"22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw",
		"90 22 0:50 / /var/lib/docker/overlay2/0f3c/merged rw,relatime - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/ABC:/var/lib/docker/overlay2/l/DEF,upperdir=/var/lib/docker/overlay2/0f3c/diff,workdir=/var/lib/docker/overlay2/0f3c/work",
		"91 22 0:51 / " + root + "/rootfs/c1/merged rw,relatime - overlay overlay rw,lowerdir=" + root + "/image/layers/sha256/bb:" + root + "/image/layers/sha256/aa,upperdir=" + root + "/rootfs/c1/upper,workdir=" + root + "/rootfs/c1/work",
		"92 22 0:52 / /mnt/elsewhere rw - overlay overlay rw,lowerdir=/tmp/not-a-store/image/layers/sha256/aa,upperdir=/tmp/u,workdir=/tmp/w",
	}, "\n")
	mounts := parseMountinfo(strings.NewReader(table))
	require.Len(t, mounts, 4)
	assert.Equal(t, "rw,lowerdir=/var/lib/docker/overlay2/l/ABC:/var/lib/docker/overlay2/l/DEF,upperdir=/var/lib/docker/overlay2/0f3c/diff,workdir=/var/lib/docker/overlay2/0f3c/work", mounts[1].options)
	assert.Equal(t, []string{root + "/rootfs/c1/merged"}, ourOverlays(mounts))
}
