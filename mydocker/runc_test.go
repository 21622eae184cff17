package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/internal/testutil"
)

// ociRuntime drives mydocker-runc (built beside the test's mydocker) with its own --root.
type ociRuntime struct {
	t    *testing.T
	bin  string
	root string
	env  []string // added to the test's environment
}

// newOCIRuntime is a runtime with a root of its own; whatever containers a failed test left are
// removed after it.
func newOCIRuntime(t *testing.T) *ociRuntime {
	testutil.RequiresRoot(t)
	o := &ociRuntime{t: t, bin: binary + "-runc", root: t.TempDir()}
	t.Cleanup(func() {
		entries, _ := os.ReadDir(o.root)
		for _, e := range entries {
			exec.Command(o.bin, "--root", o.root, "delete", "--force", e.Name()).Run()
		}
	})
	return o
}

// run runs mydocker-runc with files for its output, as containerd gives it: a container's
// init inherits them and outlives the command, so pipes would never end.
func (o *ociRuntime) run(stdin string, args ...string) result {
	o.t.Helper()
	dir := o.t.TempDir()
	stdout, err := os.Create(filepath.Join(dir, "stdout"))
	require.NoError(o.t, err)
	defer stdout.Close()
	stderr, err := os.Create(filepath.Join(dir, "stderr"))
	require.NoError(o.t, err)
	defer stderr.Close()
	c := exec.Command(o.bin, append([]string{"--root", o.root}, args...)...)
	c.Env = append(os.Environ(), o.env...)
	c.Stdin, c.Stdout, c.Stderr = strings.NewReader(stdin), stdout, stderr
	err = c.Start()
	require.NoError(o.t, err)
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		c.Process.Kill()
		err = <-done
	}
	r := result{stdout: readFile(stdout.Name()), stderr: readFile(stderr.Name())}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	}
	return r
}

func (o *ociRuntime) must(args ...string) string {
	o.t.Helper()
	r := o.run("", args...)
	require.Equal(o.t, 0, r.code, "mydocker-runc %s: %s", args, r)
	return r.stdout
}

func (o *ociRuntime) status(id string) string {
	o.t.Helper()
	var st struct {
		Status string `json:"status"`
		Pid    int    `json:"pid"`
	}
	require.NoError(o.t, json.Unmarshal([]byte(o.must("state", id)), &st))
	return st.Status
}

// busyboxBundle is an OCI bundle: the busybox rootfs and mydocker-runc spec's config.json,
// running args.
func busyboxBundle(t *testing.T, o *ociRuntime, args ...string) string {
	bundle := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(bundle, "rootfs"), 0o755))
	out, err := exec.Command("tar", "-xf", testutil.BusyboxTar(t), "-C", filepath.Join(bundle, "rootfs")).CombinedOutput()
	require.NoError(t, err, "%s", out)
	o.must("spec", "--bundle", bundle)
	var spec map[string]any
	data, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &spec))
	process := spec["process"].(map[string]any)
	process["terminal"] = false
	process["args"] = args
	data, err = json.Marshal(spec)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(bundle, "config.json"), data, 0o644))
	return bundle
}

// The runtime's command line, as runc's: create leaves the init waiting, start runs the
// command, state follows it, kill and delete end it; run waits and exits with the status;
// exec runs one more process. Mistakes are refused with the reason and leave nothing.
func TestOCIRuntimeCommandLine(t *testing.T) {
	o := newOCIRuntime(t)
	// Unique ids: a spec without cgroupsPath puts a container's cgroups at /mydocker-runc/ID.
	c1, c2, c3, c4, c5 := testutil.UniqueName("c1"), testutil.UniqueName("c2"), testutil.UniqueName("c3"), testutil.UniqueName("c4"), testutil.UniqueName("c5")
	bundle := busyboxBundle(t, o, "sh", "-c", "echo $$ $(hostname) > /tmp/out; exec sleep 1000")
	pidFile := filepath.Join(t.TempDir(), "pid")
	o.must("create", "--bundle", bundle, "--pid-file", pidFile, c1)
	require.Equal(t, "created", o.status(c1))
	require.NoFileExists(t, filepath.Join(bundle, "rootfs/tmp/out"), "the command waits for start")
	pid, err := os.ReadFile(pidFile)
	require.NoError(t, err)
	require.Contains(t, o.must("list"), c1+" ")
	r := o.run("", "create", "--bundle", bundle, c1)
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "exists already")

	o.must("start", c1)
	require.Equal(t, "running", o.status(c1))
	require.Equal(t, "1 mydocker\n", o.must("exec", c1, "cat", "/tmp/out"), "PID 1 in its own namespaces")
	require.Equal(t, 3, o.run("", "exec", c1, "sh", "-c", "exit 3").code)
	r = o.run("", "start", c1)
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "running")
	r = o.run("", "delete", c1)
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "not stopped")
	require.Equal(t, "["+strings.TrimSpace(string(pid))+"]\n", o.must("ps", "--format", "json", c1))

	o.must("pause", c1)
	require.Equal(t, "paused", o.status(c1))
	o.must("resume", c1)
	o.must("kill", c1, "KILL")
	waitFor(t, 5*time.Second, "the init's exit", func() bool { return o.status(c1) == "stopped" })
	o.must("delete", c1)
	require.NoDirExists(t, filepath.Join(o.root, c1))
	r = o.run("", "state", c1)
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "does not exist")
	o.must("delete", "--force", c1) // as runc: gone is fine when forced

	// run: in the foreground, with the command's status; nothing left after.
	exit := busyboxBundle(t, o, "sh", "-c", "echo out; exit 7")
	r = o.run("", "run", "--bundle", exit, c2)
	require.Equal(t, 7, r.code, "%s", r)
	require.Equal(t, "out\n", r.stdout)
	require.Empty(t, o.must("list", "-q"))

	// A delete --force of a created container ends its waiting init.
	o.must("create", "--bundle", bundle, c3)
	o.must("delete", "--force", c3)
	require.Empty(t, o.must("list", "-q"))

	// A bundle the runtime cannot run: a clear error, nothing left.
	bad := t.TempDir()
	r = o.run("", "create", "--bundle", bad, c4)
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "config.json")
	missing := busyboxBundle(t, o, "no-such-command")
	r = o.run("", "create", "--bundle", missing, c5)
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "no-such-command")
	// Without a mount namespace of its own, the root would be made in the host's.
	noMountNS := busyboxBundle(t, o, "true")
	var spec map[string]any
	data, err := os.ReadFile(filepath.Join(noMountNS, "config.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &spec))
	linux := spec["linux"].(map[string]any)
	var kept []any
	for _, ns := range linux["namespaces"].([]any) {
		if ns.(map[string]any)["type"] != "mount" {
			kept = append(kept, ns)
		}
	}
	linux["namespaces"] = kept
	data, err = json.Marshal(spec)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(noMountNS, "config.json"), data, 0o644))
	r = o.run("", "run", "--bundle", noMountNS, c5)
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "mount namespace")
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	require.NoError(t, err)
	require.NotContains(t, string(mounts), noMountNS, "nothing mounted on the host")

	require.Empty(t, o.must("list", "-q"))
	entries, _ := os.ReadDir(o.root)
	require.Empty(t, entries)
}

// A pids limit of 1 through create and start, whatever the init's Go runtime: create sets it
// while the init waits to execute the command — its threads above the limit, which the kernel
// takes — and returns; the init waits on, created, for start, and never needs a thread more.
func TestPidsLimitOneThroughCreateAndStart(t *testing.T) {
	o := newOCIRuntime(t)
	bundle := busyboxBundle(t, o, "sh", "-c", "echo ok > /ok")
	var spec map[string]any
	data, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &spec))
	spec["root"].(map[string]any)["readonly"] = false
	spec["linux"].(map[string]any)["resources"] = map[string]any{"pids": map[string]any{"limit": 1}}
	data, err = json.Marshal(spec)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(bundle, "config.json"), data, 0o644))
	ok := filepath.Join(bundle, "rootfs", "ok")
	for _, env := range initRuntimes {
		for i := 0; i < 3; i++ {
			id := testutil.UniqueName("pids")
			o.env = []string{container.InitEnvVar + "=" + env}
			o.must("create", "--bundle", bundle, id)
			require.Equal(t, "created", o.status(id), env)
			var stats struct {
				Data struct {
					Pids struct{ Current, Limit uint64 }
				}
			}
			require.NoError(t, json.Unmarshal([]byte(o.must("events", "--stats", id)), &stats))
			require.Equal(t, uint64(1), stats.Data.Pids.Limit, env)
			require.Greater(t, stats.Data.Pids.Current, uint64(1), "the init's threads, above the limit: %s", env)
			o.must("start", id)
			waitFor(t, 5*time.Second, "the command's exit", func() bool { return o.status(id) == "stopped" })
			got, err := os.ReadFile(ok)
			require.NoError(t, err, "%s, run %d: the command ran", env, i)
			require.Equal(t, "ok\n", string(got))
			require.NoError(t, os.Remove(ok))
			o.must("delete", id)
		}
	}
	o.env = nil
	require.Empty(t, o.must("list", "-q"))
}

// containerd drives the runtime through its runc shim: ctr run, run -d, task exec, task kill,
// task delete, and a memory limit in the container's cgroup. A private containerd: its own
// root, state and socket; the containers in a namespace of the test's own.
func TestContainerdDrivesRuntime(t *testing.T) {
	testutil.RequiresRoot(t)
	for _, bin := range []string{"containerd", "ctr", "containerd-shim-runc-v2"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("needs %s (apt-get install containerd)", bin)
		}
	}
	runtime := binary + "-runc"
	dir := t.TempDir()
	ns := testutil.UniqueName("mdctr")
	cleanRunContainerd(t)
	cleanCgroupParent(t, ns)
	t.Cleanup(func() { os.RemoveAll("/run/containerd/runc/" + ns) })
	config := containerdConfig(dir, "io.containerd.grpc.v1.cri")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "config.toml"), []byte(config), 0o644))
	daemon := exec.Command("containerd", "--config", filepath.Join(dir, "config.toml"))
	logFile, err := os.Create(filepath.Join(dir, "containerd.log"))
	require.NoError(t, err)
	daemon.Stdout, daemon.Stderr = logFile, logFile
	require.NoError(t, daemon.Start())
	t.Cleanup(func() { daemon.Process.Kill(); daemon.Wait(); logFile.Close() })
	ctr := func(args ...string) result {
		t.Helper()
		return runBounded(exec.Command("ctr", append([]string{"--address", filepath.Join(dir, "containerd.sock"), "--namespace", ns}, args...)...), "")
	}
	must := func(args ...string) string {
		t.Helper()
		r := ctr(args...)
		require.Equal(t, 0, r.code, "ctr %s: %s\ncontainerd said:\n%s", args, r, readFile(filepath.Join(dir, "containerd.log")))
		return r.stdout
	}
	waitFor(t, 20*time.Second, "containerd", func() bool { return ctr("version").code == 0 })
	e := newEngine(t)
	archive := filepath.Join(dir, "busybox.tar")
	e.must("save", "-o", archive, "busybox")
	must("images", "import", archive)
	image := "docker.io/library/busybox:latest"
	t.Cleanup(func() {
		for _, c := range []string{"c1", "c2"} {
			ctr("task", "kill", "-s", "SIGKILL", c)
			ctr("task", "delete", c)
			ctr("containers", "rm", c)
		}
	})

	require.Equal(t, "hi\n", must("run", "--rm", "--runc-binary", runtime, image, "c1", "echo", "hi"))
	// A terminal: the runtime hands its master side to the shim's console socket.
	tty := onTerminal(t, exec.Command("ctr", "--address", filepath.Join(dir, "containerd.sock"), "--namespace", ns,
		"run", "--rm", "-t", "--runc-binary", runtime, image, "c1", "sh", "-c", "tty; echo on a terminal"))
	require.Contains(t, tty, "/dev/pts/0")
	require.Contains(t, tty, "on a terminal")

	must("run", "-d", "--memory-limit", "33554432", "--runc-binary", runtime, image, "c2", "sleep", "1000")
	require.Contains(t, must("task", "ls"), "RUNNING")
	limit := fmt.Sprintf("/sys/fs/cgroup/memory/%s/c2/memory.limit_in_bytes", ns)
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		limit = fmt.Sprintf("/sys/fs/cgroup/%s/c2/memory.max", ns)
	}
	require.Equal(t, "33554432\n", readFile(limit), "the spec's memory limit, in the cgroup containerd named")
	require.Equal(t, "exec'd 1\n", must("task", "exec", "--exec-id", "e1", "c2", "sh", "-c", "echo exec\\'d $(pidof sleep)"))
	must("task", "kill", "-s", "SIGKILL", "c2")
	waitFor(t, 10*time.Second, "the task's exit", func() bool { return strings.Contains(must("task", "ls"), "STOPPED") })
	must("task", "delete", "c2")
	must("containers", "rm", "c2")
	require.NoFileExists(t, limit, "the container's cgroup is gone")
	states, _ := filepath.Glob("/run/containerd/runc/" + ns + "/*")
	require.Empty(t, states, "the runtime kept no state")
}

// containerdConfig begins the config.toml of a private containerd in dir: its own root, state
// and sockets, without the snapshotters this host lacks, nor the plugins disabled names.
func containerdConfig(dir string, disabled ...string) string {
	disabled = append(disabled, "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
		"io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs")
	return fmt.Sprintf(`version = 2
root = "%[1]s/root"
state = "%[1]s/state"
disabled_plugins = ["%[2]s"]
[grpc]
  address = "%[1]s/containerd.sock"
[ttrpc]
  address = "%[1]s/containerd.sock.ttrpc"
[debug]
  address = "%[1]s/debug.sock"
`, dir, strings.Join(disabled, `", "`))
}

// runtimeKnown are the parity rows where Docker on mydocker-runc differs from Docker on runc,
// and why.
var runtimeKnown = map[string]string{}

// Docker itself on the runtime (dockerd --add-runtime): every parity row, run by the same
// dockerd on runc and on mydocker-runc, gives the same output and status.
func TestDockerRunsOnOurRuntime(t *testing.T) {
	e := newEngine(t)
	d := startDockerd(t, "--add-runtime", "mydocker="+binary+"-runc")
	d.loadImage(t, e)
	volume := t.TempDir()
	for _, tc := range parityCases(volume) {
		if tc.known != "" {
			continue // Docker itself fails it here
		}
		t.Run(tc.name, func(t *testing.T) {
			run := func(runtime string) result {
				require.NoError(t, os.WriteFile(filepath.Join(volume, "seed"), []byte("seed\n"), 0o644))
				os.Remove(filepath.Join(volume, "new"))
				os.Remove(filepath.Join(volume, "x"))
				return d.docker(tc.stdin, append([]string{"run", "--rm", "--runtime", runtime}, append(dockerRunFlags, tc.args...)...)...)
			}
			want, got := run("runc"), run("mydocker")
			same := want.code == got.code && normalize(want.stdout) == normalize(got.stdout) &&
				(!tc.stderr || normalize(want.stderr) == normalize(got.stderr))
			switch why, known := runtimeKnown[tc.name]; {
			case !same && !known:
				t.Errorf("runc: %s\nmydocker-runc: %s", want, got)
			case same && known:
				t.Errorf("no longer differs: remove it from runtimeKnown (%s)", why)
			}
		})
	}
}
