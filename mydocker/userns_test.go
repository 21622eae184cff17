package main

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/stretchr/testify/require"

	"github.com/mydocker/mydocker/cgroups"
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
	for _, suffix := range []string{"", "-init", "-shim", "-runc", "-registry"} {
		src, err := os.Open(binary + suffix)
		if suffix == "-registry" && os.IsNotExist(err) {
			continue // the v2 VM has no registry client: its tests pull nothing
		}
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
	requireRange(t, u)
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

// remapped runs mydocker with --userns-remap remap (MYDOCKER_USERNS_REMAP, as dockerd's flag
// is set for a daemon) and args.
func (e *engineEnv) remapped(remap string, args ...string) result {
	e.t.Helper()
	c := e.cmd(args...)
	c.Env = append(os.Environ(), "MYDOCKER_USERNS_REMAP="+remap)
	r := runBounded(c, "")
	if r.code == -1 {
		e.t.Fatalf("mydocker %s: %s", strings.Join(args, " "), r.stderr)
	}
	return r
}

func (e *engineEnv) mustRemapped(remap string, args ...string) string {
	e.t.Helper()
	r := e.remapped(remap, args...)
	require.Equal(e.t, 0, r.code, "mydocker %s: %s", strings.Join(args, " "), r)
	return r.stdout
}

// pidOf is the host pid of a running container's init.
func (e *engineEnv) pidOf(t *testing.T, name string) int {
	t.Helper()
	return int(e.stateOf(t, name)["State"].(map[string]any)["Pid"].(float64))
}

// A remapped root's containers (--userns-remap USER) run as USER's subordinate ids on the
// host, root inside: their processes, and the files they write as seen through their root;
// the image's layers serve them and unremapped containers alike (idmapped), what they write is
// stored in the container's own ids, so a commit is an ordinary image; exec joins their user
// namespace; --userns=host opts one out; privileged and host-network containers must opt out.
// Nothing of the remapped user's is left after rm.
func TestUsernsRemap(t *testing.T) {
	u := testutil.NewUser(t)
	requireRange(t, u)
	e := newEngine(t)
	sub := int(u.SubID)
	layers := func() int {
		entries, err := os.ReadDir(filepath.Join(e.root, "image/layers/sha256"))
		require.NoError(t, err)
		return len(entries)
	}
	before := layers()

	e.mustRemapped(u.Name, "run", "-d", "--name", "remapped", "-v", "vol:/data", "busybox", "sleep", "1000")
	pid := e.pidOf(t, "remapped")
	require.Equal(t, mapping(0, sub, int(u.SubIDs)), readFile(fmt.Sprintf("/proc/%d/uid_map", pid)))
	require.Equal(t, sub, hostUID(t, pid), "the container's root is the user's first subordinate uid")
	require.Equal(t, "0\n", e.must("exec", "remapped", "id", "-u"), "root inside, for exec too (no --userns-remap needed: the container has its namespace)")
	require.Equal(t, mapping(0, sub, int(u.SubIDs)), e.must("exec", "remapped", "cat", "/proc/self/uid_map"))
	e.must("exec", "remapped", "sh", "-c", "echo x > /written && chown 1000 /written && touch /data/v")
	require.Equal(t, sub+1000, ownerOf(t, fmt.Sprintf("/proc/%d/root/written", pid)), "seen through its root, its uid 1000 is the host's %d", sub+1000)
	id := e.stateOf(t, "remapped")["Id"].(string)
	if _, err := os.Stat(filepath.Join(e.root, "containers", id, "fs/upper")); err == nil {
		require.Equal(t, 1000, ownerOf(t, filepath.Join(e.root, "containers", id, "fs/upper/written")), "stored in the container's own ids (an idmapped overlay)")
	}
	require.Equal(t, sub, ownerOf(t, fmt.Sprintf("/proc/%d/root/data/v", pid)), "a new volume is its root's")
	require.Equal(t, "0\n", e.must("exec", "remapped", "stat", "-c", "%u", "/bin/busybox"), "the image's files are root's inside")
	// cp speaks the container's ids both ways.
	src := filepath.Join(t.TempDir(), "copied")
	require.NoError(t, os.WriteFile(src, []byte("in\n"), 0o644))
	e.must("cp", src, "remapped:/copied")
	require.Equal(t, "0 in\n", e.must("exec", "remapped", "sh", "-c", "echo $(stat -c %u /copied) $(cat /copied)"))
	out := e.cmd("cp", "remapped:/written", "-")
	tarball, err := out.Output()
	require.NoError(t, err)
	hdr, err := tar.NewReader(bytes.NewReader(tarball)).Next()
	require.NoError(t, err)
	require.Equal(t, 1000, hdr.Uid, "cp out gives the container's uid, not the host's")
	// Stopped, it is copied to and from in its own ids as well.
	e.must("stop", "-t", "0", "remapped")
	e.must("cp", src, "remapped:/copied-stopped")
	tarball, err = e.cmd("cp", "remapped:/written", "-").Output()
	require.NoError(t, err)
	hdr, err = tar.NewReader(bytes.NewReader(tarball)).Next()
	require.NoError(t, err)
	require.Equal(t, 1000, hdr.Uid, "cp out of a stopped container gives the container's uid")
	e.must("start", "remapped")
	require.Equal(t, "0 in\n", e.must("exec", "remapped", "sh", "-c", "echo $(stat -c %u /copied-stopped) $(cat /copied-stopped)"))

	// Opted out: the host's user namespace, on the same image's same layers.
	e.mustRemapped(u.Name, "run", "-d", "--name", "host", "--userns", "host", "busybox", "sleep", "1000")
	hostPid := e.pidOf(t, "host")
	require.Equal(t, mapping(0, 0, 4294967295), readFile(fmt.Sprintf("/proc/%d/uid_map", hostPid)))
	require.Equal(t, 0, hostUID(t, hostPid))
	require.Equal(t, "host", e.stateOf(t, "host")["HostConfig"].(map[string]any)["UsernsMode"])
	require.Equal(t, before, layers(), "no copy of a layer per mapping")

	// A commit holds the container's ids: an ordinary image, for any container.
	e.must("commit", "remapped", "committed")
	require.Equal(t, "1000\n", e.must("run", "--rm", "committed", "stat", "-c", "%u", "/written"))

	for _, bad := range []struct{ flag, want string }{
		{"--privileged", "privileged mode is incompatible with user namespaces"},
		{"--net=host", "cannot share the host's network namespace"},
	} {
		r := e.remapped(u.Name, "run", "--rm", bad.flag, "busybox", "true")
		require.Equal(t, 125, r.code, "%s: %s", bad.flag, r)
		require.Contains(t, r.stderr, bad.want)
	}
	r := e.remapped(u.Name, "run", "--rm", "--userns", "private", "busybox", "true")
	require.Equal(t, 125, r.code, "%s", r)
	require.Contains(t, r.stderr, "invalid --userns")

	e.must("rm", "-f", "remapped", "host")
	require.Empty(t, u.Processes(), "nothing of the remapped user's left running")
}

// --userns-remap default makes Docker's dockremap user with a range of its own when it is
// missing, and remaps to it.
func TestUsernsRemapDefault(t *testing.T) {
	testutil.RequiresRoot(t)
	if _, err := user.Lookup("dockremap"); err == nil {
		t.Skip("a dockremap user exists already on this machine: the test would not remove it")
	}
	e := newEngine(t)
	t.Cleanup(func() {
		if out, err := exec.Command("userdel", "dockremap").CombinedOutput(); err != nil {
			t.Errorf("userdel dockremap: %v: %s", err, out)
		}
	})
	out := e.mustRemapped("default", "run", "--rm", "busybox", "cat", "/proc/self/uid_map")
	u, err := user.Lookup("dockremap")
	require.NoError(t, err, "made")
	subuid := readFile("/etc/subuid")
	require.Regexp(t, `(?m)^dockremap:\d+:65536$`, subuid)
	require.Regexp(t, `(?m)^dockremap:\d+:65536$`, readFile("/etc/subgid"))
	var start int
	for _, line := range strings.Split(subuid, "\n") {
		if rest, ok := strings.CutPrefix(line, "dockremap:"); ok {
			start, err = strconv.Atoi(strings.Split(rest, ":")[0])
			require.NoError(t, err)
		}
	}
	require.GreaterOrEqual(t, start, 100000)
	require.Equal(t, mapping(0, start, 65536), out)
	require.NotEqual(t, "0", u.Uid)
	// Again: the same user and range, nothing added.
	e.mustRemapped("default", "run", "--rm", "busybox", "true")
	require.Equal(t, subuid, readFile("/etc/subuid"))
}

// requireRange skips a test whose user has no subordinate ids (made without shadow's tools).
func requireRange(t *testing.T, u *testutil.User) {
	if u.SubIDs == 0 {
		t.Skip("needs shadow's useradd and usermod, for a user with a range of subordinate ids")
	}
	for _, tool := range []string{"newuidmap", "newgidmap"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (apt-get install uidmap)", tool)
		}
	}
}

// userEngine is mydocker run by an ordinary user, with its own root and runtime directory.
type userEngine struct {
	t   *testing.T
	u   *testutil.User
	bin string
	// cgroup, when set, is the directory of the cgroup its processes start in (open).
	cgroup *os.File
}

func newUserEngine(t *testing.T) *userEngine {
	return userEngineOf(t, testutil.NewUser(t))
}

// userEngineOf is u's mydocker; its containers are removed after the test.
func userEngineOf(t *testing.T, u *testutil.User) *userEngine {
	if _, err := exec.LookPath("nsenter"); err != nil {
		t.Skip("needs nsenter (util-linux, or busybox's)")
	}
	ue := &userEngine{t: t, u: u, bin: userBinaries(t, u)}
	t.Cleanup(func() {
		out, _ := ue.cmd("ps", "-aq").Output()
		for _, id := range strings.Fields(string(out)) {
			ue.cmd("rm", "-f", id).Run()
		}
	})
	return ue
}

func (ue *userEngine) cmd(args ...string) *exec.Cmd {
	c := ue.u.Command(ue.bin, args...)
	if ue.cgroup != nil {
		c.SysProcAttr.UseCgroupFD, c.SysProcAttr.CgroupFD = true, int(ue.cgroup.Fd())
	}
	return c
}

func (ue *userEngine) run(args ...string) result {
	ue.t.Helper()
	r := runBounded(ue.cmd(args...), "")
	if r.code == -1 {
		ue.t.Fatalf("mydocker %s: %s", strings.Join(args, " "), r.stderr)
	}
	return r
}

func (ue *userEngine) must(args ...string) string {
	ue.t.Helper()
	r := ue.run(args...)
	require.Equal(ue.t, 0, r.code, "mydocker %s (as %s): %s", strings.Join(args, " "), ue.u.Name, r)
	return r.stdout
}

// userCanUseTun opens /dev/net/tun to users for the test, when this host keeps it root's
// (0600; distributions ship it 0666): user-mode networking opens it as the user. Its mode
// comes back after.
func userCanUseTun(t *testing.T) {
	fi, err := os.Stat("/dev/net/tun")
	if err != nil {
		t.Skipf("needs /dev/net/tun: %v", err)
	}
	if mode := fi.Mode().Perm(); mode&0o006 != 0o006 {
		require.NoError(t, os.Chmod("/dev/net/tun", mode|0o006))
		t.Cleanup(func() { os.Chmod("/dev/net/tun", mode) })
	}
}

// mydocker run by an ordinary user with a range in /etc/subuid: its own root in its home,
// import, pull, run (root inside is the user, the user's range the rest), -d with a port
// published on the host's loopback through slirp4netns, exec, logs, stop, rm, commit; a limit
// it cannot have is refused with 125 (this host's cgroups are v1: nothing is delegated); and
// nothing of the user's is left after.
func TestRootless(t *testing.T) {
	if _, err := exec.LookPath("slirp4netns"); err != nil {
		t.Skip("needs slirp4netns (apt-get install slirp4netns)")
	}
	userCanUseTun(t)
	ue := newUserEngine(t)
	u := ue.u
	requireRange(t, u)
	sub := int(u.SubID)
	tarball := filepath.Join(u.Home, "busybox.tar")
	data, err := os.ReadFile(testutil.BusyboxTar(t))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(tarball, data, 0o644))

	ue.must("import", tarball, "busybox")
	root := filepath.Join(u.Home, "data/mydocker")
	require.DirExists(t, filepath.Join(root, "image"), "the user's own root, in $XDG_DATA_HOME")
	require.Equal(t, u.UID, ownerOf(t, root))
	require.Equal(t, mapping(0, u.UID, 1)+mapping(1, sub, int(u.SubIDs))+"0\n",
		ue.must("run", "--rm", "busybox", "sh", "-c", "cat /proc/self/uid_map; id -u"), "root inside is the user, its range the others")

	// Detached, with a port on the host's loopback and a file of uid 1000's.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	id := strings.TrimSpace(ue.must("run", "-d", "--name", "web", "-p", fmt.Sprintf("127.0.0.1:%d:80", port), "busybox",
		"sh", "-c", "echo hello from $(id -u) > /index.html && touch /owned && chown 1000 /owned && echo started && exec httpd -f -p 80 -h /"))
	pid := ue.pidOf("web")
	require.Equal(t, u.UID, hostUID(t, pid), "the container's root is the user on the host")
	var body string
	waitFor(t, 10*time.Second, "the published port to answer", func() bool {
		resp, err := (&http.Client{Timeout: time.Second}).Get(fmt.Sprintf("http://127.0.0.1:%d/index.html", port))
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
		return resp.StatusCode == http.StatusOK
	})
	require.Equal(t, "hello from 0\n", body)
	require.Equal(t, sub+999, ownerOf(t, filepath.Join(root, "containers", id, "fs/upper/owned")), "its uid 1000 is the user's subordinate uid on the host")
	require.Equal(t, "0\n10.0.2.100\n", ue.must("exec", "web", "sh", "-c", "id -u; ip -4 -o addr show tap0 | sed 's/.*inet \\([0-9.]*\\).*/\\1/'"))
	require.Equal(t, "started\n", ue.must("logs", "web"))
	ue.must("commit", "web", "webimg")
	require.Equal(t, "hello from 0\n", ue.must("run", "--rm", "--net", "none", "webimg", "cat", "/index.html"))
	ue.must("stop", "-t", "1", "web")
	ue.must("rm", "web")
	require.NoDirExists(t, filepath.Join(root, "containers", id))

	// --net host: the host's network, as the user.
	require.Contains(t, ue.must("run", "--rm", "--net", "host", "busybox", "ip", "-o", "link"), "lo:")

	// Limits need cgroups the user has none of here: refused, never run without.
	r := ue.run("run", "--rm", "-m", "64m", "busybox", "true")
	require.Equal(t, 125, r.code, "%s", r)
	require.Contains(t, r.stderr, "cannot limit memory")
	r = ue.run("network", "create", "mine")
	require.NotEqual(t, 0, r.code)
	require.Contains(t, r.stderr, "rootless")
	r = ue.run("--userns-remap", "default", "ps")
	require.NotEqual(t, 0, r.code)
	require.Contains(t, r.stderr, "--userns-remap is root's")

	require.Empty(t, strings.TrimSpace(ue.must("ps", "-aq")))
	waitFor(t, 10*time.Second, "the user's processes to be gone (the namespace's holder last)", func() bool { return len(u.Processes()) == 0 })
	entries, err := os.ReadDir(filepath.Join(root, "containers"))
	require.NoError(t, err)
	for _, e := range entries {
		require.True(t, strings.HasPrefix(e.Name(), "."), "a container left: %s", e.Name())
	}
}

// pidOf is the host pid of a running container of the user's.
func (ue *userEngine) pidOf(name string) int {
	ue.t.Helper()
	out := ue.must("inspect", "--format", "{{.State.Pid}}", name)
	pid, err := strconv.Atoi(strings.TrimSpace(out))
	require.NoError(ue.t, err)
	return pid
}

// An ordinary user pulls an image from a registry (here a local one, on the loopback) into its
// own root and runs it.
func TestRootlessPull(t *testing.T) {
	reg := startRegistry(t, registryOptions{})
	e := newEngine(t)
	e.must("run", "--net", "none", "--name", "mk", "busybox", "sh", "-c", "echo pulled > /pulled && chown 42 /pulled")
	e.must("commit", "mk", reg.addr+"/app:1")
	e.must("push", reg.addr+"/app:1")
	ue := newUserEngine(t)
	requireRange(t, ue.u) // the image has a file of uid 42
	ue.must("pull", reg.addr+"/app:1")
	require.Equal(t, "pulled 42\n", ue.must("run", "--rm", "--net", "none", reg.addr+"/app:1", "sh", "-c", "echo $(cat /pulled) $(stat -c %u /pulled)"))
}

// mydocker doctor run by an ordinary user says what rootless needs and is missing, and how to
// get it: here, its subordinate ids, then their absence.
func TestRootlessDoctor(t *testing.T) {
	u := testutil.NewUser(t)
	requireRange(t, u)
	bin := userBinaries(t, u)
	r := runBounded(u.Command(bin, "doctor"), "")
	require.Contains(t, r.stdout, "rootless (see the checks below)")
	require.Regexp(t, `(?m)^subordinate ids +65536 uids after your own \(`+strconv.Itoa(u.UID)+`\) +ok$`, r.stdout)
	require.Regexp(t, `(?m)^cgroup limits +`, r.stdout)
	require.Regexp(t, `(?m)^newuidmap +\S+ +(ok|MISSING)$`, r.stdout)
	span := fmt.Sprintf("%d-%d", u.SubID, u.SubID+u.SubIDs-1)
	out, err := exec.Command("usermod", "--del-subuids", span, "--del-subgids", span, u.Name).CombinedOutput()
	require.NoError(t, err, "%s", out)
	r = runBounded(u.Command(bin, "doctor"), "")
	require.Regexp(t, `(?m)^subordinate ids +/etc/subuid gives `+u.Name+` no range of ids .* +warning$`, r.stdout)
	require.Contains(t, r.stdout, "- subordinate ids: as root: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 "+u.Name)
}

// An ordinary user to whom the host delegates a cgroup v2 tree (as systemd does user@UID.service
// with Delegate=yes; here the test, as root, chowns one to it and starts the user's mydocker in
// a cgroup below it) gets limits: its containers' cgroups are made in its tree, beside its own
// cgroup, with the limits it asks for; rm takes them away. This host is cgroup v1: the test runs
// in the cgroup v2 VM (make test-vm), where the user has no subordinate ids (no shadow tools,
// no newuidmap): one id, root, and busybox's files are all root's.
func TestRootlessDelegatedCgroups(t *testing.T) {
	testutil.RequiresRoot(t)
	if cgroups.DetectMode() != cgroups.Unified {
		t.Skip("needs cgroup v2 alone, to delegate a tree to a user: it runs in the cgroup v2 VM (make test-vm)")
	}
	u := testutil.NewUser(t)
	tree := filepath.Join("/sys/fs/cgroup", u.Name)
	session := filepath.Join(tree, "session")
	for _, c := range []string{"memory", "pids", "cpu"} {
		// The root hands them down, as systemd does to user.slice.
		os.WriteFile("/sys/fs/cgroup/cgroup.subtree_control", []byte("+"+c), 0)
	}
	for _, d := range []string{tree, session} {
		require.NoError(t, os.Mkdir(d, 0o755))
		t.Cleanup(func() {
			// The user's namespace holder may still be on its way out of the session: a dying
			// process has left cgroup.procs but keeps the cgroup populated (rmdir: EBUSY).
			waitFor(t, 5*time.Second, d+" to be empty", func() bool {
				return strings.Contains(readFile(filepath.Join(d, "cgroup.events")), "populated 0")
			})
			if err := syscall.Rmdir(d); err != nil {
				t.Errorf("remove the delegated cgroup %s: %v", d, err)
			}
		})
		for _, f := range []string{"", "cgroup.procs", "cgroup.threads", "cgroup.subtree_control"} {
			require.NoError(t, os.Chown(filepath.Join(d, f), u.UID, u.GID), "delegate %s", d)
		}
	}
	dir, err := os.Open(session)
	require.NoError(t, err)
	defer dir.Close()
	// Its containers go before its cgroups (cleanups run last first).
	ue := userEngineOf(t, u)
	ue.cgroup = dir

	tarball := filepath.Join(u.Home, "busybox.tar")
	data, err := os.ReadFile(testutil.BusyboxTar(t))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(tarball, data, 0o644))
	ue.must("import", tarball, "busybox")
	id := strings.TrimSpace(ue.must("run", "-d", "--net", "none", "--storage-driver", "vfs", "-m", "64m", "--pids-limit", "50",
		"busybox", "sleep", "1000"))
	own := filepath.Join(tree, "mydocker", id)
	require.Equal(t, "67108864\n", readFile(filepath.Join(own, "memory.max")), "the container's cgroup is in the user's tree")
	require.Equal(t, "50\n", readFile(filepath.Join(own, "pids.max")))
	require.Equal(t, u.UID, ownerOf(t, own))
	require.Contains(t, readFile(fmt.Sprintf("/proc/%d/cgroup", ue.pidOf(id))), "/"+u.Name+"/mydocker/"+id)
	require.Equal(t, "67108864\n", ue.must("exec", id, "cat", "/sys/fs/cgroup/memory.max"), "and its own /sys/fs/cgroup shows it")
	ue.must("pause", id)
	ue.must("unpause", id)
	ue.must("rm", "-f", id)
	require.NoDirExists(t, own)
	require.NoDirExists(t, filepath.Join(tree, "mydocker"), "the parent goes with the last container")
}
