package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// cliStep is one command of a session a Docker user types, run against Docker 20.10 and
// against mydocker in turn; what the user reads (stdout through show, and the exit status)
// must be the same.
type cliStep struct {
	name  string
	args  []string
	stdin string
	// show turns stdout into what is compared: the whole of it when nil. It drops what may
	// differ by design or by timing (durations, ids), never what the step checks.
	show func(string) string
	// wait runs before the step until it holds (bounded), for what settles on its own time.
	wait []string
	// stderrHas must be in stderr, for errors said in Docker's words.
	stderrHas string
}

var (
	timestampPrefix = regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z `)
	lastField       = func(s string) string {
		var out []string
		for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
			if f := strings.Fields(l); len(f) > 0 && strings.HasSuffix(l, "sleep 1000") {
				out = append(out, "... "+strings.Join(f[len(f)-2:], " "))
			}
		}
		return strings.Join(out, "\n")
	}
)

// TestDockerCLIParity drives the everyday docker CLI (ps and inspect formats and filters,
// create and start -a, restart, pause, top, cp, logs, labels, restart policies, info, errors)
// through the same session on Docker and on mydocker.
func TestDockerCLIParity(t *testing.T) {
	e := newEngine(t)
	d := startDockerd(t)
	d.loadImage(t, e)
	dir := t.TempDir()
	envFile := filepath.Join(dir, "env.list")
	require.NoError(t, os.WriteFile(envFile, []byte("# a comment\nEF_ONE=alpha\n\nEF_TWO=beta gamma\n"), 0o644))
	in := filepath.Join(dir, "in.txt")
	require.NoError(t, os.WriteFile(in, []byte("cp-in\nsecond line\n"), 0o644))

	steps := []cliStep{
		{name: "run -d", args: []string{"run", "-d", "--net", "none", "--name", "p-run", "-l", "tier=web", "-e", "A=1", "-e", "B=two", "busybox", "sleep", "1000"}, show: func(string) string { return "" }},
		{name: "run exit 3", args: []string{"run", "--net", "none", "--name", "p-exit", "busybox", "sh", "-c", "echo out; exit 3"}},
		{name: "ps --format", args: []string{"ps", "--format", "{{.Names}} {{.State}} {{.Image}} {{.Command}}"}},
		{name: "ps -a --filter status=exited", args: []string{"ps", "-a", "--filter", "status=exited", "--format", "{{.Names}}"}},
		{name: "ps --filter name", args: []string{"ps", "-a", "--filter", "name=p-ex", "--format", "{{.Names}}"}},
		{name: "ps --filter label", args: []string{"ps", "-a", "--filter", "label=tier=web", "--format", "{{.Names}} {{.Label \"tier\"}}"}},
		{name: "inspect -f ExitCode, Status", args: []string{"inspect", "-f", "{{.State.ExitCode}} {{.State.Status}} {{.Name}}", "p-exit", "p-run"}},
		// Docker 20.10 lists the -e settings in either order from one run to the next: a set.
		{name: "inspect -f json .Config.Env", args: []string{"inspect", "-f", "{{json .Config.Env}}", "p-run"}, show: sortedJSONStrings},
		{name: "inspect -f labels", args: []string{"inspect", "-f", "{{.Config.Labels.tier}} {{json .Config.Cmd}}", "p-run"}},
		{name: "logs of a foreground run", args: []string{"logs", "p-exit"}},
		{name: "create", args: []string{"create", "--net", "none", "--name", "p-crt", "busybox", "sh", "-c", "echo created-ran; exit 4"}, show: func(string) string { return "" }},
		{name: "created state", args: []string{"inspect", "-f", "{{.State.Status}}", "p-crt"}},
		{name: "ps -n 1", args: []string{"ps", "-n", "1", "--format", "{{.Names}} {{.State}}"}},
		{name: "start -a", args: []string{"start", "-a", "p-crt"}},
		{name: "create -i, start -ai", args: []string{"create", "-i", "--net", "none", "--name", "p-in", "busybox", "sh", "-c", "read x; echo got $x"}, show: func(string) string { return "" }},
		{name: "start -ai", args: []string{"start", "-ai", "p-in"}, stdin: "hello\n"},
		{name: "restart", args: []string{"restart", "-t", "1", "p-run"}},
		{name: "restarted", args: []string{"inspect", "-f", "{{.State.Status}} {{.RestartCount}}", "p-run"}},
		{name: "pause", args: []string{"pause", "p-run"}},
		{name: "paused", args: []string{"inspect", "-f", "{{.State.Status}} {{.State.Paused}}", "p-run"}},
		{name: "ps of a paused one", args: []string{"ps", "--filter", "name=p-run", "--format", "{{.State}}"}},
		{name: "unpause", args: []string{"unpause", "p-run"}},
		{name: "top", args: []string{"top", "p-run"}, show: lastField},
		{name: "cp in", args: []string{"cp", in, "p-run:/tmp/in.txt"}},
		{name: "cp in, read inside", args: []string{"exec", "p-run", "cat", "/tmp/in.txt"}},
		{name: "cp out", args: []string{"cp", "p-run:/tmp/in.txt", "-"}, show: func(s string) string {
			if i := strings.Index(s, "cp-in"); i >= 0 {
				return s[i : i+len("cp-in\nsecond line\n")]
			}
			return "no content: " + s
		}},
		{name: "top -o pid,comm", args: []string{"top", "p-run", "-o", "pid,comm"}, show: pidsAsN},
		{name: "top -eo comm,pid,user", args: []string{"top", "p-run", "-eo", "comm,pid,user"}, show: pidsAsN},
		{name: "top with no PID column", args: []string{"top", "p-run", "-o", "comm"}},
		{name: "exec -t sets TERM", args: []string{"exec", "-t", "p-run", "sh", "-c", "echo $TERM"}},
		{name: "exec without -t has no TERM", args: []string{"exec", "p-run", "sh", "-c", "echo TERM=$TERM"}},
		// Docker's run/cp/commit pattern: the input copied into a container that never ran.
		{name: "create for cp", args: []string{"create", "--net", "none", "--name", "p-cpc", "busybox", "sh", "-c", "cat /tmp/in.txt; echo made > /tmp/made"}, show: func(string) string { return "" }},
		{name: "cp into a created container", args: []string{"cp", in, "p-cpc:/tmp/"}},
		{name: "start -a after cp", args: []string{"start", "-a", "p-cpc"}},
		{name: "cp out of an exited container", args: []string{"cp", "p-cpc:/tmp/made", "-"}, show: func(s string) string {
			if i := strings.Index(s, "made\n"); i >= 0 {
				return s[i : i+len("made\n")]
			}
			return "no content: " + s
		}},
		{name: "cp of a file to a missing directory", args: []string{"cp", in, "p-cpc:/p-nodir/"}, stderrHas: "no such directory"},
		{name: "cp of a missing file of an exited container", args: []string{"cp", "p-cpc:/tmp/nosuch", "-"}},
		{name: "volume create", args: []string{"volume", "create", "p-vol"}},
		{name: "volume inspect -f", args: []string{"volume", "inspect", "-f", "{{.Name}} {{.Driver}} {{.Scope}} {{json .Labels}} {{json .Options}}", "p-vol"}},
		{name: "volume inspect -f of a missing volume", args: []string{"volume", "inspect", "-f", "{{.Name}}", "p-vol", "p-nosuch"}, stderrHas: "No such volume: p-nosuch"},
		{name: "volume inspect without a name", args: []string{"volume", "inspect"}},
		{name: "network rm without a name", args: []string{"network", "rm"}},
		{name: "run for logs", args: []string{"run", "--net", "none", "--name", "p-log", "busybox", "sh", "-c", "for i in 1 2 3 4 5; do echo line$i; done"}},
		{name: "logs --tail 2", args: []string{"logs", "--tail", "2", "p-log"}},
		{name: "logs -t", args: []string{"logs", "-t", "p-log"}, show: func(s string) string {
			return timestampPrefix.ReplaceAllString(s, "<time> ")
		}},
		{name: "logs --since 1h", args: []string{"logs", "--since", "1h", "p-log"}},
		{name: "logs --until 1h", args: []string{"logs", "--until", "1h", "p-log"}},
		{name: "logs --since a later Unix time", args: []string{"logs", "--since", strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10), "p-log"}},
		{name: "logs --until a later RFC 3339 time", args: []string{"logs", "--until", time.Now().Add(time.Hour).UTC().Format(time.RFC3339), "p-log"}},
		// Docker keeps a container's mount points (/etc/hosts and the like, which this image
		// lacks) in an init layer of their own: not among its changes, not in a commit.
		{name: "diff of a container that changed nothing", args: []string{"diff", "p-log"}},
		{name: "commit of it", args: []string{"commit", "p-log", "p-unchanged"}, show: func(string) string { return "" }},
		{name: "which adds no layer", args: []string{"image", "inspect", "-f", "{{len .RootFS.Layers}}", "p-unchanged"}},
		{name: "logs --since a bad time", args: []string{"logs", "--since", "yesterday", "p-log"}, stderrHas: `failed to parse value as time or duration: "yesterday"`},
		{name: "--env-file", args: []string{"run", "--rm", "--net", "none", "--env-file", envFile, "busybox", "sh", "-c", `echo "$EF_ONE|$EF_TWO"`}},
		{name: "--restart on-failure:2", args: []string{"run", "-d", "--net", "none", "--name", "p-onf", "--restart", "on-failure:2", "busybox", "sh", "-c", "echo try; exit 1"}, show: func(string) string { return "" }},
		{name: "RestartCount", args: []string{"inspect", "-f", "{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}}", "p-onf"},
			wait: []string{"2 exited 1\n"}},
		{name: "info --format", args: []string{"info", "--format", "{{.CgroupVersion}}"}},
		{name: "No such container: stop", args: []string{"stop", "p-nosuch"}, stderrHas: "No such container: p-nosuch"},
		{name: "No such container: logs", args: []string{"logs", "p-nosuch"}, stderrHas: "No such container: p-nosuch"},
		{name: "No such container: rm", args: []string{"rm", "p-nosuch"}, stderrHas: "No such container: p-nosuch"},
		{name: "No such object: inspect", args: []string{"inspect", "p-nosuch"}, stderrHas: "No such object: p-nosuch"},
	}
	defer func() {
		// Images travel both ways: docker save read by mydocker load, and the other way round.
		t.Run("docker save then mydocker load", func(t *testing.T) {
			archive := filepath.Join(dir, "from-docker.tar")
			r := d.docker("", "save", "-o", archive, "busybox")
			require.Equal(t, 0, r.code, "%s", r)
			other := newEngine(t)
			other.must("rmi", "busybox")
			require.Equal(t, "Loaded image: busybox:latest\n", other.must("load", "-i", archive))
			require.Equal(t, "hi\n", other.must("run", "--rm", "--net", "none", "busybox", "echo", "hi"))
		})
		t.Run("mydocker save then docker load", func(t *testing.T) {
			archive := filepath.Join(dir, "from-mydocker.tar")
			e.must("tag", "busybox", "saved:1")
			e.must("save", "-o", archive, "saved:1")
			r := d.docker("", "load", "-i", archive)
			require.Equal(t, 0, r.code, "%s", r)
			require.Equal(t, "Loaded image: saved:1\n", r.stdout)
			r = d.docker("", "run", "--rm", "--net", "none", "saved:1", "echo", "hi")
			require.Equal(t, "hi\n", r.stdout, "%s", r)
		})
	}()
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			want := waitStep(s, func() result { return d.docker(s.stdin, s.args...) })
			got := waitStep(s, func() result { return e.runStdin(s.stdin, s.args...) })
			show := s.show
			if show == nil {
				show = func(s string) string { return s }
			}
			require.Equal(t, want.code, got.code, "exit status: docker %s\nmydocker %s", want, got)
			require.Equal(t, show(want.stdout), show(got.stdout), "docker %s\nmydocker %s", want, got)
			if s.stderrHas != "" {
				require.Contains(t, want.stderr, s.stderrHas, "docker")
				require.Contains(t, got.stderr, s.stderrHas, "mydocker")
			}
		})
	}
}

// pidsAsN writes each number of a table as N, its column as wide as it was.
func pidsAsN(s string) string {
	return regexp.MustCompile(`\d+ *`).ReplaceAllStringFunc(s, func(cell string) string {
		return "N" + strings.Repeat(" ", len(cell)-1)
	})
}

// sortedJSONStrings is a JSON array of strings, its elements sorted.
func sortedJSONStrings(s string) string {
	var list []string
	if err := json.Unmarshal([]byte(s), &list); err != nil {
		return "not a JSON array of strings: " + s
	}
	slices.Sort(list)
	return strings.Join(list, "\n")
}

// waitStep runs a step, again while its stdout is not one of s.wait yet (at most 30 s).
func waitStep(s cliStep, run func() result) result {
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := run()
		if len(s.wait) == 0 || time.Now().After(deadline) {
			return r
		}
		for _, w := range s.wait {
			if r.stdout == w {
				return r
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
}
