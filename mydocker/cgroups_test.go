package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mydocker/mydocker/cgroups"
	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/internal/testutil"
)

// stateOf reads a container's state as the engine saved it.
func (e *engineEnv) stateOf(t *testing.T, name string) map[string]any {
	t.Helper()
	var out []map[string]any
	require.NoError(t, json.Unmarshal([]byte(e.must("inspect", name)), &out))
	require.Len(t, out, 1)
	return out[0]
}

// cgroupDirs reads the container's cgroup directories from its state file.
func (e *engineEnv) cgroupDirs(t *testing.T, name string) map[string]string {
	t.Helper()
	id := e.stateOf(t, name)["Id"].(string)
	var st struct {
		Cgroups map[string]string `json:"cgroups"`
	}
	data, err := os.ReadFile(filepath.Join(e.root, "containers", id, "state.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &st))
	require.NotEmpty(t, st.Cgroups)
	return st.Cgroups
}

// v2 is true on a cgroup v2 host (the VM tests), where the files have v2's names.
func v2() bool { return cgroups.DetectMode() == cgroups.Unified }

func TestLimitsReachTheKernel(t *testing.T) {
	e := newEngine(t)
	e.must("run", "-d", "--name", "lim", "-m", "32m", "--memory-swap", "64m", "--cpus", "0.5", "--cpu-shares", "512",
		"--cpuset-cpus", "0", "--cpuset-mems", "0", "--pids-limit", "20", "busybox", "sleep", "1000")
	dirs := e.cgroupDirs(t, "lim")
	want := map[string]map[string]string{
		"memory": {"memory.limit_in_bytes": "33554432"},
		"cpu":    {"cpu.cfs_quota_us": "50000", "cpu.cfs_period_us": "100000", "cpu.shares": "512"},
		"cpuset": {"cpuset.cpus": "0", "cpuset.mems": "0"},
		"pids":   {"pids.max": "20"},
	}
	if v2() {
		want = map[string]map[string]string{"unified": {
			"memory.max": "33554432", "memory.swap.max": "33554432", // v2 counts swap alone: 64m - 32m
			"cpu.max": "50000 100000", "cpu.weight": "59", "cpuset.cpus": "0", "cpuset.mems": "0", "pids.max": "20",
		}}
	}
	id := e.stateOf(t, "lim")["Id"].(string)
	for controller, files := range want {
		require.True(t, strings.HasSuffix(dirs[controller], "/mydocker/"+id), dirs[controller])
		for file, value := range files {
			data, err := os.ReadFile(filepath.Join(dirs[controller], file))
			require.NoError(t, err)
			require.Equal(t, value, strings.TrimSpace(string(data)), "%s/%s", controller, file)
		}
	}
	// An exec'd process joins the container's cgroups (on v2 also its cgroup namespace,
	// where the container's cgroup is the root).
	out := e.must("exec", "lim", "cat", "/proc/self/cgroup")
	if v2() {
		require.Equal(t, "0::/\n", out)
	} else {
		require.Contains(t, out, "/mydocker/"+id)
	}

	stats := e.must("stats", "--no-stream", "lim")
	require.Regexp(t, `(?m)^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE / LIMIT\s+MEM %\s+NET I/O\s+BLOCK I/O\s+PIDS$`, stats)
	require.Regexp(t, `lim\s+\d+\.\d+%\s+[\d.]+[KM]iB / 32MiB\s+[\d.]+%\s+[\d.]+k?B / [\d.]+k?B\s+[\d.]+[kMG]?B / [\d.]+[kMG]?B\s+1\n`, stats)

	e.must("rm", "-f", "lim")
	for _, dir := range dirs {
		require.NoDirExists(t, dir, "rm removes the cgroups")
	}
}

func TestOOMKill(t *testing.T) {
	e := newEngine(t)
	r := e.run("run", "--name", "hog", "-m", "16m", "busybox", "sh", "-c", "x=aaaaaaaaaaaaaaaa; while true; do x=$x$x; done")
	require.Equal(t, 137, r.code, "%s", r)
	state := e.stateOf(t, "hog")["State"].(map[string]any)
	require.Equal(t, true, state["OOMKilled"])
	require.Regexp(t, `Exited \(137\)`, e.must("ps", "-a"))
}

func TestPidsLimitEnforced(t *testing.T) {
	e := newEngine(t)
	r := e.run("run", "--rm", "--pids-limit", "8", "busybox", "sh", "-c", "for i in $(seq 30); do sleep 3 & done; wait")
	require.Contains(t, r.stderr, "can't fork")
}

// The init is a Go program with several threads; a limit below their number must still
// start the container (the parent sets it once the init is ready to execute the command).
func TestPidsLimitBelowTheInitsThreads(t *testing.T) {
	e := newEngine(t)
	require.Equal(t, "one process\n", e.must("run", "--rm", "--pids-limit", "1", "busybox", "echo", "one process"))
	e.must("run", "-d", "--name", "tight", "--pids-limit", "2", "busybox", "sleep", "60")
	dir := e.cgroupDirs(t, "tight")["pids"]
	if v2() {
		dir = e.cgroupDirs(t, "tight")["unified"]
	}
	data, err := os.ReadFile(filepath.Join(dir, "pids.max"))
	require.NoError(t, err)
	require.Equal(t, "2", strings.TrimSpace(string(data)))
}

// runInit runs mydocker with the containers' inits (and exec'd processes) started under
// initEnv (container.InitEnvVar): GOMAXPROCS, a stall.
func (e *engineEnv) runInit(initEnv string, args ...string) result {
	e.t.Helper()
	c := e.cmd(args...)
	c.Env = append(os.Environ(), container.InitEnvVar+"="+initEnv)
	r := runBounded(c, "")
	if r.code == -1 {
		e.t.Fatalf("mydocker %s: %s", strings.Join(args, " "), r.stderr)
	}
	return r
}

// initRuntimes are the Go runtimes the tests run the init under: one P, two, more than
// the CPUs; each also stalled in a system call right after the limits are set, when its
// runtime hands its processor to another thread (faults.Stall).
var initRuntimes = func() (envs []string) {
	for _, procs := range []string{"1", "2", "8"} {
		envs = append(envs, "GOMAXPROCS="+procs, "GOMAXPROCS="+procs+" MYDOCKER_STALL=init:limited")
	}
	return envs
}()

// --pids-limit 1 starts the container whatever the init's Go runtime: the limit is set once
// the init has done all its work and waits to execute the command, and from then on its
// runtime never needs one more thread, which the limit would refuse ("fatal error:
// newosproc", the init dead). The kernel takes a limit below the threads already there.
func TestPidsLimitOneUnderAnyGOMAXPROCS(t *testing.T) {
	e := newEngine(t)
	for _, env := range initRuntimes {
		for i := 0; i < 5; i++ {
			r := e.runInit(env, "run", "--rm", "--net", "none", "--pids-limit", "1", "busybox", "sh", "-c", "echo ok")
			require.Equal(t, 0, r.code, "%s, run %d: %s", env, i, r)
			require.Equal(t, "ok\n", r.stdout, "%s, run %d", env, i)
			r = e.runInit(env, "run", "--rm", "--net", "none", "--pids-limit", "1", "busybox", "true")
			require.Equal(t, 0, r.code, "%s, run %d: %s", env, i, r)
		}
	}
	// A detached container's init is started by its monitor, an exec'd process by mydocker
	// exec, which then joins the full cgroup.
	for _, env := range initRuntimes {
		name := testutil.UniqueName("tight")
		r := e.runInit(env, "run", "-d", "--net", "none", "--name", name, "--pids-limit", "1", "busybox", "sleep", "1000")
		require.Equal(t, 0, r.code, "%s: %s", env, r)
		r = e.runInit(env, "exec", name, "echo", "in")
		require.Equal(t, 0, r.code, "%s: %s", env, r)
		require.Equal(t, "in\n", r.stdout)
		e.must("rm", "-f", name)
	}
}

func TestCPULimitHoldsABusyLoop(t *testing.T) {
	e := newEngine(t)
	e.must("run", "-d", "--name", "busy", "--cpus", "0.5", "busybox", "sh", "-c", "while true; do :; done")
	m := cgroups.Load(e.cgroupDirs(t, "busy"))
	usage := func() (time.Time, uint64) {
		st, err := m.Stats()
		require.NoError(t, err)
		return time.Now(), st.CPUUsage
	}
	t0, u0 := usage()
	time.Sleep(2 * time.Second)
	t1, u1 := usage()
	share := float64(u1-u0) / float64(t1.Sub(t0).Nanoseconds())
	require.InDelta(t, 0.5, share, 0.12, "a busy loop under --cpus 0.5 gets about half a CPU (got %.2f)", share)
}

func TestBadLimitsCreateNothing(t *testing.T) {
	e := newEngine(t)
	for _, args := range [][]string{
		{"-m", "abc"}, {"-m", "1k"}, {"--cpus", "-1"}, {"--cpus", "1000"}, {"--cpuset-cpus", "99"},
		{"--memory-swap", "64m"}, {"--pids-limit", "x"},
	} {
		r := e.run(append(append([]string{"run", "--rm"}, args...), "busybox", "true")...)
		require.Equal(t, 125, r.code, "%v: %s", args, r)
		require.Contains(t, r.stderr, strings.TrimLeft(args[0], "-")[:1], "%v: the message names the flag", args)
	}
	require.Empty(t, e.containerDirs())
}

// A killed mydocker leaves cgroups behind only until its container is removed.
func TestKilledMydockerLeavesNoCgroup(t *testing.T) {
	e := newEngine(t)
	c := e.cmd("run", "--name", "orphan", "-m", "32m", "busybox", "sleep", "1000")
	require.NoError(t, c.Start())
	waitFor(t, 5*time.Second, "the container", func() bool { return strings.Contains(e.must("ps"), "orphan") })
	dirs := e.cgroupDirs(t, "orphan")
	require.NoError(t, c.Process.Kill())
	c.Wait()
	e.must("rm", "orphan")
	for _, dir := range dirs {
		require.NoDirExists(t, dir)
	}
}

// A container reads its own limits in its /sys/fs/cgroup, where programs look for them.
func TestContainerSeesItsOwnCgroups(t *testing.T) {
	e := newEngine(t)
	file := "/sys/fs/cgroup/memory/memory.limit_in_bytes"
	if v2() {
		file = "/sys/fs/cgroup/memory.max"
		require.Equal(t, "0::/\n", e.must("run", "--rm", "busybox", "cat", "/proc/self/cgroup"), "a private cgroup namespace")
	}
	require.Equal(t, "33554432\n", e.must("run", "--rm", "-m", "32m", "busybox", "cat", file))
	r := e.run("run", "--rm", "busybox", "sh", "-c", "echo 1 > "+file)
	require.NotEqual(t, 0, r.code, "the container's cgroups are read-only to it")
	e.must("run", "-d", "--name", "cg", "-m", "32m", "busybox", "sleep", "1000")
	require.Equal(t, "33554432\n", e.must("exec", "cg", "cat", file), "an exec'd process sees the same")
}
