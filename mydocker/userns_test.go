package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/stretchr/testify/require"

	"github.com/mydocker/mydocker/internal/testutil"
)

// editSpec reads the bundle's config.json, lets edit change it and writes it back.
func editSpec(t *testing.T, bundle string, edit func(*specs.Spec)) {
	t.Helper()
	path := filepath.Join(bundle, "config.json")
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var spec specs.Spec
	require.NoError(t, json.Unmarshal(data, &spec))
	edit(&spec)
	data, err = json.Marshal(&spec)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, data, 0o644))
}

// shiftOwners adds offset to the owner and group of every file below dir, as the image's
// files look to a container whose ids start at offset on the host.
func shiftOwners(t *testing.T, dir string, offset int) {
	t.Helper()
	require.NoError(t, filepath.Walk(dir, func(path string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		return os.Lchown(path, int(st.Uid)+offset, int(st.Gid)+offset)
	}))
}

// hostUID is the uid process pid runs as, seen from the host.
func hostUID(t *testing.T, pid int) int {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(t, err)
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "Uid:"); ok {
			uid, err := strconv.Atoi(strings.Fields(rest)[0])
			require.NoError(t, err)
			return uid
		}
	}
	t.Fatalf("no Uid in /proc/%d/status", pid)
	return -1
}

// ownerOf is the host uid that owns path.
func ownerOf(t *testing.T, path string) int {
	t.Helper()
	fi, err := os.Lstat(path)
	require.NoError(t, err)
	return int(fi.Sys().(*syscall.Stat_t).Uid)
}

// mapping is the one line of a uid_map or gid_map that maps n ids from inside to outside.
func mapping(inside, outside, n int) string {
	return fmt.Sprintf("%10d %10d %10d\n", inside, outside, n)
}

// The runtime gives a container the user namespace its spec asks for: root writes the
// mappings itself, the container's root is an unprivileged uid on the host, what it writes is
// that uid's, and an exec'd process joins the namespace too.
func TestRuntimeUserNamespace(t *testing.T) {
	o := newOCIRuntime(t)
	const base, size = 1<<30 + 123<<16, 65536
	bundle := busyboxBundle(t, o, "sh", "-c", "touch /tmp/written; chown 1000 /tmp/written; cat /proc/self/uid_map /proc/self/gid_map; id -u; exec sleep 1000")
	shiftOwners(t, filepath.Join(bundle, "rootfs"), base)
	editSpec(t, bundle, func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: base, Size: size}}
		s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: base, Size: size}}
	})
	id := testutil.UniqueName("userns")
	logs := t.TempDir()
	out, err := os.Create(filepath.Join(logs, "out"))
	require.NoError(t, err)
	defer out.Close()
	c := exec.Command(o.bin, "--root", o.root, "create", "--bundle", bundle, id)
	c.Stdout, c.Stderr = out, out
	require.NoError(t, c.Run(), readFile(out.Name()))
	o.must("start", id)
	var st specs.State
	require.NoError(t, json.Unmarshal([]byte(o.must("state", id)), &st))
	waitFor(t, 10*time.Second, "the command's output", func() bool { return strings.Count(readFile(out.Name()), "\n") >= 3 })
	require.Equal(t, mapping(0, base, size)+mapping(0, base, size)+"0\n", readFile(out.Name()), "root inside, its ids mapped")
	require.Equal(t, base, hostUID(t, st.Pid), "the container's root is uid %d on the host", base)
	written := filepath.Join(bundle, "rootfs/tmp/written")
	require.Equal(t, base+1000, ownerOf(t, written), "its uid 1000 is the host's %d", base+1000)

	// exec joins the container's user namespace (through nsenter), as root there.
	require.Equal(t, "0\n"+mapping(0, base, size), o.must("exec", id, "sh", "-c", "id -u; cat /proc/self/uid_map"))
	r := o.run("", "exec", id, "sh", "-c", "echo x > /etc/written-by-exec && stat -c %u /etc/written-by-exec")
	require.Equal(t, 0, r.code, "%s", r)
	require.Equal(t, "0\n", r.stdout)
	require.Equal(t, base, ownerOf(t, filepath.Join(bundle, "rootfs/etc/written-by-exec")))

	o.must("kill", id, "KILL")
	waitFor(t, 5*time.Second, "the init's exit", func() bool { return o.status(id) == "stopped" })
	o.must("delete", id)
}

// userBinaries copies mydocker and its helpers where u may run them (the test's copies are in
// a directory of root's alone) and returns mydocker's path.
func userBinaries(t *testing.T, u *testutil.User) string {
	t.Helper()
	dir := filepath.Join(u.Home, "bin")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	for _, suffix := range []string{"", "-init", "-shim", "-runc"} {
		src, err := os.Open(binary + suffix)
		require.NoError(t, err)
		dst, err := os.OpenFile(filepath.Join(dir, "mydocker"+suffix), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
		require.NoError(t, err)
		_, err = io.Copy(dst, src)
		src.Close()
		require.NoError(t, err)
		require.NoError(t, dst.Close())
	}
	return filepath.Join(dir, "mydocker")
}

// An ordinary user runs a container with mydocker-runc: root inside is the user, the user's
// subordinate ids (/etc/subuid) are the container's others, written by newuidmap while the
// init waits; without a cgroup delegated to it, the container runs without limits, and one
// that asks for a limit is refused.
func TestRuntimeUserNamespaceOrdinaryUser(t *testing.T) {
	u := testutil.NewUser(t)
	for _, helper := range []string{"newuidmap", "newgidmap"} {
		if _, err := exec.LookPath(helper); err != nil {
			t.Skipf("needs %s (apt-get install uidmap)", helper)
		}
	}
	runc := userBinaries(t, u) + "-runc"
	bundle := filepath.Join(u.Home, "bundle")
	require.NoError(t, os.MkdirAll(filepath.Join(bundle, "rootfs"), 0o755))
	out, err := exec.Command("tar", "-xf", testutil.BusyboxTar(t), "-C", filepath.Join(bundle, "rootfs")).CombinedOutput()
	require.NoError(t, err, "%s", out)
	shiftOwners(t, bundle, u.UID) // the image as the user unpacked it: root's files are the user's
	require.NoError(t, os.Mkdir(filepath.Join(bundle, "rootfs/home/app"), 0o755))
	require.NoError(t, os.Chown(filepath.Join(bundle, "rootfs/home/app"), int(u.SubID)+999, int(u.SubID)+999))

	runAsUser := func(args ...string) result {
		t.Helper()
		return runBounded(u.Command(runc, append([]string{"--root", filepath.Join(u.Home, "run/runc")}, args...)...), "")
	}
	r := runAsUser("spec", "--rootless", "--bundle", bundle)
	require.Equal(t, 0, r.code, "%s", r)
	editSpec(t, bundle, func(s *specs.Spec) {
		s.Process.Terminal = false
		s.Process.Args = []string{"sh", "-c", "cat /proc/self/uid_map; stat -c %u /home/app; touch /tmp/f; chown 1000:1000 /tmp/f; id -u"}
		s.Linux.UIDMappings = append(s.Linux.UIDMappings, specs.LinuxIDMapping{ContainerID: 1, HostID: u.SubID, Size: u.SubIDs})
		s.Linux.GIDMappings = append(s.Linux.GIDMappings, specs.LinuxIDMapping{ContainerID: 1, HostID: u.SubID, Size: u.SubIDs})
	})
	id := testutil.UniqueName("rootless")
	r = runAsUser("run", "--bundle", bundle, id)
	require.Equal(t, 0, r.code, "%s", r)
	require.Equal(t, mapping(0, u.UID, 1)+mapping(1, int(u.SubID), int(u.SubIDs))+"1000\n0\n", r.stdout, "the user is root inside, its range the rest")
	require.Equal(t, int(u.SubID)+999, ownerOf(t, filepath.Join(bundle, "rootfs/tmp/f")), "uid 1000 inside is the user's subordinate uid")

	// A limit the user's cgroups cannot give: refused, with why.
	editSpec(t, bundle, func(s *specs.Spec) {
		limit := int64(64 << 20)
		s.Linux.Resources = &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &limit}}
	})
	r = runAsUser("run", "--bundle", bundle, id)
	require.Equal(t, 1, r.code, "%s", r)
	require.Contains(t, r.stderr, "cannot limit memory")
	require.Empty(t, u.Processes(), "nothing of the user's left running")
}
