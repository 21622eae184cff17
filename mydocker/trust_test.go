package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// hostileImage commits an image made by script (run in busybox) as name.
func (e *engineEnv) hostileImage(t *testing.T, name, script string) {
	t.Helper()
	e.must("run", "--name", "mk-"+name, "busybox", "sh", "-c", script)
	e.must("commit", "mk-"+name, name)
	e.must("rm", "mk-"+name)
}

// An image's /etc/passwd that points at a host file is read inside the image: a user that
// exists only on the host is not found. One that is a FIFO fails at once, and leaves nothing.
func TestHostileUserFiles(t *testing.T) {
	e := newEngine(t)
	hostPasswd := filepath.Join(t.TempDir(), "passwd")
	require.NoError(t, os.WriteFile(hostPasswd, []byte("hostonly:x:4242:4242::/:/bin/sh\n"), 0o644))
	e.hostileImage(t, "linked", "rm /etc/passwd && ln -s "+hostPasswd+" /etc/passwd")
	r := e.run("run", "--rm", "-u", "hostonly", "linked", "id", "-u")
	require.Equal(t, 125, r.code, "%s", r)
	require.Contains(t, r.stderr, "unable to find user hostonly")
	require.Equal(t, "0\n", e.must("run", "--rm", "linked", "id", "-u"), "root needs no passwd")

	e.hostileImage(t, "fifo", "rm /etc/passwd && mkfifo /etc/passwd")
	start := time.Now()
	r = e.run("run", "--rm", "-u", "daemon", "fifo", "true")
	require.Equal(t, 125, r.code, "%s", r)
	require.Contains(t, r.stderr, "not a regular file")
	require.Less(t, time.Since(start), 10*time.Second, "a FIFO must not block the run")
	// (Not id: it reads /etc/passwd itself, and would block as the image asks.)
	require.Regexp(t, `^Uid:\s+1000\s`, e.must("run", "--rm", "-u", "1000", "fifo", "grep", "^Uid:", "/proc/self/status"), "a number needs no passwd")
	require.Empty(t, e.containerDirs())
}

// One container whose state file is truncated is one broken container: ps lists it and the
// others, run and rm go on working, and rm -f removes it with its cgroups.
func TestBrokenStateFileBreaksOneContainer(t *testing.T) {
	e := newEngine(t)
	id := strings.TrimSpace(e.must("run", "-d", "--name", "victim", "-m", "32m", "busybox", "sleep", "1000"))
	cgroupDirs := e.cgroupDirs(t, "victim")
	e.must("run", "--name", "healthy", "busybox", "true")
	require.NoError(t, os.WriteFile(filepath.Join(e.root, "containers", id, "state.json"), []byte(`{"id": "`), 0o644))

	out := e.must("ps", "-a")
	require.Contains(t, out, "healthy")
	require.Regexp(t, id[:12]+`.*Dead`, out)
	e.must("run", "--rm", "busybox", "true")
	r := e.run("stop", id[:12])
	require.NotEqual(t, 0, r.code, "a broken container cannot be stopped, only removed: %s", r)
	e.must("rm", "-f", id[:12])
	require.NotContains(t, e.must("ps", "-a"), id[:12])
	for _, dir := range cgroupDirs {
		require.NoDirExists(t, dir, "rm -f removes a broken container's cgroups, killing what they held")
	}
	e.must("rm", "healthy")
	require.Empty(t, e.containerDirs())
}

// exec works under any pids limit: the exec'd helper joins the container's cgroups only as it
// is about to execve, when it is one thread.
func TestExecUnderAPidsLimit(t *testing.T) {
	e := newEngine(t)
	e.must("run", "-d", "--name", "tight", "--pids-limit", "2", "busybox", "sleep", "1000")
	require.Equal(t, "hi\n", e.must("exec", "tight", "echo", "hi"))
	require.Equal(t, "again\n", e.must("exec", "tight", "echo", "again"))
}

// Containers made beside a loop of ps, rm and run never lose a container: reads repair
// nothing, and making and pruning a container directory happen under one lock.
func TestContainersSurviveABusyStore(t *testing.T) {
	e := newEngine(t)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 200; i++ {
			select {
			case <-stop:
				return
			default:
			}
			e.cmd("ps", "-a").Run()
			e.cmd("rm", "no-such-container").Run() // rm prunes unfinished directories
		}
	}()
	var ids []string
	for i := 0; i < 8; i++ {
		ids = append(ids, strings.TrimSpace(e.must("run", "-d", "busybox", "sleep", "1000")))
	}
	close(stop)
	wg.Wait()
	out := e.must("ps")
	for _, id := range ids {
		require.Contains(t, out, id[:12], "every container started beside the loop still runs")
	}
}

// A line of 5 MB that never ends comes back whole, and the log rotates at max-size.
func TestLogsOfAnySize(t *testing.T) {
	e := newEngine(t)
	e.must("run", "-d", "--name", "big", "busybox", "sh", "-c", `head -c 5000000 /dev/zero | tr "\0" x`)
	waitFor(t, 10*time.Second, "the container to end", func() bool { return strings.Contains(e.must("ps", "-a"), "Exited (0)") })
	out := e.must("logs", "big")
	require.Len(t, out, 5000000)
	require.Equal(t, strings.Repeat("x", 5000000), out)

	e.must("run", "-d", "--name", "rot", "--log-opt", "max-size=10k", "--log-opt", "max-file=3", "busybox", "sh", "-c",
		`i=0; while [ $i -lt 2000 ]; do echo line$i; i=$((i+1)); done`)
	waitFor(t, 10*time.Second, "the container to end", func() bool { return !strings.Contains(e.must("ps"), "rot") })
	rotID := e.stateOf(t, "rot")["Id"].(string)
	logs, _ := filepath.Glob(filepath.Join(e.root, "containers", rotID, "container-json.log*"))
	var rotated int
	for _, l := range logs {
		fi, err := os.Stat(l)
		require.NoError(t, err)
		require.LessOrEqual(t, fi.Size(), int64(10000), l)
		if strings.Contains(filepath.Base(l), ".log.") {
			rotated++
		}
	}
	require.Equal(t, 2, rotated, "three files in all: the log and two rotated ones")
	tail := strings.Split(strings.TrimSpace(e.must("logs", "rot")), "\n")
	require.Equal(t, "line1999", tail[len(tail)-1], "the newest lines are kept, in order")
	r := e.run("run", "--rm", "--log-opt", "max-file=3", "busybox", "true")
	require.Equal(t, 125, r.code)
	require.Contains(t, r.stderr, "max-size")
}

// A container's processes die with the mydocker that watches it, whatever user they run as:
// changing user clears the parent-death signal, which the init sets again.
func TestKilledMydockerTakesANonRootContainerDown(t *testing.T) {
	e := newEngine(t)
	c := e.cmd("run", "--name", "nonroot", "-u", "1000", "busybox", "sleep", "1000")
	require.NoError(t, c.Start())
	waitFor(t, 5*time.Second, "the container", func() bool { return strings.Contains(e.must("ps"), "nonroot") })
	pid := e.stateOf(t, "nonroot")["State"].(map[string]any)["Pid"].(float64)
	require.NoError(t, c.Process.Kill())
	c.Wait()
	waitFor(t, 5*time.Second, "the container's process to die", func() bool {
		_, err := os.Stat(fmt.Sprintf("/proc/%d", int(pid)))
		return err != nil
	})
}
