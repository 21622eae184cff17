package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mydocker/mydocker/internal/testutil"
)

// binary is the mydocker built once for the privileged tests, which drive it as a user would.
var binary string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	if addr := os.Getenv("MYDOCKER_TEST_FAKE_DNS"); addr != "" { // a test's fake upstream resolver
		serveFakeDNS(addr)
		return 0
	}
	flag.Parse()
	// The cgroup v2 VM has no Go toolchain: it hands over a prebuilt binary.
	if prebuilt := os.Getenv("MYDOCKER_BINARY"); prebuilt != "" {
		binary = prebuilt
		return m.Run()
	}
	if os.Geteuid() == 0 && !testing.Short() {
		dir, err := os.MkdirTemp("", "mydocker-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		binary = filepath.Join(dir, "mydocker")
		// Static, as make builds them (and as the VM needs them): mydocker, its init, its
		// shim, its registry client, its builder, its API server, its names resolver and the
		// runtime's command line.
		for _, b := range [][2]string{{binary, "."}, {binary + "-init", "./init"}, {binary + "-shim", "./shim"}, {binary + "-registry", "./registry"}, {binary + "-build", "./build"}, {binary + "-runc", "./runc"}, {binary + "-serve", "./serve"}, {binary + "-dns", "./dns"}} {
			build := exec.Command("go", "build", "-o", b[0], b[1])
			build.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := build.CombinedOutput(); err != nil {
				fmt.Fprintf(os.Stderr, "build %s: %v\n%s", b[0], err, out)
				return 1
			}
		}
	}
	return m.Run()
}

// engineEnv is one test's mydocker: its own root with a busybox image.
type engineEnv struct {
	t    *testing.T
	root string
	bin  string // the mydocker it runs: binary, unless a test needs a copy of its own
}

func newEngine(t *testing.T) *engineEnv {
	t.Helper()
	testutil.RequiresRoot(t)
	tarball := testutil.BusyboxTar(t)
	e := &engineEnv{t: t, root: t.TempDir(), bin: binary}
	t.Cleanup(e.cleanup)
	e.must("import", tarball, "busybox")
	return e
}

type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
}

// cmd prepares mydocker --root ROOT args...
func (e *engineEnv) cmd(args ...string) *exec.Cmd {
	if noBridge && len(args) > 0 && (args[0] == "run" || args[0] == "create") && !slices.ContainsFunc(args, isNetFlag) {
		args = append([]string{args[0], "--net", "none"}, args[1:]...)
	}
	return exec.Command(e.bin, append([]string{"--root", e.root}, args...)...)
}

// noBridge is set in the cgroup v2 VM, whose kernel has no bridge or veth module and which has
// no iptables: there a container a test runs without --net goes on no network, where on the
// host it joins the default bridge (the network tests run on the host only).
var noBridge = os.Getenv("MYDOCKER_TEST_NO_BRIDGE") != ""

func isNetFlag(arg string) bool {
	return arg == "--net" || arg == "--network" || strings.HasPrefix(arg, "--net=") || strings.HasPrefix(arg, "--network=")
}

func (e *engineEnv) run(args ...string) result {
	e.t.Helper()
	return e.runStdin("", args...)
}

// runStdin runs mydocker with stdin (bounded to 60 s, see runBounded).
func (e *engineEnv) runStdin(stdin string, args ...string) result {
	e.t.Helper()
	r := runBounded(e.cmd(args...), stdin)
	if r.code == -1 {
		e.t.Fatalf("mydocker %s: %s", strings.Join(args, " "), r.stderr)
	}
	return r
}

// must runs mydocker and fails the test unless it exits 0; it returns stdout.
func (e *engineEnv) must(args ...string) string {
	e.t.Helper()
	r := e.run(args...)
	require.Equal(e.t, 0, r.code, "mydocker %s: %s", strings.Join(args, " "), r)
	return r.stdout
}

// cleanup removes every container and network (a bridge and its rules are the host's), then
// checks that nothing of this root is still mounted.
func (e *engineEnv) cleanup() {
	out, _ := e.cmd("ps", "-aq").Output()
	for _, id := range strings.Fields(string(out)) {
		e.cmd("rm", "-f", id).Run()
	}
	out, _ = e.cmd("network", "ls").Output()
	for _, line := range strings.Split(string(out), "\n")[1:] {
		if f := strings.Fields(line); len(f) > 1 {
			e.cmd("network", "rm", f[1]).Run()
		}
	}
	data, _ := os.ReadFile("/proc/self/mountinfo")
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], e.root) {
			e.t.Errorf("left mounted: %s", f[4])
			exec.Command("umount", "-l", f[4]).Run()
		}
	}
}

func (e *engineEnv) containerDirs() []string {
	entries, _ := os.ReadDir(filepath.Join(e.root, "containers"))
	var out []string
	for _, d := range entries {
		if d.IsDir() && !strings.HasPrefix(d.Name(), ".") { // .names: the name index
			out = append(out, d.Name())
		}
	}
	return out
}

func TestRunExitCodes(t *testing.T) {
	e := newEngine(t)
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"true", []string{"busybox", "true"}, 0, ""},
		{"false", []string{"busybox", "false"}, 1, ""},
		{"own code", []string{"busybox", "sh", "-c", "exit 72"}, 72, ""},
		{"not found", []string{"busybox", "/no/such/command"}, 127, "no such file or directory"},
		{"not in PATH", []string{"busybox", "nosuchcommand"}, 127, "executable file not found in $PATH"},
		{"not executable", []string{"busybox", "/etc"}, 126, "permission denied"},
		{"no such image", []string{"nosuchimage", "true"}, 125, "import"},
		{"bad flag", []string{"--bogus", "busybox", "true"}, 125, "bogus"},
		{"bad workdir", []string{"-w", "relative", "busybox", "true"}, 125, "absolute"},
		{"unknown user", []string{"-u", "nosuch", "busybox", "true"}, 125, "unable to find user nosuch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.run(append([]string{"run", "--rm"}, tc.args...)...)
			require.Equal(t, tc.code, r.code, "%s", r)
			require.Contains(t, r.stderr, tc.msg)
		})
	}
	require.Empty(t, e.containerDirs(), "a failed or --rm run must leave no container behind")
}

func TestRunIsolation(t *testing.T) {
	e := newEngine(t)
	hostProcBefore, err := os.ReadFile("/proc/self/mountinfo")
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		args []string
		want string // a regexp the output must match
	}{
		{"pid 1", []string{"busybox", "sh", "-c", "echo $$"}, `^1\n$`},
		{"few processes", []string{"busybox", "sh", "-c", "ls -d /proc/[0-9]* | wc -l"}, `^\s*[1-3]\n$`},
		{"hostname flag", []string{"--hostname", "foo.bar", "busybox", "hostname"}, `^foo\.bar\n$`},
		{"hostname is short id", []string{"busybox", "hostname"}, `^[0-9a-f]{12}\n$`},
		{"environment", []string{"-e", "FOO=bar", "busybox", "env"}, `(?s)^PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nHOSTNAME=[0-9a-f]{12}\nFOO=bar\nHOME=/root\n$`},
		{"workdir", []string{"-w", "/tmp/new", "busybox", "pwd"}, `^/tmp/new\n$`},
		{"rootfs is the image", []string{"busybox", "sh", "-c", "test -f /bin/busybox && test ! -e /work && test ! -e /root/go && echo image"}, `^image\n$`},
		{"dev null", []string{"busybox", "ls", "-l", "/dev/null"}, `^crw-rw-rw-\s+1 root\s+root\s+1,\s+3 `},
		{"dev nodes", []string{"busybox", "sh", "-c", "cd /dev && ls"}, `^fd\nfull\nmqueue\nnull\nptmx\npts\nrandom\nshm\nstderr\nstdin\nstdout\ntty\nurandom\nzero\n$`},
		{"proc mounted", []string{"busybox", "grep", " /proc ", "/proc/mounts"}, `proc /proc proc rw`},
		{"sys read-only", []string{"busybox", "sh", "-c", "grep ' /sys ' /proc/mounts"}, `sysfs /sys sysfs ro,`},
		{"shm 64m", []string{"busybox", "sh", "-c", "df -k /dev/shm | tail -1"}, `\s65536\s`},
		{"proc/keys masked", []string{"busybox", "sh", "-c", "wc -c < /proc/keys"}, `^\s*0\n$`},
		{"umask", []string{"busybox", "sh", "-c", "umask"}, `^0022\n$`},
		{"proc/sys read-only", []string{"busybox", "sh", "-c", "echo 1 > /proc/sys/kernel/panic 2>/dev/null && echo writable || echo readonly"}, `^readonly\n$`},
		{"no pivot", []string{"--no-pivot", "busybox", "sh", "-c", "echo $$; test -f /bin/busybox && echo image"}, `^1\nimage\n$`},
		{"no pivot hostname", []string{"--no-pivot", "-h", "np", "busybox", "hostname"}, `^np\n$`},
		{"user by name", []string{"-u", "nobody", "busybox", "sh", "-c", "id; echo $HOME"}, `^uid=65534\(nobody\) gid=65534\(nogroup\) groups=65534\(nogroup\)\n/nonexistent\n$`},
		{"user by id", []string{"-u", "1000:1000", "busybox", "sh", "-c", "id; echo $HOME"}, `^uid=1000 gid=1000 groups=1000\n/\n$`},
		{"root's groups", []string{"busybox", "id"}, `^uid=0\(root\) gid=0\(root\) groups=0\(root\)\n$`},
		{"read-only root", []string{"--read-only", "busybox", "sh", "-c", "touch /x 2>/dev/null || echo ro; touch /dev/shm/y && echo shm-rw"}, `^ro\nshm-rw\n$`},
		{"etc hosts", []string{"busybox", "cat", "/etc/hosts"}, `^127\.0\.0\.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n`},
		{"etc hostname", []string{"-h", "named", "busybox", "cat", "/etc/hostname"}, `^named\n$`},
		{"etc resolv.conf", []string{"busybox", "sh", "-c", "grep -c nameserver /etc/resolv.conf"}, `^[1-9]\n$`},
		{"stdin with -i", []string{"-i", "busybox", "cat"}, `^piped\n$`},
		{"no stdin without -i", []string{"busybox", "cat"}, `^$`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.runStdin("piped\n", append([]string{"run", "--rm"}, tc.args...)...)
			require.Equal(t, 0, r.code, "%s", r)
			require.Regexp(t, tc.want, r.stdout)
		})
	}
	hostProcAfter, err := os.ReadFile("/proc/self/mountinfo")
	require.NoError(t, err)
	require.Equal(t, string(hostProcBefore), string(hostProcAfter), "the host's mounts must not change")
	_, err = os.Stat("/proc/self/exe")
	require.NoError(t, err, "the host's /proc must stay intact")
}

func TestStdoutApartFromStderr(t *testing.T) {
	e := newEngine(t)
	r := e.run("run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2")
	require.Equal(t, 0, r.code, "%s", r)
	require.Equal(t, "out\n", r.stdout)
	require.Equal(t, "err\n", r.stderr)
}

func TestVolumes(t *testing.T) {
	e := newEngine(t)
	vol := t.TempDir()
	e.must("run", "--rm", "-v", vol+":/data", "busybox", "sh", "-c", "echo hi > /data/f")
	data, err := os.ReadFile(filepath.Join(vol, "f"))
	require.NoError(t, err)
	require.Equal(t, "hi\n", string(data))

	r := e.run("run", "--rm", "-v", vol+":/data:ro", "busybox", "sh", "-c", "echo x > /data/g")
	require.NotEqual(t, 0, r.code)
	require.Contains(t, r.stderr, "Read-only file system")
	require.NoFileExists(t, filepath.Join(vol, "g"))
	require.Equal(t, "hi\n", e.must("run", "--rm", "-v", vol+":/data:ro", "busybox", "cat", "/data/f"))

	// A bare name is a named volume (TestNamedVolumes); a relative path is neither.
	r = e.run("run", "--rm", "-v", "./relative:/data", "busybox", "true")
	require.Equal(t, 125, r.code, "%s", r)
	r = e.run("run", "--rm", "-v", vol+":/data:bogus", "busybox", "true")
	require.Equal(t, 125, r.code, "%s", r)
}

func TestCopyOnWrite(t *testing.T) {
	e := newEngine(t)
	e.must("run", "--rm", "busybox", "rm", "/bin/ls")
	e.must("run", "--rm", "busybox", "sh", "-c", "echo changed > /etc/passwd")
	require.Contains(t, e.must("run", "--rm", "busybox", "ls", "/bin/ls"), "/bin/ls")
	require.Contains(t, e.must("run", "--rm", "busybox", "cat", "/etc/passwd"), "root:x:0:0")
}

func TestStorageDrivers(t *testing.T) {
	e := newEngine(t)
	r := e.run("run", "--rm", "--storage-driver", "vfs", "busybox", "sh", "-c", "rm /bin/ls && echo ok")
	require.Equal(t, 0, r.code, "%s", r)
	require.Contains(t, e.must("run", "--rm", "--storage-driver", "vfs", "busybox", "ls", "/bin/ls"), "/bin/ls")
	r = e.run("run", "--rm", "--storage-driver", "bogus", "busybox", "true")
	require.Equal(t, 125, r.code, "%s", r)
	require.Empty(t, e.containerDirs())
}

func TestFailedStartLeavesNothing(t *testing.T) {
	e := newEngine(t)
	for _, args := range [][]string{
		{"-w", "/etc/passwd", "busybox", "true"},                // the init cannot make its working directory
		{"-v", "/proc/self/mountinfo:/proc", "busybox", "true"}, // a bind the init cannot make (a file over a directory)
		{"-d", "-w", "/etc/passwd", "busybox", "true"},
		{"--name", "bad/name", "busybox", "true"},
	} {
		r := e.run(append([]string{"run"}, args...)...)
		require.Equal(t, 125, r.code, "%v: %s", args, r)
		require.NotEmpty(t, r.stderr, "%v: the error is explained", args)
	}
	require.Empty(t, e.containerDirs())
	require.Empty(t, strings.TrimSpace(e.must("ps", "-aq")))
}
