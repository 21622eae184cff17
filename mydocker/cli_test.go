package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
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
	require.Regexp(t, `^\["PATH=[^"]+","HOSTNAME=[0-9a-f]{12}"\]\n$`, e.must("inspect", "-f", "{{json .Config.Env}}", "fx-run"))
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
	require.Equal(t, "nameserver 10.9.9.9\nsearch a.test\n", e.must("run", "--rm", "--net", "none", "--dns", "10.9.9.9", "--dns-search", "a.test",
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
}

func TestVersionInfoAndUnknownCommands(t *testing.T) {
	e := newEngine(t)
	require.Regexp(t, `(?m)^ Version: +\S+$`, e.must("version"))
	require.Regexp(t, `(?m)^ Cgroup Version: [12]$`, e.must("info"))
	require.Regexp(t, `^[12]\n$`, e.must("info", "--format", "{{.CgroupVersion}}"))
	r := e.run("nosuchcommand")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "'nosuchcommand' is not a mydocker command")
}
