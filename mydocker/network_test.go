package main

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mydocker/mydocker/internal/testutil"
)

func requiresIptables(t *testing.T) {
	if _, err := exec.LookPath("iptables"); err != nil {
		t.Skip("needs iptables (apt-get install iptables)")
	}
}

func TestNetworkModes(t *testing.T) {
	e := newEngine(t)
	out := e.must("run", "--rm", "busybox", "ip", "-o", "link")
	require.Regexp(t, `^1: lo: <LOOPBACK,UP,LOWER_UP>`, out, "--net none (the default): only loopback, up")
	require.NotContains(t, out, "eth0")
	require.Equal(t, 0, e.run("run", "--rm", "busybox", "ping", "-c1", "-W1", "127.0.0.1").code)

	hostLinks, err := exec.Command("busybox", "ip", "-o", "link").Output()
	require.NoError(t, err)
	out = e.must("run", "--rm", "--net", "host", "busybox", "ip", "-o", "link")
	require.Equal(t, strings.Count(string(hostLinks), "\n"), strings.Count(out, "\n"), "--net host sees the host's links")

	for _, args := range [][]string{
		{"--net", "nosuchnet"}, {"-p", "70000:80"}, {"-p", "80"}, {"--net", "none", "-p", "8080:80"},
	} {
		r := e.run(append(append([]string{"run", "--rm"}, args...), "busybox", "true")...)
		require.Equal(t, 125, r.code, "%v: %s", args, r)
	}
	require.Empty(t, e.containerDirs())
}

func TestBridgeNetwork(t *testing.T) {
	e := newEngine(t)
	requiresIptables(t)
	name := testutil.UniqueName("n")
	t.Cleanup(func() { e.cmd("network", "rm", name).Run() })
	id := strings.TrimSpace(e.must("network", "create", "--subnet", "10.199.51.0/24", name))
	require.Regexp(t, `^[0-9a-f]{64}$`, id)
	require.Regexp(t, name+`\s+bridge\s+10\.199\.51\.0/24\s+10\.199\.51\.1`, e.must("network", "ls"))
	require.Contains(t, e.must("network", "inspect", name), `"subnet": "10.199.51.0/24"`)

	e.must("run", "-d", "--name", "ca", "--net", name, "-h", "alpha", "busybox", "sleep", "1000")
	e.must("run", "-d", "--name", "cb", "--net", name, "busybox", "sleep", "1000")
	addr := regexp.MustCompile(`inet (10\.199\.51\.\d+)/24`)
	ipOf := func(c string) string {
		m := addr.FindStringSubmatch(e.must("exec", c, "ip", "-4", "-o", "addr", "show", "eth0"))
		require.NotNil(t, m)
		return m[1]
	}
	ipa, ipb := ipOf("ca"), ipOf("cb")
	require.NotEqual(t, ipa, ipb)
	require.Equal(t, 0, e.run("exec", "ca", "ping", "-c1", "-W2", ipb).code, "containers on one network reach each other")
	out, err := exec.Command("busybox", "ping", "-c1", "-W2", ipa).CombinedOutput()
	require.NoError(t, err, "the host reaches them: %s", out)
	require.Contains(t, e.must("exec", "ca", "cat", "/etc/hosts"), ipa+"\talpha\n", "/etc/hosts names the container")
	require.Contains(t, e.must("inspect", "ca"), `"IPAddress": "`+ipa+`"`)

	r := e.run("network", "rm", name)
	require.Equal(t, 1, r.code, "a network in use stays: %s", r)
	require.Contains(t, r.stderr, "active endpoints")

	e.must("rm", "-f", "ca")
	e.must("run", "-d", "--name", "cc", "--net", name, "busybox", "sleep", "1000")
	e.must("rm", "-f", "cb", "cc")
	e.must("network", "rm", name)
	require.NotContains(t, e.must("network", "ls"), name)
	rules, _ := exec.Command("iptables-save").Output()
	require.NotContains(t, string(rules), "mydocker:net:"+name)
}

func TestPublishedPortOnTheDefaultNetwork(t *testing.T) {
	e := newEngine(t)
	requiresIptables(t)
	t.Cleanup(func() {
		e.cmd("rm", "-f", "web").Run()
		e.cmd("network", "rm", "bridge").Run()
	})
	e.must("run", "-d", "--name", "web", "-p", "18183:80", "busybox", "sh", "-c",
		"mkdir -p /www && echo hello > /www/index.html && exec httpd -f -p 80 -h /www")
	require.Regexp(t, `0\.0\.0\.0:18183->80/tcp\s+web`, e.must("ps"))
	require.Contains(t, e.must("network", "ls"), "bridge", "-p without --net makes the default network")
	var body string
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		out, err := exec.Command("curl", "-s", "--max-time", "2", "http://127.0.0.1:18183/").Output()
		if body = string(out); err == nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	require.Equal(t, "hello\n", body)
	r := e.run("run", "--rm", "-p", "18183:80", "busybox", "true")
	require.Equal(t, 125, r.code, "a published port is taken: %s", r)
	require.Contains(t, r.stderr, "already published")
	e.must("rm", "-f", "web")
	rules, _ := exec.Command("iptables-save").Output()
	require.NotContains(t, string(rules), "18183")
}
