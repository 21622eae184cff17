package subsystems

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/mydocker/mydocker/internal/testutil"
)

func n(v int64) *int64 { return &v }

// rules are a container's: nothing but /dev/null and mknod of any node.
var rules = []specs.LinuxDeviceCgroup{
	{Allow: false, Access: "rwm"},
	{Allow: true, Type: "c", Access: "m"},
	{Allow: true, Type: "b", Access: "m"},
	{Allow: true, Type: "c", Major: n(1), Minor: n(3), Access: "rwm"},
}

func TestDeviceRule(t *testing.T) {
	for _, tc := range []struct {
		rule specs.LinuxDeviceCgroup
		want string
	}{
		{rules[0], "a *:* rwm"},
		{rules[1], "c *:* m"},
		{rules[3], "c 1:3 rwm"},
		{specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: n(136), Access: "rw"}, "c 136:* rw"},
	} {
		t.Run(tc.want, func(t *testing.T) { require.Equal(t, tc.want, DeviceRule(tc.rule)) })
	}
}

func TestSetV1WritesTheRulesInOrder(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, Devices{}.SetV1(dir, &specs.LinuxResources{Devices: rules}))
	deny, _ := os.ReadFile(filepath.Join(dir, "devices.deny"))
	allow, _ := os.ReadFile(filepath.Join(dir, "devices.allow"))
	// A fake directory's file holds the writes one after another; the kernel's takes each
	// write as one rule.
	require.Equal(t, "a *:* rwm", string(deny))
	require.Equal(t, "c *:* m"+"b *:* m"+"c 1:3 rwm", string(allow))
}

func TestDeviceProgramRefusesBadRules(t *testing.T) {
	_, err := DeviceProgram([]specs.LinuxDeviceCgroup{{Allow: true, Type: "x", Access: "r"}})
	require.ErrorContains(t, err, "unknown type")
	_, err = DeviceProgram([]specs.LinuxDeviceCgroup{{Allow: true, Type: "c", Access: "rx"}})
	require.ErrorContains(t, err, "unknown access")
}

// TestDeviceProgramInAKernel attaches the program to a real cgroup v2 directory (on this
// hybrid host, the unified hierarchy holds every process too) and opens devices from a
// process in it: /dev/null is allowed, a block device made with mknod is refused.
func TestDeviceProgramInAKernel(t *testing.T) {
	testutil.RequiresRoot(t)
	root := "/sys/fs/cgroup"
	var st unix.Statfs_t
	if unix.Statfs(root, &st) != nil || st.Type != unix.CGROUP2_SUPER_MAGIC {
		root = "/sys/fs/cgroup/unified"
		if unix.Statfs(root, &st) != nil || st.Type != unix.CGROUP2_SUPER_MAGIC {
			t.Skip("needs a cgroup v2 mount")
		}
	}
	dir := filepath.Join(root, testutil.UniqueName("devtest"))
	require.NoError(t, os.Mkdir(dir, 0o755))
	t.Cleanup(func() { os.Remove(dir) })
	require.NoError(t, Devices{}.SetV2(dir, &specs.LinuxResources{Devices: rules}))

	blk := filepath.Join(t.TempDir(), "loop")
	require.NoError(t, unix.Mknod(blk, unix.S_IFBLK|0o600, int(unix.Mkdev(7, 0))))
	script := `echo $$ > ` + dir + `/cgroup.procs || exit 9
cat /dev/null && echo null-ok
head -c 1 ` + blk + ` >/dev/null 2>&1 || echo block-refused
head -c 1 /dev/zero >/dev/null 2>&1 || echo zero-refused`
	out, err := exec.Command("sh", "-c", script).CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Equal(t, "null-ok\nblock-refused\nzero-refused", strings.TrimSpace(string(out)))
}

// A rule that allows everything ends the program: older verifiers (Linux 6.1) refuse the
// instructions it would leave unreachable.
func TestDeviceProgramAllowingEverything(t *testing.T) {
	prog, err := DeviceProgram([]specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}, {Allow: true, Access: "rwm"}})
	require.NoError(t, err)
	require.Len(t, prog, 7+2, "the context loads, then r0 = 1 and exit")
}
