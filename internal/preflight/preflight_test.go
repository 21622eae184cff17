package preflight

import (
	"os"
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
