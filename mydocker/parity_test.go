package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mydocker/mydocker/internal/testutil"
	"github.com/mydocker/mydocker/workspace"
)

// The parity tests run the same command under the real Docker engine (Debian's docker.io,
// Docker 20.10) and under mydocker, and compare what a user sees: stdout (and stderr where it
// says something), and the exit status. A difference is either fixed or listed, with its
// reason, in docs/differences.md and in the known field below — so a new difference fails.
// `make parity` prints the whole table.

var parityTable = flag.Bool("parity.table", false, "print the Docker parity table")

// dockerd is a private Docker daemon for one test run: its own data, exec root, socket and
// config under a temporary directory, with no bridge, no iptables and no IP forwarding, so it
// changes nothing on the machine.
type dockerd struct {
	dir, client string
	cmd         *exec.Cmd
}

// cleanRunContainerd removes, after the test, what containerd's shims keep in /run/containerd
// (sockets, fifos, runc's state) whatever a private daemon's config says, when the test made it.
func cleanRunContainerd(t testing.TB) {
	if _, err := os.Stat("/run/containerd"); os.IsNotExist(err) {
		t.Cleanup(func() { os.RemoveAll("/run/containerd") })
	}
}

// cleanCgroupParent removes, after the test, the cgroup parent (and what is left below it)
// that a daemon's containers had in every hierarchy, when the test made it.
func cleanCgroupParent(t testing.TB, parent string) {
	if dirs, _ := filepath.Glob("/sys/fs/cgroup/*/" + parent); len(dirs) > 0 {
		return
	}
	if _, err := os.Stat("/sys/fs/cgroup/" + parent); err == nil {
		return
	}
	t.Cleanup(func() {
		dirs, _ := filepath.Glob("/sys/fs/cgroup/*/" + parent + "/*/")
		more, _ := filepath.Glob("/sys/fs/cgroup/" + parent + "/*/")
		for _, d := range append(dirs, more...) {
			os.Remove(d)
		}
		parents, _ := filepath.Glob("/sys/fs/cgroup/*/" + parent)
		for _, d := range append(parents, "/sys/fs/cgroup/"+parent) {
			os.Remove(d)
		}
	})
}

func startDockerd(t testing.TB, extra ...string) *dockerd {
	t.Helper()
	testutil.RequiresRoot(t)
	cleanRunContainerd(t)
	cleanCgroupParent(t, "docker")
	daemon, err := exec.LookPath("dockerd")
	if err != nil {
		t.Skip("needs dockerd (apt-get install docker.io)")
	}
	client := "/usr/bin/docker" // Debian's client, the daemon's own version
	if _, err := os.Stat(client); err != nil {
		if client, err = exec.LookPath("docker"); err != nil {
			t.Skip("needs the docker client (apt-get install docker.io)")
		}
	}
	// Not t.TempDir: a unix socket path must stay under 108 bytes.
	dir, err := os.MkdirTemp("", "mydocker-dockerd-")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "daemon.json"), []byte("{}\n"), 0o644))
	logFile, err := os.Create(filepath.Join(dir, "dockerd.log"))
	require.NoError(t, err)
	d := &dockerd{dir: dir, client: client}
	d.cmd = exec.Command(daemon,
		"--data-root", filepath.Join(dir, "data"),
		"--exec-root", filepath.Join(dir, "exec"),
		"--host", "unix://"+filepath.Join(dir, "docker.sock"),
		"--pidfile", filepath.Join(dir, "docker.pid"),
		"--config-file", filepath.Join(dir, "daemon.json"),
		"--bridge=none", "--iptables=false", "--ip-forward=false", "--ip-masq=false",
		"--userland-proxy=false", "--log-level=warn")
	d.cmd.Args = append(d.cmd.Args, extra...)
	d.cmd.Stdout, d.cmd.Stderr = logFile, logFile
	require.NoError(t, d.cmd.Start())
	t.Cleanup(func() { d.stop(t); logFile.Close() })
	deadline := time.Now().Add(60 * time.Second)
	for exec.Command(client, "-H", d.host(), "version").Run() != nil {
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logFile.Name())
			t.Fatalf("dockerd did not answer in 60 s:\n%s", log)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return d
}

// loadImage gives dockerd the busybox image of e, saved by our own code as a docker-archive.
func (d *dockerd) loadImage(t *testing.T, e *engineEnv) { d.loadImageFrom(t, e.root) }

// loadImageFrom gives dockerd the busybox image of the mydocker root.
func (d *dockerd) loadImageFrom(t testing.TB, root string) {
	t.Helper()
	store, err := workspace.Open(root)
	require.NoError(t, err)
	archive := filepath.Join(t.TempDir(), "busybox.tar")
	f, err := os.Create(archive)
	require.NoError(t, err)
	require.NoError(t, store.SaveDockerArchive(f, "busybox"))
	require.NoError(t, f.Close())
	r := d.docker("", "load", "-i", archive)
	require.Equal(t, 0, r.code, "docker load: %s", r)
}

func (d *dockerd) host() string { return "unix://" + filepath.Join(d.dir, "docker.sock") }

func (d *dockerd) docker(stdin string, args ...string) result {
	c := exec.Command(d.client, append([]string{"-H", d.host()}, args...)...)
	return runBounded(c, stdin)
}

// stop removes the daemon's containers, stops it (and the containerd it started), and
// removes everything it made.
func (d *dockerd) stop(t testing.TB) {
	if out, err := exec.Command(d.client, "-H", d.host(), "ps", "-aq").Output(); err == nil {
		for _, id := range strings.Fields(string(out)) {
			exec.Command(d.client, "-H", d.host(), "rm", "-f", id).Run()
		}
	}
	endDaemon(d.cmd)
	killNaming(d.dir)
	unmountWhere(func(mountPoint string) bool { return strings.HasPrefix(mountPoint, d.dir) })
	os.RemoveAll(d.dir)
}

// runBounded runs c with stdin, bounded in time, and collects what it printed and its status.
func runBounded(c *exec.Cmd, stdin string) result {
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	if stdin != "" {
		c.Stdin = strings.NewReader(stdin)
	}
	if err := c.Start(); err != nil {
		return result{stderr: err.Error(), code: -1}
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		c.Process.Kill()
		err = <-done
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	}
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

// parityNet goes with every run of a parity row under either engine: the test's dockerd has
// no bridge (nothing of its own on the host's network), so the rows compare containers on no
// network but loopback; the default bridge network is tested in network_test.go.
var parityNet = []string{"--net", "none"}

// dockerRunFlags go with every docker run: parityNet, and never a pull: no test may reach
// beyond this machine.
var dockerRunFlags = append(parityNet, "--pull", "never")

// parityCase is one behaviour: `run --rm ARGS` under both engines.
type parityCase struct {
	name   string
	args   []string // run flags, image, command
	stdin  string
	stderr bool   // compare stderr too
	known  string // why mydocker differs, on purpose or until the named issue lands
}

var idPattern = regexp.MustCompile(`\b[0-9a-f]{64}\b|\b[0-9a-f]{12}\b`)

// normalize folds what legitimately differs between two runs: container ids and short ids
// (the default hostname).
func normalize(s string) string { return idPattern.ReplaceAllString(s, "<id>") }

func parityCases(volume string) []parityCase {
	sh := func(name, script string) parityCase {
		return parityCase{name: name, args: []string{"busybox", "sh", "-c", script}}
	}
	cases := []parityCase{
		{name: "exit 0", args: []string{"busybox", "true"}},
		{name: "exit 1", args: []string{"busybox", "false"}},
		{name: "exit n", args: []string{"busybox", "sh", "-c", "exit 42"}},
		{name: "not found: 127", args: []string{"busybox", "/no/such"}},
		{name: "not in PATH: 127", args: []string{"busybox", "nosuchcommand"}},
		{name: "not executable: 126", args: []string{"busybox", "/etc"}},
		{name: "id", args: []string{"busybox", "id"}},
		{name: "-u by name", args: []string{"-u", "nobody", "busybox", "sh", "-c", "id; echo $HOME"}},
		{name: "-u uid:gid", args: []string{"-u", "1000:1000", "busybox", "sh", "-c", "id; echo $HOME"}},
		sh("environment", "env | sort"),
		{name: "-e", args: []string{"-e", "FOO=bar", "-e", "PATH=/bin", "busybox", "sh", "-c", "env | sort"}},
		{name: "working directory", args: []string{"busybox", "pwd"}},
		{name: "-w", args: []string{"-w", "/tmp", "busybox", "pwd"}},
		{name: "-w creates it", args: []string{"-w", "/new/dir", "busybox", "pwd"}},
		{name: "hostname", args: []string{"busybox", "hostname"}},
		{name: "-h", args: []string{"-h", "web.example", "busybox", "hostname"}},
		sh("/etc/hosts", "cat /etc/hosts"),
		sh("/etc/hostname", "cat /etc/hostname"),
		sh("/etc/resolv.conf", "cat /etc/resolv.conf"),
		sh("/dev entries", `cd /dev && for f in *; do stat -c "%n %F %a %u:%g %t:%T %N" $f; done`),
		sh("/dev/pts", "ls /dev/pts"),
		sh("PID 1", `echo $$; tr "\0" " " < /proc/1/cmdline`),
		sh("umask", "umask"),
		sh("network: loopback only", "ip -o link | awk '{print $2, $3}'"),
		sh("capabilities", "grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb)' /proc/self/status"),
		sh("seccomp, no_new_privs", "grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status"),
		{name: "-u 1000: no capabilities", args: []string{"-u", "1000", "busybox", "grep", "^Cap", "/proc/self/status"}},
		{name: "--cap-add NET_ADMIN", args: []string{"--cap-add", "NET_ADMIN", "busybox", "sh", "-c", "ip link set lo mtu 1400 && echo changed"}},
		{name: "--cap-add sys_time", args: []string{"--cap-add", "sys_time", "busybox", "grep", "^CapEff", "/proc/self/status"}},
		{name: "--cap-drop MKNOD", args: []string{"--cap-drop", "MKNOD", "busybox", "sh", "-c", "mknod /tmp/null c 1 3 || echo refused"}},
		{name: "--cap-drop ALL --cap-add CHOWN", args: []string{"--cap-drop", "ALL", "--cap-add", "CHOWN", "busybox", "grep", "^Cap", "/proc/self/status"}},
		{name: "--ulimit nofile", args: []string{"--ulimit", "nofile=50:60", "busybox", "sh", "-c", "ulimit -n; ulimit -Hn"}},
		{name: "--security-opt no-new-privileges", args: []string{"--security-opt", "no-new-privileges", "busybox", "grep", "NoNewPrivs", "/proc/self/status"}},
		{name: "--security-opt seccomp=unconfined", args: []string{"--security-opt", "seccomp=unconfined", "busybox", "grep", "^Seccomp:", "/proc/self/status"}},
		sh("unshare refused", "unshare -n true || echo refused"),
		sh("a user namespace refused", "unshare -U true || echo refused"),
		sh("a disk made with mknod cannot be read", "mknod /tmp/disk b 7 0 && head -c 1 /tmp/disk > /dev/null || echo refused"),
		sh("device controller", "sort /sys/fs/cgroup/devices/devices.list"),
		{name: "--device", args: []string{"--device", "/dev/null:/dev/mine", "busybox", "sh", "-c", "echo x > /dev/mine && ls -l /dev/mine | cut -c1-10"}},
		{name: "--privileged", args: []string{"--privileged", "busybox", "grep", "^CapEff", "/proc/self/status"},
			known: "Docker 20.10 asks for every capability there is and fails on a host that lacks one (CAP_SYS_RESOURCE here); mydocker gives what the host has"},
		sh("mount table", "awk '{print $2, $3}' /proc/mounts"),
		sh("cgroup tree", "ls /sys/fs/cgroup; cat /sys/fs/cgroup/pids/pids.max"),
		sh("/dev/shm", "df -k /dev/shm | tail -1 | awk '{print $2}'"),
		sh("/proc/sys read-only", "echo 1 > /proc/sys/kernel/panic && echo writable || echo read-only"),
		sh("masked paths", "wc -c < /proc/keys; ls /proc/acpi | wc -l; ls /sys/firmware | wc -l"),
		sh("mount refused", "mount -t tmpfs none /mnt && echo mounted"),
		{name: "-v", args: []string{"-v", volume + ":/data", "busybox", "sh", "-c", "cat /data/seed; echo new > /data/new && cat /data/new"}, stderr: true},
		{name: "-v :ro", args: []string{"-v", volume + ":/data:ro", "busybox", "sh", "-c", "cat /data/seed; echo x > /data/x"}, stderr: true},
		{name: "--read-only", args: []string{"--read-only", "busybox", "sh", "-c", "touch /x; touch /tmp/y; touch /dev/shm/z && echo shm-writable"}, stderr: true},
		{name: "-i", args: []string{"-i", "busybox", "cat"}, stdin: "from stdin\n"},
		{name: "no stdin without -i", args: []string{"busybox", "cat"}, stdin: "ignored\n"},
		{name: "stdout apart from stderr", args: []string{"busybox", "sh", "-c", "echo out; echo err >&2"}, stderr: true},
		{name: "-e with a comma", args: []string{"-e", "LIST=a,b", "busybox", "sh", "-c", "echo $LIST"}},
		{name: "--entrypoint", args: []string{"--entrypoint", "/bin/echo", "busybox", "hello", "world"}},
		{name: "--add-host", args: []string{"--add-host", "foo:10.1.2.3", "busybox", "grep", "foo", "/etc/hosts"}},
		{name: "--dns", args: []string{"--dns", "10.9.9.9", "--dns-search", "a.test", "busybox", "grep", "-E", "^(nameserver|search)", "/etc/resolv.conf"}},
		{name: "--tmpfs", args: []string{"--tmpfs", "/scratch:size=1m", "busybox", "grep", " /scratch ", "/proc/mounts"}},
		{name: "--mount type=tmpfs", args: []string{"--mount", "type=tmpfs,dst=/t,tmpfs-size=2m", "busybox", "grep", " /t ", "/proc/mounts"}},
		{name: "--shm-size", args: []string{"--shm-size", "128m", "busybox", "sh", "-c", "df -k /dev/shm | tail -1 | awk '{print $2}'"}},
		{name: "--init", args: []string{"--init", "busybox", "sh", "-c", "test $$ != 1 && echo not PID 1; exit 5"}},
		{name: "memory limit inside", args: []string{"-m", "32m", "busybox", "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}},
		{name: "cpu limit inside", args: []string{"--cpus", "0.5", "--cpu-shares", "512", "busybox", "sh", "-c", "cd /sys/fs/cgroup/cpu && cat cpu.cfs_quota_us cpu.cfs_period_us cpu.shares"}},
		{name: "pids limit inside", args: []string{"--pids-limit", "20", "busybox", "cat", "/sys/fs/cgroup/pids/pids.max"}},
		{name: "cpuset inside", args: []string{"--cpuset-cpus", "0", "busybox", "cat", "/sys/fs/cgroup/cpuset/cpuset.cpus"}},
		{name: "OOM", args: []string{"-m", "16m", "busybox", "sh", "-c", "x=aaaaaaaaaaaaaaaa; while true; do x=$x$x; done"}},
		// The refusal is read back by builtins: with a pipe, the shell's own fork of its reader
		// could be the one refused.
		{name: "fork beyond --pids-limit", args: []string{"--pids-limit", "8", "busybox", "sh", "-c", "(for i in $(seq 30); do sleep 2 & done) 2>/tmp/err; read -r line </tmp/err; echo \"$line\""}},
	}
	return cases
}

func TestDockerParity(t *testing.T) {
	e := newEngine(t)
	d := startDockerd(t)

	d.loadImage(t, e)

	volume := t.TempDir()
	var rows [][4]string
	for _, tc := range parityCases(volume) {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, os.WriteFile(filepath.Join(volume, "seed"), []byte("seed\n"), 0o644))
			os.Remove(filepath.Join(volume, "new"))
			os.Remove(filepath.Join(volume, "x"))
			want := d.docker(tc.stdin, append([]string{"run", "--rm"}, append(dockerRunFlags, tc.args...)...)...)
			os.Remove(filepath.Join(volume, "new"))
			os.Remove(filepath.Join(volume, "x"))
			got := e.runStdin(tc.stdin, append(append([]string{"run", "--rm"}, parityNet...), tc.args...)...)
			same := want.code == got.code && normalize(want.stdout) == normalize(got.stdout) &&
				(!tc.stderr || normalize(want.stderr) == normalize(got.stderr))
			verdict := "same"
			switch {
			case !same && tc.known != "":
				verdict = "known: " + tc.known
			case !same:
				verdict = "DIFFERENT"
				t.Errorf("docker: %s\nmydocker: %s", want, got)
			case tc.known != "":
				t.Errorf("no longer differs: remove it from the known differences (%s)", tc.known)
			}
			rows = append(rows, [4]string{tc.name, summary(want, tc.stderr), summary(got, tc.stderr), verdict})
		})
	}
	if *parityTable {
		fmt.Println("| behaviour | docker | mydocker | verdict |")
		fmt.Println("| --- | --- | --- | --- |")
		for _, r := range rows {
			fmt.Printf("| %s | %s | %s | %s |\n", r[0], r[1], r[2], r[3])
		}
	}
}

// summary is a result in one table cell.
func summary(r result, withStderr bool) string {
	out := normalize(r.stdout)
	if withStderr && r.stderr != "" {
		out += " [stderr] " + normalize(r.stderr)
	}
	out = strings.ReplaceAll(strings.TrimSpace(out), "\n", "⏎")
	if len(out) > 60 {
		out = out[:57] + "..."
	}
	return fmt.Sprintf("%d `%s`", r.code, strings.ReplaceAll(out, "|", "\\|"))
}

// lifecycleCase is one behaviour of the other commands: the setup commands run under both
// engines, then check, whose exit status and what (a part of its output) are compared.
type lifecycleCase struct {
	name  string
	setup [][]string
	check []string
	what  func(r result) string
}

// stdoutOf compares stdout; statusOf the STATUS column of one container in ps -a; errorOf the
// first words of the error, without the engines' prefixes (Docker's "Error response from
// daemon:", our "mydocker:").
func stdoutOf(r result) string { return normalize(r.stdout) }

func statusOf(name string) func(result) string {
	return func(r result) string {
		for _, line := range strings.Split(r.stdout, "\n") {
			if strings.HasSuffix(strings.TrimSpace(line), " "+name) {
				return regexp.MustCompile(`(Up|Exited \(\d+\)|Created)`).FindString(line)
			}
		}
		return "(not listed)"
	}
}

var prefixes = regexp.MustCompile(`^(docker: |mydocker: )?(error response from daemon: |error: )?`)

func errorOf(words int) func(result) string {
	return func(r result) string {
		line, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(r.stderr)), "\n")
		line = normalize(prefixes.ReplaceAllString(line, ""))
		f := strings.FieldsFunc(line, func(c rune) bool { return !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '<' || c == '>') })
		if len(f) > words {
			f = f[:words]
		}
		return strings.Join(f, " ")
	}
}

func exitOnly(result) string { return "" }

func lifecycleCases() []lifecycleCase {
	run := func(args ...string) []string { return append(append([]string{"run"}, parityNet...), args...) }
	return []lifecycleCase{
		{name: "ps -a after an exit", setup: [][]string{run("-d", "--name", "p1", "busybox", "sh", "-c", "exit 3"), {"wait", "p1"}},
			check: []string{"ps", "-a"}, what: statusOf("p1")},
		{name: "wait", setup: [][]string{run("-d", "--name", "w1", "busybox", "sh", "-c", "exit 7")}, check: []string{"wait", "w1"}, what: stdoutOf},
		{name: "logs keep stdout and stderr apart", setup: [][]string{run("-d", "--name", "l1", "busybox", "sh", "-c", "echo out; echo err >&2"), {"wait", "l1"}},
			check: []string{"logs", "l1"}, what: func(r result) string { return r.stdout + "|" + r.stderr }},
		{name: "exec exit status", setup: [][]string{run("-d", "--name", "e1", "busybox", "sleep", "1000")},
			check: []string{"exec", "e1", "sh", "-c", "exit 5"}, what: exitOnly},
		{name: "exec of a missing command", check: []string{"exec", "e1", "nosuchcommand"}, what: exitOnly},
		{name: "exec in a stopped container", setup: [][]string{run("--name", "e2", "busybox", "true")},
			check: []string{"exec", "e2", "true"}, what: errorOf(5)},
		{name: "rm of a running container", check: []string{"rm", "e1"}, what: errorOf(6)},
		{name: "stop -t 1 of a container that ignores SIGTERM", check: []string{"stop", "-t", "1", "e1"}, what: stdoutOf},
		{name: "ps -a after stop", check: []string{"ps", "-a"}, what: statusOf("e1")},
		{name: "rm -f of a running container", setup: [][]string{run("-d", "--name", "r1", "busybox", "sleep", "1000")},
			check: []string{"rm", "-f", "r1"}, what: stdoutOf},
		{name: "a name in use", setup: [][]string{run("-d", "--name", "n1", "busybox", "sleep", "1000")},
			check: run("-d", "--name", "n1", "busybox", "true"), what: errorOf(4)},
		{name: "an invalid name", check: run("--name", "q", "busybox", "true"), what: errorOf(3)},
		{name: "stop of a missing container", check: []string{"stop", "nosuch"}, what: errorOf(4)},
		{name: "rm of a missing container", check: []string{"rm", "nosuch"}, what: errorOf(4)},
		{name: "logs of a missing container", check: []string{"logs", "nosuch"}, what: errorOf(4)},
		{name: "a missing image", check: run("--rm", "nosuchimage", "true"), what: exitOnly},
	}
}

func TestDockerParityLifecycle(t *testing.T) {
	e := newEngine(t)
	d := startDockerd(t)
	d.loadImage(t, e)

	dockerArgs := func(args []string) []string {
		if args[0] == "run" {
			return append([]string{"run", "--pull", "never"}, args[1:]...)
		}
		return args
	}
	var rows [][4]string
	for _, tc := range lifecycleCases() {
		t.Run(tc.name, func(t *testing.T) {
			for _, step := range tc.setup {
				d.docker("", dockerArgs(step)...)
				e.run(step...)
			}
			want := d.docker("", dockerArgs(tc.check)...)
			got := e.run(tc.check...)
			verdict := "same"
			if want.code != got.code || tc.what(want) != tc.what(got) {
				verdict = "DIFFERENT"
				t.Errorf("docker: exit %d %q (%s)\nmydocker: exit %d %q (%s)", want.code, tc.what(want), want, got.code, tc.what(got), got)
			}
			rows = append(rows, [4]string{tc.name, fmt.Sprintf("%d `%s`", want.code, tc.what(want)), fmt.Sprintf("%d `%s`", got.code, tc.what(got)), verdict})
		})
	}
	if *parityTable {
		fmt.Println("| lifecycle | docker | mydocker | verdict |")
		fmt.Println("| --- | --- | --- | --- |")
		for _, r := range rows {
			fmt.Printf("| %s | %s | %s | %s |\n", r[0], strings.ReplaceAll(r[1], "\n", "⏎"), strings.ReplaceAll(r[2], "\n", "⏎"), r[3])
		}
	}
}

// endDaemon sends a daemon a test started SIGTERM and waits for it; SIGKILL after 20 s.
func endDaemon(cmd *exec.Cmd) {
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

// killNaming kills every process whose command line names dir, a daemon's directory: a shim
// whose task never started can outlive its containerd.
func killNaming(dir string) {
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		if cmdline, err := os.ReadFile(p); err == nil && strings.Contains(string(cmdline), dir) {
			if pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p))); err == nil {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
}

// unmountWhere detaches every mount of this namespace whose mount point match accepts, the
// last made first.
func unmountWhere(match func(mountPoint string) bool) {
	data, _ := os.ReadFile("/proc/self/mountinfo")
	var mounts []string
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 4 && match(f[4]) {
			mounts = append(mounts, f[4])
		}
	}
	for i := len(mounts) - 1; i >= 0; i-- {
		syscall.Unmount(mounts[i], syscall.MNT_DETACH)
	}
}
