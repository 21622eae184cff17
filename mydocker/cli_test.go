package main

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mydocker/mydocker/internal/testutil"
)

// The listings as a script reads them: ps and images with --format, --filter, -n and
// --no-trunc; inspect -f; Docker's template functions.
func TestFormatsAndFilters(t *testing.T) {
	e := newEngine(t)
	e.run("run", "--net", "none", "--name", "fx-exit", "busybox", "sh", "-c", "exit 3")
	e.must("run", "-d", "--net", "none", "--name", "fx-run", "-l", "tier=web", "busybox", "sleep", "1000")
	id := strings.TrimSpace(e.must("run", "-d", "--net", "none", "--name", "fx-lbl", "--label", "tier=db", "busybox", "true"))
	e.must("wait", "fx-lbl")

	require.Equal(t, "fx-run Up", strings.TrimSpace(regexp.MustCompile(`Up .*`).ReplaceAllString(e.must("ps", "--format", "{{.Names}} {{.Status}}"), "Up")))
	require.Regexp(t, `^fx-exit Exited \(3\) .+ ago\n$`, e.must("ps", "-a", "--filter", "name=fx-exit", "--format", "{{.Names}} {{.Status}}"))
	require.Equal(t, "fx-lbl\nfx-exit\n", e.must("ps", "-a", "--filter", "status=exited", "--format", "{{.Names}}"))
	require.Equal(t, "fx-lbl\n", e.must("ps", "-a", "--filter", "label=tier=db", "--format", "{{.Names}}"))
	require.Equal(t, "fx-lbl\nfx-run\n", e.must("ps", "-a", "--filter", "label=tier", "--format", "{{.Names}}"), "newest first")
	require.Equal(t, "fx-lbl\n", e.must("ps", "-n", "1", "--format", "{{.Names}}"), "-n counts every state")
	require.Equal(t, "fx-lbl\n", e.must("ps", "-l", "--format", "{{.Names}}"))
	require.Contains(t, strings.Fields(e.must("ps", "-aq", "--no-trunc")), id)
	require.Equal(t, "tier=db\n", e.must("ps", "-a", "--filter", "id="+id[:6], "--format", "{{.Labels}}"))
	require.Equal(t, "db\n", e.must("ps", "-a", "--filter", "id="+id[:6], "--format", `{{.Label "tier"}}`))
	require.Regexp(t, `^NAMES +STATUS\nfx-run +Up `, e.must("ps", "--format", "table {{.Names}}\t{{.Status}}"))
	r := e.run("ps", "--filter", "colour=blue")
	require.Equal(t, 125, r.code)
	require.Contains(t, r.stderr, "invalid filter 'colour'")

	require.Equal(t, "3\n", e.must("inspect", "-f", "{{.State.ExitCode}}", "fx-exit"))
	require.Equal(t, "exited\nrunning\n", e.must("inspect", "-f", "{{.State.Status}}", "fx-exit", "fx-run"))
	require.Equal(t, "/fx-run web\n", e.must("inspect", "-f", "{{.Name}} {{.Config.Labels.tier}}", "fx-run"))
	require.Regexp(t, `^\["PATH=[^"]+"\]\n$`, e.must("inspect", "-f", "{{json .Config.Env}}", "fx-run"))
	require.Equal(t, "FX-RUN\n", e.must("inspect", "-f", `{{upper (index (split .Name "/") 1)}}`, "fx-run"))
	r = e.run("inspect", "-f", "{{.Name}}", "fx-run", "nosuch")
	require.Equal(t, 1, r.code)
	require.Equal(t, "/fx-run\n", r.stdout)
	require.Contains(t, r.stderr, "No such object: nosuch")

	require.Equal(t, "busybox:latest\n", e.must("images", "--format", "{{.Repository}}:{{.Tag}}"))
	e.must("tag", "busybox", "busybox:v2")
	require.Equal(t, "busybox:latest\nbusybox:v2\n", e.must("images", "--format", "{{.Repository}}:{{.Tag}}"))
	require.Len(t, strings.Fields(e.must("images", "-q")), 1, "one id per image, whatever its tags")
	e.must("rmi", "busybox:v2")
	require.Equal(t, "busybox:latest\n", e.must("images", "--format", "{{.Repository}}:{{.Tag}}"))
}

// run's flags for what a container starts with: environment files, entrypoint, labels,
// /etc/hosts and resolv.conf additions, the id in a file; and stop's signal and timeout.
func TestRunFlagsOfTheDockerCLI(t *testing.T) {
	e := newEngine(t)
	dir := t.TempDir()
	envFile := filepath.Join(dir, "env.list")
	require.NoError(t, os.WriteFile(envFile, []byte("# comment\nEF_ONE=alpha\n\n  EF_TWO=beta gamma\nEF_THREE=file\n"), 0o644))
	require.Equal(t, "alpha|beta gamma|flag\n", e.must("run", "--rm", "--net", "none", "--env-file", envFile, "-e", "EF_THREE=flag",
		"busybox", "sh", "-c", `echo "$EF_ONE|$EF_TWO|$EF_THREE"`))
	require.Equal(t, "hello world\n", e.must("run", "--rm", "--net", "none", "--entrypoint", "/bin/echo", "busybox", "hello", "world"))
	require.Regexp(t, `(?m)^10\.1\.2\.3\tfoo$`, e.must("run", "--rm", "--net", "none", "--add-host", "foo:10.1.2.3", "busybox", "cat", "/etc/hosts"))
	require.Equal(t, "search a.test\nnameserver 10.9.9.9\n", e.must("run", "--rm", "--net", "none", "--dns", "10.9.9.9", "--dns-search", "a.test",
		"busybox", "grep", "-E", "^(nameserver|search)", "/etc/resolv.conf"))
	r := e.run("run", "--rm", "--net", "none", "--add-host", "nocolon", "busybox", "true")
	require.Equal(t, 125, r.code)
	require.Contains(t, r.stderr, "bad format for add-host")

	cid := filepath.Join(dir, "cid")
	id := strings.TrimSpace(e.must("run", "-d", "--net", "none", "--cidfile", cid, "--stop-signal", "SIGUSR1", "--stop-timeout", "1",
		"busybox", "sh", "-c", `trap "echo got USR1; exit 0" USR1; while :; do sleep 0.1; done`))
	data, err := os.ReadFile(cid)
	require.NoError(t, err)
	require.Equal(t, id, string(data))
	require.Equal(t, "SIGUSR1\n", e.must("inspect", "-f", "{{.Config.StopSignal}}", id))
	r = e.run("run", "--rm", "--net", "none", "--cidfile", cid, "busybox", "true")
	require.Equal(t, 125, r.code, "an existing id file is refused")
	require.Contains(t, r.stderr, "container ID file found")
	start := time.Now()
	e.must("stop", id)
	require.Less(t, time.Since(start), 5*time.Second, "the stop signal ended it")
	require.Equal(t, "got USR1\n", e.must("logs", id))
	require.Equal(t, "0\n", e.must("inspect", "-f", "{{.State.ExitCode}}", id))
}

func TestLogsTailAndTimestamps(t *testing.T) {
	e := newEngine(t)
	e.must("run", "-d", "--net", "none", "--name", "lg", "busybox", "sh", "-c", "for i in 1 2 3 4 5; do echo line$i; done")
	e.must("wait", "lg")
	require.Equal(t, "line4\nline5\n", e.must("logs", "--tail", "2", "lg"))
	require.Equal(t, "", e.must("logs", "--tail", "0", "lg"))
	out := e.must("logs", "-t", "lg")
	require.Regexp(t, `^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z line\d\n){5}$`, out)

	// --since and --until as Docker reads them: an RFC 3339 time (both included), Unix
	// seconds, or a duration before now.
	third := strings.Fields(strings.Split(out, "\n")[2])[0]
	require.Equal(t, "line3\nline4\nline5\n", e.must("logs", "--since", third, "lg"))
	require.Equal(t, "line1\nline2\nline3\n", e.must("logs", "--until", third, "lg"))
	require.Equal(t, "line3\n", e.must("logs", "--since", third, "--until", third, "lg"))
	require.Equal(t, "line4\nline5\n", e.must("logs", "--since", third, "--tail", "2", "lg"))
	require.Equal(t, "line1\nline2\nline3\nline4\nline5\n", e.must("logs", "--since", "1h", "lg"))
	require.Equal(t, "", e.must("logs", "--until", "1h", "lg"), "all of it was logged less than an hour ago")
	later := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
	require.Equal(t, "", e.must("logs", "--since", later, "lg"))
	require.Equal(t, "line1\nline2\nline3\nline4\nline5\n", e.must("logs", "--until", later, "lg"))
	r := e.run("logs", "--since", "yesterday", "lg")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, `failed to parse value as time or duration: "yesterday"`)
	// -f ends once --until is past, though the container goes on.
	e.must("run", "-d", "--net", "none", "--name", "lgf", "busybox", "sh", "-c", "echo up; exec sleep 1000")
	waitFor(t, 5*time.Second, "the output", func() bool { return e.must("logs", "lgf") == "up\n" })
	require.Equal(t, "up\n", e.must("logs", "-f", "--until", "-1s", "lgf"))

	// A container run in the foreground is logged too, each stream apart, while its output
	// still reaches the caller's stdout and stderr.
	r = e.run("run", "--net", "none", "--name", "fg", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3")
	require.Equal(t, 3, r.code)
	require.Equal(t, "out\n", r.stdout)
	require.Equal(t, "err\n", r.stderr)
	r = e.run("logs", "fg")
	require.Equal(t, "out\n", r.stdout)
	require.Equal(t, "err\n", r.stderr)
}

func TestVersionInfoAndUnknownCommands(t *testing.T) {
	e := newEngine(t)
	require.Regexp(t, `(?m)^ Version: +\S+$`, e.must("version"))
	// docker --version's line, with -v and after a global flag too.
	for _, args := range [][]string{{"--version"}, {"-v"}, {"--log-level", "error", "--version"}} {
		require.Regexp(t, `^mydocker version \S+, build \S+\n$`, e.must(args...))
	}
	require.Regexp(t, `(?m)^ Cgroup Version: [12]$`, e.must("info"))
	require.Regexp(t, `^[12]\n$`, e.must("info", "--format", "{{.CgroupVersion}}"))
	r := e.run("nosuchcommand")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "'nosuchcommand' is not a mydocker command")
	r = e.run("volume", "nosuch")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "'nosuch' is not a mydocker volume command.\nSee 'mydocker volume --help'")
	// A usage error names the command with its group, in Docker's words; a wrong number of
	// arguments exits 1, a bad flag 125.
	for _, u := range []struct {
		name string // the command, its group first
		args []string
	}{
		{"volume inspect", nil}, {"volume create", []string{"a1", "b1"}}, {"network connect", []string{"n"}}, {"image rm", nil},
		{"image tag", []string{"busybox"}}, {"stop", nil}, {"rename", []string{"a"}}, {"cp", []string{"x:/a"}}, {"top", nil}, {"exec", []string{"x"}},
	} {
		r := e.run(append(strings.Fields(u.name), u.args...)...)
		require.Equal(t, 1, r.code, "%s: %s", u.name, r)
		require.Regexp(t, `^mydocker: "mydocker `+u.name+`" requires (at least|at most|exactly) \d arguments?\.\nSee 'mydocker `+u.name+` --help'\.\n\nUsage:  mydocker `+u.name+` `, r.stderr, u.name)
	}
	r = e.run("volume", "inspect", "--bogus", "v")
	require.Equal(t, 125, r.code)
	require.Contains(t, r.stderr, "See 'mydocker volume inspect --help'.")
	for _, args := range [][]string{{"stop"}, {"start"}, {"logs"}, {"rm"}, {"kill"}, {"exec", "", "true"}, {"restart"}, {"pause"}} {
		args := append(args[:1], append([]string{"nosuch"}, args[min(2, len(args)):]...)...)
		r := e.run(args...)
		require.Equal(t, 1, r.code, "%v: %s", args, r)
		require.Contains(t, r.stderr, "No such container: nosuch", "%v", args)
	}
	require.Regexp(t, `^TYPE +TOTAL +ACTIVE +SIZE +RECLAIMABLE\nImages +1 +0 +[\d.]+[kM]B +[\d.]+[kM]B \(100%\)\nContainers +0 +0 `, e.must("system", "df"))
}

// create makes a container that nothing runs yet; start runs it under a monitor (start -a
// shows its output and passes its status on), again after it stopped; restart stops and
// starts it; a start that fails keeps the container, with the error.
func TestCreateStartRestart(t *testing.T) {
	e := newEngine(t)
	id := strings.TrimSpace(e.must("create", "--net", "none", "--name", "crt", "busybox", "sh", "-c", "echo ran; exit 4"))
	require.Regexp(t, `^[0-9a-f]{64}$`, id)
	require.Equal(t, "created\n", e.must("inspect", "-f", "{{.State.Status}}", "crt"))
	require.Equal(t, "crt Created\n", e.must("ps", "-a", "--format", "{{.Names}} {{.Status}}"))
	r := e.run("start", "-a", "crt")
	require.Equal(t, 4, r.code, "%s", r)
	require.Equal(t, "ran\n", r.stdout)
	r = e.run("start", "-a", "crt")
	require.Equal(t, "ran\n", r.stdout, "only this start's output")
	require.Equal(t, "ran\nran\n", e.must("logs", "crt"))

	e.must("run", "-d", "--net", "none", "--name", "rst", "busybox", "sh", "-c", `trap "exit 0" TERM; echo boot; sleep 1000 & wait`)
	first := e.must("inspect", "-f", "{{.State.StartedAt}}", "rst")
	e.must("restart", "rst")
	require.Equal(t, "running 0\n", e.must("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "rst"))
	require.NotEqual(t, first, e.must("inspect", "-f", "{{.State.StartedAt}}", "rst"))
	waitFor(t, 5*time.Second, "the second boot", func() bool { return e.must("logs", "rst") == "boot\nboot\n" })

	e.must("create", "--net", "none", "--name", "bad", "busybox", "/nonexistent")
	r = e.run("start", "bad")
	require.NotEqual(t, 0, r.code)
	require.Contains(t, r.stderr, "/nonexistent")
	require.Equal(t, "created\n", e.must("inspect", "-f", "{{.State.Status}}", "bad"), "a failed start keeps the container")
	r = e.run("start", "nosuch")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "No such container: nosuch")
}

// pause freezes a container (a counter stands still) and unpause lets it go on; ps and inspect
// say so; a paused container can still be stopped.
func TestPauseUnpause(t *testing.T) {
	e := newEngine(t)
	e.must("run", "-d", "--net", "none", "--name", "ctr", "busybox", "sh", "-c", "i=0; while :; do i=$((i+1)); echo $i; sleep 0.05; done")
	last := func() string { l := strings.Fields(e.must("logs", "ctr")); return l[len(l)-1] }
	waitFor(t, 5*time.Second, "the counter", func() bool { return len(strings.Fields(e.must("logs", "ctr"))) > 3 })
	e.must("pause", "ctr")
	require.Equal(t, "paused true\n", e.must("inspect", "-f", "{{.State.Status}} {{.State.Paused}}", "ctr"))
	require.Regexp(t, `^Up .* \(Paused\)\n$`, e.must("ps", "--format", "{{.Status}}"))
	require.Equal(t, "ctr\n", e.must("ps", "--filter", "status=paused", "--format", "{{.Names}}"))
	a := last()
	time.Sleep(500 * time.Millisecond)
	require.Equal(t, a, last(), "the counter stands still")
	require.Equal(t, 1, e.run("pause", "ctr").code, "already paused")
	e.must("unpause", "ctr")
	waitFor(t, 5*time.Second, "the counter to go on", func() bool { return last() != a })
	e.must("pause", "ctr")
	e.must("stop", "-t", "1", "ctr")
	require.Equal(t, "exited\n", e.must("inspect", "-f", "{{.State.Status}}", "ctr"))
}

func TestRenameTopTmpfsAndCommitChanges(t *testing.T) {
	e := newEngine(t)
	e.must("run", "-d", "--net", "none", "--name", "old", "busybox", "sleep", "1000")
	e.must("rename", "old", "new")
	require.Equal(t, "/new\n", e.must("inspect", "-f", "{{.Name}}", "new"))
	require.Equal(t, 1, e.run("inspect", "old").code, "the old name is gone")
	e.must("run", "-d", "--net", "none", "--name", "other", "busybox", "true")
	r := e.run("rename", "new", "other")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "already in use")
	e.must("stop", "-t", "0", "new")
	require.Equal(t, "/new\n", e.must("inspect", "-f", "{{.Name}}", "new"), "the exit, recorded after the rename, keeps the new name")
	e.must("start", "new")

	// top runs the host's ps, -ef unless told otherwise, and keeps the container's rows.
	require.Regexp(t, `^UID +PID +PPID +C +STIME +TTY +TIME +CMD\nroot +\d+ +\d+ +\d+ +\S+ +\? +\S+ +sleep 1000\n$`, e.must("top", "new"))
	require.Regexp(t, `^PID +COMMAND\n\d+ +sleep\n$`, e.must("top", "new", "-eo", "pid,comm"))
	require.Regexp(t, `^COMMAND +PID +USER\nsleep +\d+ +root\n$`, e.must("top", "new", "-o", "comm", "-o", "pid,user"))
	r = e.run("top", "new", "-o", "comm")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "no PID column")
	r = e.run("top", "new", "-o", "pid,comm=PID")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, `specifying "comm=PID" is not allowed`)
	r = e.run("top", "new", "--bogus-ps-option")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "ps --bogus-ps-option")

	require.Regexp(t, `(?m)^tmpfs /scratch tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k`,
		e.must("run", "--rm", "--net", "none", "--tmpfs", "/scratch:size=1m", "busybox", "cat", "/proc/mounts"))
	require.Regexp(t, `(?m)^shm /dev/shm tmpfs .*size=131072k`, e.must("run", "--rm", "--net", "none", "--shm-size", "128m", "busybox", "cat", "/proc/mounts"))

	e.must("commit", "--change", "ENV CHG=yes", "--change", "WORKDIR /tmp", "-c", "LABEL tier=web", "-a", "A Tester", "-m", "changed", "new", "chg:1")
	require.Equal(t, "yes /tmp\n", e.must("run", "--rm", "--net", "none", "chg:1", "sh", "-c", "echo $CHG $(pwd)"))
	require.Equal(t, "web A Tester\n", e.must("inspect", "-f", "{{.Config.Labels.tier}} {{.Author}}", "chg:1"))
}

// -v NAME:/path mounts a named volume, made on first use, kept after the container; volume
// rm refuses one a container mounts; a run that fails leaves no volume it made.
func TestNamedVolumes(t *testing.T) {
	e := newEngine(t)
	e.must("run", "--rm", "--net", "none", "-v", "vol1:/data", "busybox", "sh", "-c", "echo kept > /data/f")
	require.Equal(t, "kept\n", e.must("run", "--rm", "--net", "none", "-v", "vol1:/data:ro", "busybox", "cat", "/data/f"))
	require.Equal(t, 1, e.run("run", "--rm", "--net", "none", "-v", "vol1:/data:ro", "busybox", "touch", "/data/g").code, "read-only")
	require.Equal(t, "vol1\n", e.must("volume", "ls", "-q"))
	require.Regexp(t, `^DRIVER +VOLUME NAME\nlocal +vol1\n$`, e.must("volume", "ls"))
	require.Contains(t, e.must("volume", "inspect", "vol1"), `"Mountpoint": "`+filepath.Join(e.root, "volumes/vol1/_data")+`"`)
	// -f: a Go template over the JSON inspect prints, as Docker's.
	require.Equal(t, filepath.Join(e.root, "volumes/vol1/_data")+" local local vol1\n",
		e.must("volume", "inspect", "-f", "{{.Mountpoint}} {{.Driver}} {{.Scope}} {{.Name}}", "vol1"))
	e.must("volume", "create", "--label", "tier=db", "vol2")
	require.Equal(t, "vol1 {}\nvol2 {\"tier\":\"db\"}\n", e.must("volume", "inspect", "--format", "{{.Name}} {{json .Labels}}", "vol1", "vol2"))
	r := e.run("volume", "inspect", "-f", "{{.Name}}", "vol1", "nosuch")
	require.Equal(t, 1, r.code)
	require.Equal(t, "vol1\n", r.stdout)
	require.Equal(t, "Error: No such volume: nosuch\n", r.stderr)
	r = e.run("volume", "inspect", "-f", "{{.Name", "vol1")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "template parsing error")
	e.must("volume", "rm", "vol2")
	e.must("run", "-d", "--net", "none", "--name", "user", "-v", "vol1:/data", "busybox", "sleep", "1000")
	r = e.run("volume", "rm", "vol1")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "volume is in use")
	e.must("rm", "-f", "user")
	require.Equal(t, 127, e.run("run", "--rm", "--net", "none", "-v", "fresh:/data", "busybox", "/nonexistent").code)
	require.Equal(t, "vol1\n", e.must("volume", "ls", "-q"), "the failed run's volume is gone")
	require.Equal(t, "Deleted Volumes:\nvol1\n", e.must("volume", "prune", "-f"))
	require.Equal(t, "", e.must("volume", "ls", "-q"))
	r = e.run("run", "--rm", "--net", "none", "-v", "./rel:/data", "busybox", "true")
	require.Equal(t, 125, r.code)
	require.Contains(t, r.stderr, "neither an absolute host path nor a volume name")
}

// --restart: on-failure:N runs a failing command N more times, then it stays exited; always
// starts it again until stop says otherwise; start lets the policy go on.
func TestRestartPolicies(t *testing.T) {
	e := newEngine(t)
	e.must("run", "-d", "--net", "none", "--name", "onf", "--restart", "on-failure:2", "busybox", "sh", "-c", "echo try; exit 1")
	waitFor(t, 10*time.Second, "two restarts", func() bool {
		return e.must("inspect", "-f", "{{.RestartCount}} {{.State.Status}}", "onf") == "2 exited\n"
	})
	time.Sleep(time.Second)
	require.Equal(t, "2 exited 1 on-failure 2\n", e.must("inspect", "-f",
		"{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}} {{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}}", "onf"))
	require.Equal(t, "try\ntry\ntry\n", e.must("logs", "onf"))

	e.must("run", "-d", "--net", "none", "--name", "alw", "--restart", "always", "busybox", "sh", "-c", "echo up; sleep 0.2; exit 3")
	waitFor(t, 10*time.Second, "a restart", func() bool {
		return strings.HasPrefix(e.must("inspect", "-f", "{{.RestartCount}}", "alw"), "2")
	})
	e.must("stop", "alw")
	time.Sleep(time.Second)
	require.Equal(t, "exited\n", e.must("inspect", "-f", "{{.State.Status}}", "alw"), "stop ends the policy")
	e.must("start", "alw")
	require.Equal(t, "running\n", e.must("inspect", "-f", "{{.State.Status}}", "alw"))
	e.must("rm", "-f", "alw")

	for _, bad := range []string{"sometimes", "always:3", "on-failure:x"} {
		r := e.run("run", "-d", "--net", "none", "--restart", bad, "busybox", "true")
		require.Equal(t, 125, r.code, bad)
		require.Contains(t, r.stderr, "invalid restart policy")
	}
	r := e.run("run", "--rm", "--net", "none", "--restart", "always", "busybox", "true")
	require.Equal(t, 125, r.code)
	require.Contains(t, r.stderr, "conflicting options: --restart and --rm")
}

// cp both ways, a file and a tree, and as tar streams; a symlink in the container that names
// a host directory leads inside the container, never to the host.
func TestCp(t *testing.T) {
	e := newEngine(t)
	e.must("run", "-d", "--net", "none", "--name", "cp", "busybox", "sh", "-c",
		"echo from-ctr > /tmp/out.txt; mkdir -p /tmp/d/e; echo deep > /tmp/d/e/f; ln -s /etc/passwd /tmp/d/link; sleep 1000")
	waitFor(t, 5*time.Second, "the files", func() bool { return e.run("exec", "cp", "test", "-L", "/tmp/d/link").code == 0 })
	host := t.TempDir()
	in := filepath.Join(host, "in.txt")
	require.NoError(t, os.WriteFile(in, []byte("cp-in\nsecond line\n"), 0o644))
	e.must("cp", in, "cp:/tmp/in.txt")
	require.Equal(t, "cp-in\nsecond line\n", e.must("exec", "cp", "cat", "/tmp/in.txt"))
	e.must("cp", "cp:/tmp/in.txt", filepath.Join(host, "back.txt"))
	back, err := os.ReadFile(filepath.Join(host, "back.txt"))
	require.NoError(t, err)
	require.Equal(t, "cp-in\nsecond line\n", string(back))

	e.must("cp", "cp:/tmp/d", filepath.Join(host, "tree"))
	deep, err := os.ReadFile(filepath.Join(host, "tree/e/f"))
	require.NoError(t, err)
	require.Equal(t, "deep\n", string(deep))
	link, err := os.Readlink(filepath.Join(host, "tree/link"))
	require.NoError(t, err)
	require.Equal(t, "/etc/passwd", link, "a symlink is copied as one")
	e.must("cp", "cp:/tmp/d", host) // into an existing directory: under its own name
	require.FileExists(t, filepath.Join(host, "d/e/f"))
	require.Regexp(t, `(?s)^d/\n.*d/e/f\n`, sortedTarNames(t, e.must("cp", "cp:/tmp/d", "-")))

	e.must("cp", host, "cp:/tmp/")
	require.Equal(t, "deep\n", e.must("exec", "cp", "cat", filepath.Join("/tmp", filepath.Base(host), "tree/e/f")))

	// /tmp/evil -> the host's directory: the copy lands in the container's own such path.
	e.must("exec", "cp", "sh", "-c", "mkdir -p "+host+" && ln -s "+host+" /tmp/evil")
	e.must("cp", in, "cp:/tmp/evil/escaped.txt")
	require.NoFileExists(t, filepath.Join(host, "escaped.txt"), "cp wrote on the host through the container's symlink")
	require.Equal(t, "cp-in\nsecond line\n", e.must("exec", "cp", "cat", filepath.Join(host, "escaped.txt")))

	e.must("stop", "-t", "0", "cp")
	e.must("cp", in, "cp:/tmp/again.txt")
	require.Equal(t, "cp-in\nsecond line\n", readVia(t, e, "cp:/tmp/again.txt"), "a stopped container's files")
}

// readVia reads a file out of a container with cp.
func readVia(t *testing.T, e *engineEnv, src string) string {
	t.Helper()
	tr := tar.NewReader(strings.NewReader(e.must("cp", src, "-")))
	_, err := tr.Next()
	require.NoError(t, err)
	data, err := io.ReadAll(tr)
	require.NoError(t, err)
	return string(data)
}

// cp into and out of a stopped container, Docker's run/cp/commit pattern: a created container
// gets its input before it first starts, an exited one gives its output; a path under a volume
// or a bind mount is the volume's, as in the running container. The mount a copy makes is
// seen only by the copy, and goes with it; a start meanwhile waits for the copy.
func TestCpStoppedContainer(t *testing.T) {
	e := newEngine(t)
	host := t.TempDir()
	in := filepath.Join(host, "in.txt")
	require.NoError(t, os.WriteFile(in, []byte("cp-in\n"), 0o644))
	bound := t.TempDir()
	e.must("create", "--net", "none", "--name", "cps", "-v", "cpvol:/data", "-v", bound+":/bound", "busybox", "sh", "-c",
		"cat /tmp/in.txt /data/in.txt /bound/in.txt; echo out > /tmp/out.txt; echo vol > /data/out.txt; mkdir -p /tmp/d/e; echo deep > /tmp/d/e/f; ln -s /etc/passwd /tmp/d/link")
	e.must("cp", in, "cps:/tmp/")
	e.must("cp", in, "cps:/data/")
	e.must("cp", in, "cps:/bound/")
	require.FileExists(t, filepath.Join(bound, "in.txt"), "written to the bind mount's source")
	r := e.run("start", "-a", "cps")
	require.Equal(t, 0, r.code, "%s", r)
	require.Equal(t, "cp-in\ncp-in\ncp-in\n", r.stdout)

	require.Equal(t, "out\n", readVia(t, e, "cps:/tmp/out.txt"))
	require.Equal(t, "vol\n", readVia(t, e, "cps:/data/out.txt"), "read from the volume")
	e.must("cp", "cps:/tmp/d", filepath.Join(host, "tree"))
	deep, err := os.ReadFile(filepath.Join(host, "tree/e/f"))
	require.NoError(t, err)
	require.Equal(t, "deep\n", string(deep))
	link, err := os.Readlink(filepath.Join(host, "tree/link"))
	require.NoError(t, err)
	require.Equal(t, "/etc/passwd", link, "a symlink is copied as one")
	e.must("commit", "cps", "cps:1")
	require.Equal(t, "cp-in\n", e.must("run", "--rm", "--net", "none", "cps:1", "cat", "/tmp/in.txt"), "commit keeps what cp wrote")

	// The vfs driver's copy, a directory of its own, as well.
	e.must("create", "--net", "none", "--storage-driver", "vfs", "--name", "cpvfs", "busybox", "cat", "/in.txt")
	e.must("cp", in, "cpvfs:/")
	require.Equal(t, "cp-in\n", e.must("start", "-a", "cpvfs"))

	// Paths stay inside the container: a symlink to a host directory leads to the
	// container's own such path.
	e.must("create", "--net", "none", "--name", "evil", "busybox", "sh", "-c", "cat "+host+"/escaped.txt")
	tarball := tarOf(t, map[string]string{strings.TrimPrefix(host, "/") + "/": "", "tmp/evil": host})
	r = e.runStdin(tarball, "cp", "-", "evil:/")
	require.Equal(t, 0, r.code, "%s", r)
	e.must("cp", in, "evil:/tmp/evil/escaped.txt")
	require.NoFileExists(t, filepath.Join(host, "escaped.txt"), "cp wrote on the host through the container's symlink")
	require.Equal(t, "cp-in\n", e.must("start", "-a", "evil"))

	// A destination ending in / is a directory: a missing one is made for a directory copied
	// to it, and an error for a file, as Docker's.
	e.must("cp", filepath.Join(host, "tree"), "cps:/newdir/")
	require.Equal(t, "deep\n", readVia(t, e, "cps:/newdir/e/f"))
	r = e.run("cp", in, "cps:/nodir/")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "no such directory")

	// Bad input: a clear error, and nothing left mounted (cleanup checks).
	r = e.run("cp", "cps:/nosuch", "-")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "/nosuch")
	e.must("create", "--net", "none", "--read-only", "--name", "ro", "busybox", "true")
	r = e.run("cp", in, "ro:/tmp/")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "read-only file system")

	// A copy in progress: its mount is in its own thread's namespace only, and a start waits.
	id := strings.TrimSpace(e.must("create", "--net", "none", "--name", "late", "busybox", "cat", "/tmp/late.txt"))
	merged := filepath.Join(e.root, "containers", id, "fs", "merged")
	pr, pw, err := os.Pipe()
	require.NoError(t, err)
	cp := e.cmd("cp", "-", "late:/tmp/")
	cp.Stdin = pr
	require.NoError(t, cp.Start())
	pr.Close()
	copied := make(chan error, 1)
	go func() { copied <- cp.Wait() }()
	t.Cleanup(func() { cp.Process.Kill(); pw.Close() })
	waitFor(t, 10*time.Second, "the copy's mount", func() bool { return mountedIn(cp.Process.Pid, merged) })
	require.False(t, mountedIn(os.Getpid(), merged), "the host's mount namespace has no mount of the copy")
	started := make(chan result, 1)
	go func() { started <- runBounded(e.cmd("start", "-a", "late"), "") }()
	_, err = pw.Write([]byte(tarOf(t, map[string]string{"late.txt": "late\n"})))
	require.NoError(t, err)
	pw.Close()
	select {
	case err := <-copied:
		require.NoError(t, err)
	case <-time.After(60 * time.Second):
		t.Fatal("the copy did not end")
	}
	r = <-started
	require.Equal(t, 0, r.code, "%s", r)
	require.Equal(t, "late\n", r.stdout, "the start waited for the copy")
}

// tarOf is a tar of regular files (name: content); a name ending in / is a directory, and a
// content that is an absolute path makes a symlink to it.
func tarOf(t *testing.T, files map[string]string) string {
	t.Helper()
	var b strings.Builder
	tw := tar.NewWriter(&b)
	for _, name := range slices.Sorted(maps.Keys(files)) {
		content := files[name]
		hdr := &tar.Header{Name: name, Mode: 0o644, Typeflag: tar.TypeReg, Size: int64(len(content))}
		switch {
		case strings.HasSuffix(name, "/"):
			hdr = &tar.Header{Name: name, Mode: 0o755, Typeflag: tar.TypeDir}
		case strings.HasPrefix(content, "/"):
			hdr = &tar.Header{Name: name, Mode: 0o777, Typeflag: tar.TypeSymlink, Linkname: content}
		}
		require.NoError(t, tw.WriteHeader(hdr))
		if hdr.Typeflag == tar.TypeReg {
			_, err := io.WriteString(tw, content)
			require.NoError(t, err)
		}
	}
	require.NoError(t, tw.Close())
	return b.String()
}

// mountedIn reports whether any thread of process pid sees a mount on path.
func mountedIn(pid int, path string) bool {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/mountinfo", pid))
	for _, task := range tasks {
		data, _ := os.ReadFile(task)
		for _, line := range strings.Split(string(data), "\n") {
			if f := strings.Fields(line); len(f) > 4 && f[4] == path {
				return true
			}
		}
	}
	return false
}

// sortedTarNames lists a tar's entry names, sorted, one per line.
func sortedTarNames(t *testing.T, data string) string {
	t.Helper()
	tr := tar.NewReader(strings.NewReader(data))
	var names []string
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		names = append(names, hdr.Name)
	}
	slices.Sort(names)
	return strings.Join(names, "\n") + "\n"
}

// diff lists a container's changes; -P publishes the exposed ports on free host ports and
// port lists them; container prune and image prune remove what nothing uses.
func TestDiffPortAndPrune(t *testing.T) {
	e := newEngine(t)
	e.must("run", "--net", "none", "--name", "df", "busybox", "sh", "-c", "echo x > /newfile; rm /bin/ls; echo y >> /etc/passwd")
	require.Equal(t, "C /bin\nD /bin/ls\nC /etc\nC /etc/passwd\nA /newfile\n", e.must("diff", "df"))

	e.must("run", "-d", "--name", "pp", "-P", "--expose", "80", "--expose", "53/udp", "busybox", "sleep", "1000")
	out := e.must("port", "pp")
	require.Regexp(t, `^53/udp -> 0\.0\.0\.0:\d+\n80/tcp -> 0\.0\.0\.0:\d+\n$`, out)
	require.Regexp(t, `^0\.0\.0\.0:\d+\n$`, e.must("port", "pp", "80"))
	require.Equal(t, 1, e.run("port", "pp", "81").code)
	e.must("rm", "-f", "pp")
	r := e.run("run", "--rm", "--net", "none", "--expose", "abc", "busybox", "true")
	require.Equal(t, 125, r.code)

	e.must("commit", "df")
	require.Regexp(t, `^[0-9a-f]{12}\n$`, e.must("images", "-q", "--filter", "dangling=true"))
	require.Regexp(t, `^Deleted Containers:\n[0-9a-f]{64}\n`, e.must("container", "prune", "-f"))
	require.Empty(t, strings.TrimSpace(e.must("ps", "-aq")))
	require.Regexp(t, `^Deleted Images:\ndeleted: sha256:[0-9a-f]{64}\n`, e.must("image", "prune", "-f"))
	require.Equal(t, "busybox:latest\n", e.must("image", "ls", "--format", "{{.Repository}}:{{.Tag}}"))
	require.Contains(t, e.must("completion", "bash"), "complete")
}

// --init: PID 1 is the runtime's init, the command its child; its status and the signals
// sent to the container pass through; orphans are reaped.
func TestInit(t *testing.T) {
	e := newEngine(t)
	r := e.run("run", "--rm", "--net", "none", "--init", "busybox", "sh", "-c", "echo $$; exit 5")
	require.Equal(t, 5, r.code)
	require.NotEqual(t, "1\n", r.stdout)
	require.Regexp(t, `^\d+\n$`, r.stdout)
	// An orphan (the backgrounded sleep, re-parented to PID 1) is reaped: no zombie is left.
	out := e.must("run", "--rm", "--net", "none", "--init", "busybox", "sh", "-c",
		"(sleep 0.1 &) ; sleep 0.5; grep -l '^State:.*Z' /proc/[0-9]*/status || echo no zombie")
	require.Equal(t, "no zombie\n", out)
	e.must("run", "-d", "--net", "none", "--name", "ini", "--init", "busybox", "sh", "-c", `trap "exit 7" TERM; while :; do sleep 0.1; done`)
	waitFor(t, 5*time.Second, "the trap", func() bool { return strings.Contains(e.must("top", "ini"), "sleep") })
	e.must("stop", "ini")
	require.Equal(t, "7 true\n", e.must("inspect", "-f", "{{.State.ExitCode}} {{.HostConfig.Init}}", "ini"))
	require.Equal(t, 127, e.run("run", "--rm", "--net", "none", "--init", "busybox", "/nonexistent").code)
}

// --mount's three types; a flag's value is taken whole (a comma is no separator, as Docker).
func TestMountFlagAndWholeValues(t *testing.T) {
	e := newEngine(t)
	require.Equal(t, "a,b\n", e.must("run", "--rm", "--net", "none", "-e", "LIST=a,b", "busybox", "sh", "-c", "echo $LIST"))
	host := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(host, "f"), []byte("hostfile\n"), 0o644))
	r := e.run("run", "--rm", "--net", "none", "--mount", "type=bind,source="+host+",target=/m,readonly", "busybox", "sh", "-c", "cat /m/f; touch /m/x")
	require.Equal(t, "hostfile\n", r.stdout)
	require.Contains(t, r.stderr, "Read-only file system")
	require.Equal(t, "v\n", e.must("run", "--rm", "--net", "none", "--mount", "type=volume,src=mv,dst=/data", "busybox", "sh", "-c", "echo v > /data/v; cat /data/v"))
	require.Equal(t, "mv\n", e.must("volume", "ls", "-q"))
	require.Regexp(t, `^tmpfs /t tmpfs rw,nosuid,nodev,noexec,relatime,size=2048k`,
		e.must("run", "--rm", "--net", "none", "--mount", "type=tmpfs,dst=/t,tmpfs-size=2m", "busybox", "grep", " /t ", "/proc/mounts"))
	r = e.run("run", "--rm", "--net", "none", "--mount", "type=bind,src=/nonexistent-"+filepath.Base(host)+",dst=/x", "busybox", "true")
	require.Equal(t, 125, r.code)
	require.Contains(t, r.stderr, "bind source path does not exist")
	r = e.run("run", "--rm", "--net", "none", "--mount", "type=nfs,dst=/x", "busybox", "true")
	require.Equal(t, 125, r.code)
}

// ps -s sizes a container's own layer; attach shows a running container's output from then on
// and passes its status on; stats has Docker's NET I/O and BLOCK I/O columns.
func TestSizeAttachAndStats(t *testing.T) {
	e := newEngine(t)
	e.must("run", "--net", "none", "--name", "sz", "busybox", "sh", "-c", "head -c 5000 /dev/zero > /f")
	require.Equal(t, "sz 5kB (virtual 1.987MB)\n", regexp.MustCompile(`virtual [\d.]+MB`).ReplaceAllString(
		e.must("ps", "-a", "--filter", "name=sz", "--format", "{{.Names}} {{.Size}}"), "virtual 1.987MB"))
	require.Regexp(t, `(?m)\s+SIZE$`, strings.Split(e.must("ps", "-a", "-s"), "\n")[0])

	e.must("run", "-d", "--net", "none", "--name", "att", "busybox", "sh", "-c", "echo early; sleep 2; echo late; exit 6")
	waitFor(t, 5*time.Second, "the early line", func() bool { return e.must("logs", "att") == "early\n" })
	r := e.run("attach", "att")
	require.Equal(t, 6, r.code)
	require.Equal(t, "late\n", r.stdout, "only what it prints from the attach on")
	require.Equal(t, 1, e.run("attach", "att").code, "a stopped container cannot be attached to")

	e.must("run", "-d", "--net", "none", "--name", "st", "busybox", "sleep", "1000")
	require.Regexp(t, `(?m)^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE / LIMIT\s+MEM %\s+NET I/O\s+BLOCK I/O\s+PIDS$`, e.must("stats", "--no-stream", "st"))
}

// A container made with -i reads what start -ai or attach sends it; the end of that input is
// its stdin's end.
func TestAttachStdin(t *testing.T) {
	e := newEngine(t)
	e.must("create", "-i", "--net", "none", "--name", "ci", "busybox", "sh", "-c", "read x; echo got $x; cat; echo done")
	r := e.runStdin("hello\nmore\n", "start", "-ai", "ci")
	require.Equal(t, 0, r.code, "%s", r)
	require.Equal(t, "got hello\nmore\ndone\n", r.stdout)

	e.must("run", "-di", "--net", "none", "--name", "di", "busybox", "sh", "-c", `while read l; do echo "<$l>"; done; echo eof; exit 4`)
	r = e.runStdin("a\nb\n", "attach", "di")
	require.Equal(t, 4, r.code, "%s", r)
	require.Equal(t, "<a>\n<b>\neof\n", r.stdout)

	e.must("create", "--net", "none", "--name", "noi", "busybox", "true")
	r = e.runStdin("x\n", "start", "-ai", "noi")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "was not made with -i")
}

// save and load move images between stores in docker save's format (gzip or not); a load
// whose layer is not what its config says leaves nothing; history tells how the image was made.
func TestSaveLoadHistory(t *testing.T) {
	e := newEngine(t)
	e.must("run", "--net", "none", "--name", "mk", "busybox", "sh", "-c", "echo made > /made")
	e.must("commit", "-m", "a file", "mk", "made:1")
	archive := filepath.Join(t.TempDir(), "images.tar")
	e.must("save", "-o", archive, "made:1", "busybox")

	other := newEngine(t) // a store of its own, with busybox already: its layer is not unpacked again
	out := other.must("load", "-i", archive)
	require.Equal(t, "Loaded image: made:1\nLoaded image: busybox:latest\n", out)
	require.Equal(t, "made\n", other.must("run", "--rm", "--net", "none", "made:1", "cat", "/made"))
	require.Regexp(t, `^IMAGE +CREATED +CREATED BY +SIZE +COMMENT\n[0-9a-f]{12} +.+ ago +mydocker commit +\S+ +a file\n<missing> +.+ ago +mydocker import +\S+ +Imported from tarball\n$`,
		other.must("history", "made:1"))

	// From stdin, gzipped.
	fresh := newEngine(t)
	fresh.must("rmi", "busybox")
	data, err := os.ReadFile(archive)
	require.NoError(t, err)
	var gz strings.Builder
	zw := gzip.NewWriter(&gz)
	zw.Write(data)
	zw.Close()
	r := fresh.runStdin(gz.String(), "load")
	require.Equal(t, 0, r.code, "%s", r)
	require.Equal(t, "made:1\nbusybox:latest\n", fresh.must("images", "--format", "{{.Repository}}:{{.Tag}}"))

	// A layer changed in transit: nothing of the archive stays.
	bad := newEngine(t)
	bad.must("rmi", "busybox")
	corrupt := filepath.Join(t.TempDir(), "corrupt.tar")
	require.NoError(t, os.WriteFile(corrupt, corruptLayer(t, data), 0o644))
	r = bad.run("load", "-i", corrupt)
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "diff id")
	require.Empty(t, strings.TrimSpace(bad.must("images", "-q")))
	layers, _ := os.ReadDir(filepath.Join(bad.root, "image/layers/sha256"))
	require.Empty(t, layers, "no layer left behind")
	require.Equal(t, 1, bad.run("load", "-i", filepath.Join(t.TempDir(), "missing.tar")).code)
}

// corruptLayer returns a docker-archive with one byte of its first layer's content changed.
func corruptLayer(t *testing.T, archive []byte) []byte {
	t.Helper()
	var out strings.Builder
	tw := tar.NewWriter(&out)
	tr := tar.NewReader(strings.NewReader(string(archive)))
	done := false
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		body, err := io.ReadAll(tr)
		require.NoError(t, err)
		if !done && strings.HasSuffix(hdr.Name, "layer.tar") {
			// A byte of a file's content, not of the tar's headers.
			i := strings.Index(string(body), "BusyBox")
			if i < 0 {
				i = len(body) / 2
			}
			body[i] ^= 0xff
			done = true
		}
		require.NoError(t, tw.WriteHeader(hdr))
		_, err = tw.Write(body)
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	return []byte(out.String())
}

// save --format oci writes an OCI image layout that load reads back, and that skopeo reads and
// writes too (in both formats) when it is installed.
func TestSaveLoadOCI(t *testing.T) {
	e := newEngine(t)
	dir := t.TempDir()
	archive := filepath.Join(dir, "oci.tar")
	e.must("save", "--format", "oci", "-o", archive, "busybox")
	other := newEngine(t)
	other.must("rmi", "busybox")
	require.Equal(t, "Loaded image: busybox:latest\n", other.must("load", "-i", archive))
	require.Equal(t, "oci\n", other.must("run", "--rm", "--net", "none", "busybox", "echo", "oci"))

	skopeo, err := exec.LookPath("skopeo")
	if err != nil {
		t.Skip("skopeo is not installed: the round trip through it is not checked")
	}
	out, err := exec.Command(skopeo, "copy", "oci-archive:"+archive, "docker-archive:"+filepath.Join(dir, "sk.tar")+":sk:1").CombinedOutput()
	require.NoError(t, err, "%s", out)
	out, err = exec.Command(skopeo, "copy", "docker-archive:"+filepath.Join(dir, "sk.tar"), "oci-archive:"+filepath.Join(dir, "sk-oci.tar")+":sk:2").CombinedOutput()
	require.NoError(t, err, "%s", out)
	fresh := newEngine(t)
	fresh.must("rmi", "busybox")
	require.Equal(t, "Loaded image: sk:1\n", fresh.must("load", "-i", filepath.Join(dir, "sk.tar")), "docker.io/library/sk:1 is sk:1")
	require.Equal(t, "Loaded image: sk:2\n", fresh.must("load", "-i", filepath.Join(dir, "sk-oci.tar")))
	require.Equal(t, "skopeo\n", fresh.must("run", "--rm", "--net", "none", "sk:1", "echo", "skopeo"))
}

// A --root whose path holds overlayfs's separators (a comma between options, a colon between
// lower directories) still mounts: the paths are escaped.
func TestRootWithOverlaySeparators(t *testing.T) {
	testutil.RequiresRoot(t)
	root := filepath.Join(t.TempDir(), "a,b:c")
	e := &engineEnv{t: t, root: root, bin: binary}
	t.Cleanup(e.cleanup)
	e.must("import", testutil.BusyboxTar(t), "busybox")
	require.Equal(t, "ok\n", e.must("run", "--rm", "--net", "none", "busybox", "echo", "ok"))
}
