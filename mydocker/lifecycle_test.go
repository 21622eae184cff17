package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// waitFor polls cond every 50 ms for up to d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestDetachedLifecycle(t *testing.T) {
	e := newEngine(t)
	id := strings.TrimSpace(e.must("run", "-d", "--name", "web", "busybox", "sh", "-c", "echo started; echo oops >&2; exec sleep 1000"))
	require.Regexp(t, `^[0-9a-f]{64}$`, id)

	ps := e.must("ps")
	require.Regexp(t, `^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES\n`, ps)
	require.Regexp(t, id[:12]+`\s+busybox\s+"sh -c 'echo started…"\s+.* ago\s+Up .*\s+web\n`, ps)
	require.Equal(t, id[:12]+"\n", e.must("ps", "-q"))

	waitFor(t, 5*time.Second, "the log", func() bool { return e.run("logs", "web").stdout == "started\n" })
	logs := e.run("logs", "web")
	require.Equal(t, "oops\n", logs.stderr, "stderr lines go to stderr")

	require.Contains(t, e.must("exec", "web", "cat", "/proc/1/cmdline"), "sleep")
	require.Equal(t, 3, e.run("exec", "web", "sh", "-c", "exit 3").code)
	require.Equal(t, "bar\n", e.must("exec", "-e", "FOO=bar", "web", "sh", "-c", "echo $FOO"))
	require.Equal(t, "/tmp\n", e.must("exec", "-w", "/tmp", "web", "pwd"))
	require.Equal(t, "in\n", e.runStdin("in\n", "exec", "-i", "web", "cat").stdout)
	hostname := strings.TrimSpace(e.must("exec", "web", "hostname"))
	require.Equal(t, id[:12], hostname)
	require.Equal(t, 126, e.run("exec", "web", "nosuchcommand").code, "Docker's status for an exec that cannot start")
	// A terminal comes with TERM=xterm, as with run -t, unless -e says otherwise; no terminal,
	// no TERM, whether the container has one or not (Docker's exec).
	require.Equal(t, "xterm\r\n", e.must("exec", "-t", "web", "sh", "-c", "echo $TERM"))
	require.Equal(t, "vt100\r\n", e.must("exec", "-t", "-e", "TERM=vt100", "web", "sh", "-c", "echo $TERM"))
	require.Equal(t, "\n", e.must("exec", "web", "sh", "-c", "echo $TERM"))
	e.must("run", "-d", "-t", "--name", "tty", "busybox", "sleep", "1000")
	require.Equal(t, "\n", e.must("exec", "tty", "sh", "-c", "echo $TERM"))
	require.Equal(t, "xterm\r\n", e.must("exec", "-t", "tty", "sh", "-c", "echo $TERM"))
	e.must("rm", "-f", "tty")

	r := e.run("run", "-d", "--name", "web", "busybox", "sleep", "1000")
	require.Equal(t, 125, r.code, "a name in use: %s", r)
	require.Contains(t, r.stderr, "already in use")

	r = e.run("rm", "web")
	require.Equal(t, 1, r.code, "rm of a running container needs -f: %s", r)
	require.Contains(t, r.stderr, "Stop the container")

	start := time.Now()
	e.must("stop", "-t", "1", "web")
	require.Less(t, time.Since(start), 8*time.Second, "stop -t 1 kills after one second")
	require.Regexp(t, `Exited \(137\) .* ago\s+web\n`, e.must("ps", "-a"))
	require.NotContains(t, e.must("ps"), "web")

	e.must("rm", "web")
	require.NotContains(t, e.must("ps", "-a"), "web")
	require.Empty(t, e.containerDirs())
}

func TestStopGraceful(t *testing.T) {
	e := newEngine(t)
	e.must("run", "-d", "--name", "graceful", "busybox", "sh", "-c", "trap 'exit 42' TERM; while true; do sleep 0.1; done")
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	e.must("stop", "graceful")
	require.Less(t, time.Since(start), 5*time.Second, "a container that handles SIGTERM stops at once")
	require.Regexp(t, `Exited \(42\)`, e.must("ps", "-a"))
}

func TestDetachedExitAndAutoRemove(t *testing.T) {
	e := newEngine(t)
	e.must("run", "-d", "--name", "quick", "busybox", "sh", "-c", "exit 5")
	waitFor(t, 5*time.Second, "the exit", func() bool { return strings.Contains(e.must("ps", "-a"), "Exited (5)") })

	e.must("run", "-d", "--rm", "--name", "gone", "busybox", "true")
	waitFor(t, 5*time.Second, "--rm", func() bool { return !strings.Contains(e.must("ps", "-a"), "gone") })

	r := e.run("run", "-d", "busybox", "/no/such")
	require.Equal(t, 127, r.code, "%s", r)
	require.Len(t, e.containerDirs(), 1, "only the exited 'quick' remains")

	e.must("run", "-d", "--name", "kk", "busybox", "sleep", "1000")
	e.must("kill", "kk")
	waitFor(t, 5*time.Second, "kill", func() bool { return strings.Contains(e.must("ps", "-a"), "Exited (137)") })
	e.must("run", "-d", "--name", "ff", "busybox", "sleep", "1000")
	e.must("rm", "-f", "ff")
	require.NotContains(t, e.must("ps", "-a"), " ff\n")
}

func TestForegroundSignals(t *testing.T) {
	e := newEngine(t)
	c := e.cmd("run", "--rm", "busybox", "sh", "-c", "trap 'exit 42' TERM; echo ready; while true; do sleep 0.1; done")
	out, err := c.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, c.Start())
	buf := make([]byte, 6)
	_, err = out.Read(buf)
	require.NoError(t, err)
	require.NoError(t, c.Process.Signal(syscall.SIGTERM))
	c.Wait()
	require.Equal(t, 42, c.ProcessState.ExitCode(), "SIGTERM reaches the container; its exit code comes back")

	// Killed from outside: 128+9, as Docker reports it.
	c = e.cmd("run", "--rm", "--name", "victim", "busybox", "sleep", "1000")
	require.NoError(t, c.Start())
	waitFor(t, 5*time.Second, "the container", func() bool { return strings.Contains(e.must("ps"), "victim") })
	e.must("kill", "victim")
	c.Wait()
	require.Equal(t, 137, c.ProcessState.ExitCode())
}

// A mydocker killed with SIGKILL takes its container down (Pdeathsig). ps reports it Dead and
// changes nothing (reads do not repair); rm records nothing more and frees everything.
func TestKilledMydockerIsRepaired(t *testing.T) {
	e := newEngine(t)
	c := e.cmd("run", "--name", "orphan", "busybox", "sleep", "1000")
	require.NoError(t, c.Start())
	waitFor(t, 5*time.Second, "the container", func() bool { return strings.Contains(e.must("ps"), "orphan") })
	require.NoError(t, c.Process.Kill())
	c.Wait()
	require.Regexp(t, `Dead .*orphan`, e.must("ps", "-a"))
	require.Regexp(t, `Dead .*orphan`, e.must("ps", "-a"), "a second read finds the same: ps repaired nothing")
	require.Contains(t, e.must("inspect", "orphan"), "watched this container was killed")
	e.must("stop", "orphan")
	require.Regexp(t, `Exited \(137\).*orphan`, e.must("ps", "-a"), "stop repairs: the exit is recorded as a SIGKILL")
	e.must("rm", "orphan")
	require.Empty(t, e.containerDirs())

	// A detached --rm container whose monitor dies: Dead until rm removes it.
	id := strings.TrimSpace(e.must("run", "-d", "--rm", "busybox", "sleep", "1000"))
	monitor := monitorPid(t, id)
	require.NoError(t, syscall.Kill(monitor, syscall.SIGKILL))
	waitFor(t, 5*time.Second, "Dead", func() bool { return strings.Contains(e.must("ps", "-a"), "Dead") })
	e.must("rm", id)
	require.Empty(t, e.containerDirs(), "rm removes a Dead container")

	// A run that wants the name of a Dead --rm container gets it.
	c = e.cmd("run", "--rm", "--name", "again", "busybox", "sleep", "1000")
	require.NoError(t, c.Start())
	waitFor(t, 5*time.Second, "the container", func() bool { return strings.Contains(e.must("ps"), "again") })
	require.NoError(t, c.Process.Kill())
	c.Wait()
	e.must("run", "--rm", "--name", "again", "busybox", "true")
}

// monitorPid finds the process that watches container id: its monitor, or the mydocker-shim
// the monitor handed it to (which names the monitor to run again after "--"). In the moment
// the monitor executes the shim its command line is neither: it looks again.
func monitorPid(t *testing.T, id string) int {
	t.Helper()
	pid := 0
	waitFor(t, 5*time.Second, "the monitor of "+id, func() bool {
		procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
		for _, p := range procs {
			data, _ := os.ReadFile(p)
			args := strings.Split(string(data), "\x00")
			if i := slices.Index(args, "--"); len(args) > 0 && args[0] == "mydocker-shim" && i >= 0 {
				args = args[i+2:] // after the monitor's path
			}
			if len(args) >= 3 && args[0] == "mydocker-monitor" && args[2] == id {
				pid, _ = strconv.Atoi(filepath.Base(filepath.Dir(p)))
				return true
			}
		}
		return false
	})
	return pid
}

func TestCommitExportImport(t *testing.T) {
	e := newEngine(t)
	e.must("run", "-d", "--name", "c1", "busybox", "sh", "-c", "echo data > /marker; rm /bin/ls; exec sleep 1000")
	waitFor(t, 5*time.Second, "the marker", func() bool { return e.run("exec", "c1", "cat", "/marker").stdout == "data\n" })
	require.Regexp(t, `^sha256:[0-9a-f]{64}\n$`, e.must("commit", "c1", "img2"))

	tarball := filepath.Join(t.TempDir(), "c1.tar")
	e.must("export", "-o", tarball, "c1")
	e.must("rm", "-f", "c1")

	require.Equal(t, "data\n", e.must("run", "--rm", "img2", "cat", "/marker"))
	require.Equal(t, 1, e.run("run", "--rm", "img2", "test", "-e", "/bin/ls").code, "the deletion is committed too")
	require.Regexp(t, `(?m)^img2\s+latest\s+[0-9a-f]{12}\s+`, e.must("images"))

	e.must("import", tarball, "flat")
	require.Equal(t, "data\n", e.must("run", "--rm", "flat", "cat", "/marker"))
	require.Equal(t, 1, e.run("run", "--rm", "flat", "test", "-e", "/bin/ls").code)

	e.must("run", "--name", "user", "img2", "true")
	r := e.run("rmi", "img2")
	require.Equal(t, 1, r.code, "an image in use is kept: %s", r)
	e.must("rm", "user")
	require.Contains(t, e.must("rmi", "img2"), "Untagged: img2:latest")
	require.NotContains(t, e.must("images"), "img2")
}

func TestParallelNames(t *testing.T) {
	e := newEngine(t)
	const n = 6
	results := make(chan result, n)
	for range n {
		go func() { results <- e.run("run", "-d", "--name", "same", "busybox", "sleep", "1000") }()
	}
	ok, outputs := 0, ""
	for range n {
		r := <-results
		if r.code == 0 {
			ok++
		}
		outputs += r.String() + "\n"
	}
	require.Equal(t, 1, ok, "exactly one of the parallel runs gets the name:\n%s", outputs)
}

func TestInspect(t *testing.T) {
	e := newEngine(t)
	require.Equal(t, 4, e.run("run", "--name", "ins", "-e", "A=1", "busybox", "sh", "-c", "exit 4").code)
	out := e.must("inspect", "ins")
	require.Contains(t, out, `"ExitCode": 4`)
	require.Contains(t, out, `"Name": "/ins"`)
	require.Contains(t, out, `"A=1"`)
	r := e.run("inspect", "nothing-here")
	require.Equal(t, 1, r.code)
}

// A plain `go build` on a machine with a C compiler links mydocker dynamically. exec must not
// load the binary from inside the container, where the host's ld.so is missing.
func TestExecWithDynamicallyLinkedBinary(t *testing.T) {
	e := newEngine(t)
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("needs gcc to build a dynamically linked mydocker")
	}
	dynamic := filepath.Join(t.TempDir(), "mydocker")
	build := exec.Command("go", "build", "-o", dynamic, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=1")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	out, err = exec.Command("file", dynamic).Output()
	if err == nil && !strings.Contains(string(out), "dynamically linked") {
		t.Skipf("the cgo build is not dynamically linked here: %s", out)
	}
	e.must("run", "-d", "--name", "dyn", "busybox", "sleep", "1000")
	got, err := exec.Command(dynamic, "--root", e.root, "exec", "dyn", "cat", "/proc/1/cmdline").CombinedOutput()
	require.NoError(t, err, "%s", got)
	require.Contains(t, string(got), "sleep")
}

// logs -f prints lines as they come and returns once the container has stopped.
func TestLogsFollow(t *testing.T) {
	e := newEngine(t)
	e.must("run", "-d", "--name", "talker", "busybox", "sh", "-c", "for i in 1 2 3; do echo line $i; sleep 0.3; done; echo bye >&2")
	start := time.Now()
	r := e.run("logs", "-f", "talker")
	require.Equal(t, 0, r.code, "%s", r)
	require.Equal(t, "line 1\nline 2\nline 3\n", r.stdout)
	require.Equal(t, "bye\n", r.stderr)
	require.Less(t, time.Since(start), 10*time.Second)
	require.Equal(t, "line 1\nline 2\nline 3\n", e.must("logs", "talker"), "the log stays after the exit")
}

// A line the container is in the middle of writing when its monitor hands it to the shim
// (some 20 ms after the start) is logged whole all the same: what the monitor read of it, then
// the rest, which docker logs prints as one line.
func TestLineAcrossTheHandoff(t *testing.T) {
	e := newEngine(t)
	e.must("run", "-d", "--name", "half", "busybox", "sh", "-c", "printf 'first '; sleep 0.2; echo half; echo whole")
	waitFor(t, 10*time.Second, "the exit recorded", func() bool {
		return e.must("inspect", "-f", "{{.State.Status}}", "half") == "exited\n"
	})
	require.Equal(t, "first half\nwhole\n", e.must("logs", "half"))
}

// Once a detached container runs, its monitor hands it to mydocker-shim: the same process (the
// container's parent), a program a fraction of the engine's size, holding the owner lock. The
// shim logs the output and, when the container exits, runs the monitor again, which records
// the exit; a SIGTERM sent to the watcher reaches the container, as it did the monitor.
func TestDetachedContainerIsWatchedByTheShim(t *testing.T) {
	e := newEngine(t)
	id := strings.TrimSpace(e.must("run", "-d", "--name", "sh1", "busybox", "sh", "-c", "echo out; echo err >&2; trap 'echo term; exit 7' TERM; while :; do sleep 0.1; done"))
	pid, err := strconv.Atoi(strings.TrimSpace(e.must("inspect", "-f", "{{.State.Pid}}", "sh1")))
	require.NoError(t, err)
	watcher := procStatusInt(t, pid, "PPid")
	waitFor(t, 5*time.Second, "the shim", func() bool {
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", watcher))
		return strings.HasPrefix(string(cmdline), "mydocker-shim\x00")
	})
	require.Equal(t, watcher, monitorPid(t, id))
	rss := procStatusInt(t, watcher, "VmRSS")
	require.Less(t, rss, 4096, "the watcher holds %d kB", rss)
	require.Regexp(t, `Up .*sh1`, e.must("ps"), "the watcher holds the owner lock: not Dead")
	waitFor(t, 5*time.Second, "the output logged", func() bool { return e.run("logs", "sh1").stdout == "out\n" })
	require.NoError(t, syscall.Kill(watcher, syscall.SIGTERM))
	waitFor(t, 10*time.Second, "the exit recorded", func() bool {
		return e.must("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "sh1") == "exited 7\n"
	})
	r := e.run("logs", "sh1")
	require.Equal(t, "out\nterm\n", r.stdout)
	require.Equal(t, "err\n", r.stderr)
	waitFor(t, 5*time.Second, "the watcher gone once the exit is recorded", func() bool {
		_, err := os.Stat(fmt.Sprintf("/proc/%d", watcher))
		return os.IsNotExist(err)
	})
}
