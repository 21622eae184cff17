package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mydocker/mydocker/internal/testutil"
)

// service is mydocker system service on a test's root: the Docker Engine API on a unix socket,
// which the docker CLIs, docker-compose and testcontainers drive.
type service struct {
	root string
	sock string
}

// startService starts `mydocker system service --time 0 unix://SOCK` on e's root.
func startService(t *testing.T, e *engineEnv, extra ...string) *service {
	return startServiceOn(t, e.root, extra...)
}

// startServiceOn starts the service on root and waits for it to say it serves (its line on
// stderr), for up to 30 s. The socket is in a directory anyone may enter: its own mode is what
// keeps others out.
func startServiceOn(tb testing.TB, root string, extra ...string) *service {
	tb.Helper()
	dir, err := os.MkdirTemp("", "mydocker-api-")
	require.NoError(tb, err)
	tb.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(tb, os.Chmod(dir, 0o755))
	s := &service{root: root, sock: filepath.Join(dir, "api.sock")}
	args := append([]string{"--root", root, "system", "service", "--time", "0"}, extra...)
	cmd := exec.Command(binary, append(args, "unix://"+s.sock)...)
	stderr, err := cmd.StderrPipe()
	require.NoError(tb, err)
	require.NoError(tb, cmd.Start())
	ready := make(chan struct{})
	var log strings.Builder
	var mu sync.Mutex
	go func() {
		in := bufio.NewScanner(stderr)
		for in.Scan() {
			mu.Lock()
			log.WriteString(in.Text() + "\n")
			mu.Unlock()
			if strings.Contains(in.Text(), "serving the Docker Engine API on") {
				close(ready)
			}
		}
	}()
	tb.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	})
	select {
	case <-ready:
	case <-time.After(30 * time.Second):
		mu.Lock()
		defer mu.Unlock()
		tb.Fatalf("the service did not say it serves in 30 s:\n%s", log.String())
	}
	return s
}

func (s *service) host() string { return "unix://" + s.sock }

// dockerCLIs are the docker command lines the service is driven with: Debian's 20.10 (what
// docker.io installs) and, where there is one, today's (28.x, which negotiates down).
func dockerCLIs(t *testing.T) map[string]string {
	clis := map[string]string{}
	for name, path := range map[string]string{"debian-20.10": "/usr/bin/docker", "current": "/usr/local/bin/docker"} {
		if _, err := os.Stat(path); err == nil {
			clis[name] = path
		}
	}
	if len(clis) == 0 {
		t.Skip("needs the docker client (apt-get install docker.io)")
	}
	return clis
}

// docker runs a docker CLI against the service (bounded to 60 s).
func (s *service) docker(cli, stdin string, args ...string) result {
	c := exec.Command(cli, append([]string{"-H", s.host()}, args...)...)
	c.Env = append(os.Environ(), "DOCKER_BUILDKIT=0", "DOCKER_CONFIG="+filepath.Join(s.root, "docker-config"))
	return runBounded(c, stdin)
}

func (s *service) mustDocker(t *testing.T, cli string, args ...string) string {
	t.Helper()
	r := s.docker(cli, "", args...)
	require.Equal(t, 0, r.code, "docker %s: %s", strings.Join(args, " "), r)
	return r.stdout
}

// request sends one request to the service and returns its status and body.
func (s *service) request(t *testing.T, method, path, body string) (int, string) {
	t.Helper()
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", s.sock)
		},
	}}
	req, err := http.NewRequest(method, "http://mydocker"+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var b strings.Builder
	_, err = io.Copy(&b, resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b.String()
}

// The docker command lines drive mydocker through the service as they drive dockerd: each
// command with its output and exit status, stdin, a terminal, logs -f, exec -it, images,
// networks, volumes, events.
func TestDockerCLIDrivesService(t *testing.T) {
	for name, cli := range dockerCLIs(t) {
		t.Run(name, func(t *testing.T) {
			e := newEngine(t)
			s := startService(t, e)
			assert.Contains(t, s.mustDocker(t, cli, "version", "--format", "{{.Server.APIVersion}}"), "1.41")
			assert.Contains(t, s.mustDocker(t, cli, "info", "--format", "{{.Driver}} {{.Images}}"), "overlay 1")

			// run: output, exit status, stdout apart from stderr, stdin, a terminal.
			r := s.docker(cli, "", "run", "--rm", "--net", "none", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3")
			assert.Equal(t, result{stdout: "out\n", stderr: "err\n", code: 3}, r)
			r = s.docker(cli, "", "run", "--rm", "busybox", "/no/such/program")
			assert.Equal(t, 127, r.code, "%s", r)
			r = s.docker(cli, "hello from stdin\n", "run", "--rm", "-i", "--net", "none", "busybox", "cat")
			assert.Equal(t, result{stdout: "hello from stdin\n"}, r)
			// Without -i the CLI leaves its terminal as it is: the container's "\r\n" gets one
			// more "\r" on the way, as with dockerd.
			tty := onTerminal(t, exec.Command(cli, "-H", s.host(), "run", "--rm", "-t", "--net", "none", "busybox", "sh", "-c", "tty; echo $TERM"))
			assert.Equal(t, "/dev/pts/0\nxterm\n", strings.ReplaceAll(tty, "\r", ""))

			// A detached container: ps, logs -f, exec, stop, start, restart, kill, wait, rm.
			id := strings.TrimSpace(s.mustDocker(t, cli, "run", "-d", "--name", "web", "--label", "tier=front", "busybox", "sh", "-c", "echo started; trap 'echo bye; exit 0' TERM; while :; do sleep 0.1; done"))
			require.Regexp(t, `^[0-9a-f]{64}$`, id)
			assert.Equal(t, "web\n", s.mustDocker(t, cli, "ps", "--filter", "label=tier=front", "--format", "{{.Names}}"))
			assert.Equal(t, "", s.mustDocker(t, cli, "ps", "--filter", "label=tier=front", "--filter", "label=tier=back", "--format", "{{.Names}}"), "labels must all match")
			waitFor(t, 10*time.Second, "the container's first line", func() bool { return s.docker(cli, "", "logs", "web").stdout == "started\n" })
			r = s.docker(cli, "", "exec", "web", "sh", "-c", "echo in; exit 4")
			assert.Equal(t, result{stdout: "in\n", code: 4}, r)
			r = s.docker(cli, "via exec\n", "exec", "-i", "web", "cat")
			assert.Equal(t, result{stdout: "via exec\n"}, r)
			tty = onTerminal(t, exec.Command(cli, "-H", s.host(), "exec", "-it", "web", "sh", "-c", "tty >/dev/null && echo a terminal; echo $TERM"))
			assert.Equal(t, "a terminal\r\nxterm\r\n", tty)
			follow := exec.Command(cli, "-H", s.host(), "logs", "-f", "web")
			followed := make(chan result, 1)
			go func() { followed <- runBounded(follow, "") }()
			s.mustDocker(t, cli, "stop", "web")
			select {
			case r := <-followed:
				assert.Equal(t, result{stdout: "started\nbye\n"}, r, "logs -f ends when the container does")
			case <-time.After(30 * time.Second):
				t.Fatal("logs -f did not end with the container")
			}
			assert.Equal(t, "0\n", s.mustDocker(t, cli, "wait", "web"))
			assert.Equal(t, "exited 0\n", s.mustDocker(t, cli, "inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "web"))
			s.mustDocker(t, cli, "start", "web")
			s.mustDocker(t, cli, "restart", "-t", "5", "web")
			assert.Equal(t, "running\n", s.mustDocker(t, cli, "inspect", "-f", "{{.State.Status}}", "web"))
			s.mustDocker(t, cli, "kill", "web")
			assert.Equal(t, "137\n", s.mustDocker(t, cli, "wait", "web"))
			s.mustDocker(t, cli, "rm", "web")
			r = s.docker(cli, "", "inspect", "web")
			assert.Equal(t, 1, r.code)
			assert.Contains(t, r.stderr, "No such object: web")

			// create, attach and start.
			s.mustDocker(t, cli, "create", "--name", "once", "--net", "none", "busybox", "echo", "created")
			r = s.docker(cli, "", "start", "-a", "once")
			assert.Equal(t, result{stdout: "created\n"}, r)
			s.mustDocker(t, cli, "rm", "once")

			// Images: tag, inspect, history, build, rmi.
			s.mustDocker(t, cli, "tag", "busybox", "mine/busybox:1")
			assert.Equal(t, "busybox:latest mine/busybox:1\n", s.mustDocker(t, cli, "image", "inspect", "-f", `{{join .RepoTags " "}}`, "busybox"))
			layers := s.mustDocker(t, cli, "image", "inspect", "-f", "{{len .RootFS.Layers}}", "busybox")
			assert.Equal(t, "1\n", layers)
			ctx := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte("FROM busybox\nRUN echo built > /built\nCMD [\"cat\", \"/built\"]\n"), 0o644))
			build := s.docker(cli, "", "build", "-t", "built:1", "--network", "none", ctx)
			require.Equal(t, 0, build.code, "%s", build)
			assert.Contains(t, build.stdout, "Successfully tagged built:1")
			assert.Equal(t, result{stdout: "built\n"}, s.docker(cli, "", "run", "--rm", "--net", "none", "built:1"))
			assert.Contains(t, s.mustDocker(t, cli, "history", "built:1"), "echo built > /built")
			r = s.docker(cli, "", "build", "--network", "none", "-")
			assert.NotEqual(t, 0, r.code)
			failing := s.docker(cli, "FROM busybox\nRUN exit 5\n", "build", "--network", "none", "-")
			assert.Equal(t, 5, failing.code, "%s", failing)
			assert.Contains(t, failing.stderr, "returned a non-zero code: 5")
			s.mustDocker(t, cli, "rmi", "built:1", "mine/busybox:1")
			assert.Equal(t, "busybox\n", s.mustDocker(t, cli, "images", "--format", "{{.Repository}}"))

			// Networks and volumes.
			net := testutil.UniqueName("apinet")
			s.mustDocker(t, cli, "network", "create", "--label", "team=a", net)
			assert.Contains(t, s.mustDocker(t, cli, "network", "ls", "--filter", "label=team=a", "--format", "{{.Name}}"), net)
			s.mustDocker(t, cli, "volume", "create", "--label", "team=a", "apidata")
			s.mustDocker(t, cli, "run", "--rm", "--network", net, "-v", "apidata:/data", "busybox", "sh", "-c", "echo kept > /data/f")
			assert.Equal(t, result{stdout: "kept\n"}, s.docker(cli, "", "run", "--rm", "--net", "none", "-v", "apidata:/data", "busybox", "cat", "/data/f"))
			assert.Equal(t, "apidata\n", s.mustDocker(t, cli, "volume", "ls", "--filter", "label=team=a", "--format", "{{.Name}}"))
			s.mustDocker(t, cli, "volume", "rm", "apidata")
			s.mustDocker(t, cli, "network", "rm", net)

			// events: a container's life, as compose follows it.
			since := time.Now().Add(-time.Second).Unix()
			s.mustDocker(t, cli, "run", "--rm", "--net", "none", "--name", "brief", "busybox", "true")
			events := s.mustDocker(t, cli, "events", "--since", fmt.Sprint(since), "--until", fmt.Sprint(time.Now().Unix()+1),
				"--filter", "container=brief", "--format", "{{.Action}}")
			assert.Equal(t, []string{"create", "attach", "start", "die", "destroy"}, strings.Fields(events))

			assert.Empty(t, strings.TrimSpace(s.mustDocker(t, cli, "ps", "-aq")))
		})
	}
}

// pull, push and the registry's credentials pass through the service: a registry on loopback,
// an image pushed and pulled back, a second pull up to date.
func TestServicePullPush(t *testing.T) {
	cli := "/usr/bin/docker"
	if _, err := os.Stat(cli); err != nil {
		t.Skip("needs the docker client (apt-get install docker.io)")
	}
	reg := startRegistry(t, registryOptions{})
	e := newEngine(t)
	s := startService(t, e)
	ref := reg.addr + "/team/busybox:1"
	s.mustDocker(t, cli, "tag", "busybox", ref)
	push := s.docker(cli, "", "push", ref)
	require.Equal(t, 0, push.code, "%s", push)
	assert.Regexp(t, `1: digest: sha256:[0-9a-f]{64} size: \d+`, push.stdout)
	s.mustDocker(t, cli, "rmi", ref)
	pull := s.docker(cli, "", "pull", ref)
	require.Equal(t, 0, pull.code, "%s", pull)
	assert.Contains(t, pull.stdout, "Status: Downloaded newer image for "+ref)
	pull = s.docker(cli, "", "pull", ref)
	assert.Contains(t, pull.stdout, "Status: Image is up to date for "+ref)
	assert.Regexp(t, `^\[`+reg.addr+`/team/busybox@sha256:[0-9a-f]{64}\]`, s.mustDocker(t, cli, "image", "inspect", "-f", "{{.RepoDigests}}", ref))
	missing := s.docker(cli, "", "pull", reg.addr+"/team/none:1")
	assert.NotEqual(t, 0, missing.code)
	assert.Contains(t, missing.stderr, "manifest unknown")
}

// docker-compose 1.29 (an Engine API client in Python) brings up a two-service application
// whose services reach each other by name, shows it, follows its logs, runs a command in it,
// and brings it down, leaving nothing.
func TestComposeTwoServices(t *testing.T) {
	compose, err := exec.LookPath("docker-compose")
	if err != nil {
		t.Skip("needs docker-compose (apt-get install docker-compose)")
	}
	e := newEngine(t)
	s := startService(t, e)
	dir := t.TempDir()
	project := testutil.UniqueName("app")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "docker-compose.yml"), []byte(composeApp), 0o644))
	run := func(args ...string) result {
		c := exec.Command(compose, append([]string{"-p", project}, args...)...)
		c.Dir = dir
		c.Env = append(os.Environ(), "DOCKER_HOST="+s.host(), "COMPOSE_INTERACTIVE_NO_CLI=1")
		return runBounded(c, "")
	}
	t.Cleanup(func() { run("down", "-v", "-t", "1") })
	up := run("up", "-d")
	require.Equal(t, 0, up.code, "%s", up)
	waitFor(t, 30*time.Second, "the client's page", func() bool { return strings.Contains(run("logs", "client").stdout, "hello-from-web") })
	ps := run("ps")
	assert.Contains(t, ps.stdout, project+"_web_1")
	assert.Contains(t, ps.stdout, project+"_client_1")
	exec := run("exec", "-T", "web", "cat", "/www/index.html")
	assert.Equal(t, result{stdout: "hello-from-web\n"}, exec)
	linked := run("exec", "-T", "client", "sh", "-c", "grep -c web /etc/hosts >/dev/null && nslookup db 2>/dev/null | grep -c Address >/dev/null; echo $?")
	assert.Equal(t, 0, linked.code, "%s", linked)
	down := run("down", "-v", "-t", "1")
	require.Equal(t, 0, down.code, "%s", down)
	assert.Empty(t, strings.TrimSpace(e.must("ps", "-aq")), "down leaves no container")
	assert.NotContains(t, e.must("network", "ls"), project, "down leaves no network")
	assert.NotContains(t, e.must("volume", "ls"), project, "down -v leaves no volume")
}

const composeApp = `version: "3.8"
services:
  web:
    image: busybox
    command: sh -c 'mkdir -p /www && echo hello-from-web > /www/index.html && exec httpd -f -p 80 -h /www'
    labels:
      tier: front
  client:
    image: busybox
    depends_on: [web]
    links: ["web:db"]
    command: sh -c 'for i in $$(seq 100); do printf "GET / HTTP/1.0\r\n\r\n" | nc web 80 | tail -1 && break; sleep 0.1; done; exec sleep 1000'
    volumes:
      - data:/data
volumes:
  data:
`

// testcontainers-go, as test suites use a Docker engine: a busybox httpd container waited for
// by its log and its listening port, its page read through the port mapped on loopback, then
// terminated. Its own module (testdata/testcontainers) keeps testcontainers out of mydocker's.
func TestTestcontainersGo(t *testing.T) {
	e := newEngine(t)
	s := startService(t, e)
	test := exec.Command("go", "test", "-count=1", "-v", ".")
	test.Dir = "testdata/testcontainers"
	test.Env = append(os.Environ(), "DOCKER_HOST="+s.host(), "TESTCONTAINERS_RYUK_DISABLED=true",
		"TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1", "CGO_ENABLED=0")
	out, err := test.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "--- PASS: TestBusyboxHTTPD")
	assert.Empty(t, strings.TrimSpace(e.must("ps", "-aq")), "Terminate removed the container")
}

// Ten runs at once, all answered: the service serves requests together, each under the
// engine's locks.
func TestServiceConcurrentRuns(t *testing.T) {
	cli := "/usr/bin/docker"
	if _, err := os.Stat(cli); err != nil {
		t.Skip("needs the docker client (apt-get install docker.io)")
	}
	e := newEngine(t)
	s := startService(t, e)
	results := make(chan result, 10)
	for i := range 10 {
		go func() {
			results <- s.docker(cli, "", "run", "--rm", "--net", "none", "busybox", "sh", "-c", fmt.Sprintf("echo %d", i))
		}()
	}
	var outs []string
	for range 10 {
		r := <-results
		assert.Equal(t, 0, r.code, "%s", r)
		outs = append(outs, strings.TrimSpace(r.stdout))
	}
	assert.ElementsMatch(t, []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}, outs)
	assert.Empty(t, e.containerDirs(), "every --rm container went")
}

// Bad requests get dockerd's status and {"message"}, and make nothing; a user who may not
// reach the socket is refused.
func TestServiceRefusesBadInput(t *testing.T) {
	e := newEngine(t)
	s := startService(t, e)
	for _, c := range []struct {
		method, path, body string
		status             int
		message            string
	}{
		{"POST", "/v1.41/containers/create", `{"Image": "busybox", `, 400, "invalid JSON"},
		{"POST", "/v1.41/containers/create", `{"Image": "nope"}`, 404, "No such image: nope:latest"},
		{"POST", "/v1.41/containers/create?name=bad/name", `{"Image": "busybox"}`, 400, "invalid container name (bad/name)"},
		{"GET", "/v1.41/containers/ghost/json", "", 404, "No such container: ghost"},
		{"POST", "/v1.41/containers/ghost/start", "", 404, "No such container: ghost"},
		{"DELETE", "/v1.41/images/ghost", "", 404, "No such image"},
		{"POST", "/v1.41/networks/create", `{"Name": "n", "IPAM": {"Config": [{"Subnet": "300.0.0.0/8"}]}}`, 400, "300.0.0.0/8"},
		{"GET", "/v1.99/version", "", 400, "client version 1.99 is too new"},
	} {
		status, body := s.request(t, c.method, c.path, c.body)
		assert.Equal(t, c.status, status, "%s %s: %s", c.method, c.path, body)
		var msg struct{ Message string }
		require.NoError(t, json.Unmarshal([]byte(body), &msg), "%s %s: %s", c.method, c.path, body)
		assert.Contains(t, msg.Message, c.message, "%s %s", c.method, c.path)
	}
	assert.Empty(t, e.containerDirs(), "a refused create makes no container")
	assert.Len(t, strings.Split(strings.TrimSpace(e.must("network", "ls")), "\n"), 1, "nor any network (the default bridge included)")

	info, err := os.Stat(s.sock)
	require.NoError(t, err)
	assert.Equal(t, os.ModeSocket|0o660, info.Mode()&(os.ModeSocket|os.ModePerm), "root's socket, for root and the docker group")
	nobody := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "curl", "-sS", "--unix-socket", s.sock, "http://mydocker/_ping")
	out, err := nobody.CombinedOutput()
	require.Error(t, err, "a user outside the docker group reached the socket: %s", out)
	assert.Contains(t, string(out), "Couldn't connect to server")
	if _, err := os.Stat("/usr/bin/docker"); err == nil {
		nobody = exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/docker", "-H", s.host(), "version")
		nobody.Env = append(os.Environ(), "HOME=/nonexistent", "DOCKER_CONFIG=/nonexistent")
		out, _ = nobody.CombinedOutput()
		assert.Contains(t, string(out), "permission denied while trying to connect")
	}
}
