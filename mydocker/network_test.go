package main

import (
	"os"
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
	out := e.must("run", "--rm", "--net", "none", "busybox", "ip", "-o", "link")
	require.Regexp(t, `^1: lo: <LOOPBACK,UP,LOWER_UP>`, out, "--net none: only loopback, up")
	require.NotContains(t, out, "eth0")
	require.Equal(t, 0, e.run("run", "--rm", "--net", "none", "busybox", "ping", "-c1", "-W1", "127.0.0.1").code)

	// Other tests add and remove links meanwhile: compare the namespaces, not a count of links.
	hostNet, err := os.Readlink("/proc/self/ns/net")
	require.NoError(t, err)
	out = e.must("run", "--rm", "--net", "host", "busybox", "readlink", "/proc/self/ns/net")
	require.Equal(t, hostNet, strings.TrimSpace(out), "--net host is in the host's network namespace")

	for _, args := range [][]string{
		{"--net", "nosuchnet"}, {"-p", "70000:80"}, {"-p", "80"}, {"--net", "none", "-p", "8080:80"},
	} {
		r := e.run(append(append([]string{"run", "--rm"}, args...), "busybox", "true")...)
		require.Equal(t, 125, r.code, "%v: %s", args, r)
	}
	require.Empty(t, e.containerDirs())
}

// Without --net a container joins the default bridge network, as under Docker: made on first
// use on the first of Docker's default subnets no route of the host covers, with an address,
// a default route through the gateway and NAT; a second container shares it.
func TestDefaultNetwork(t *testing.T) {
	e := newEngine(t)
	requiresIptables(t)
	if noBridge {
		t.Skip("no bridge module here")
	}
	out := e.must("run", "--rm", "busybox", "sh", "-c", "ip -4 -o addr show eth0; ip route")
	// One of Docker's default pools: 172.17-31.0.0/16, or 192.168.N.0/20 when the host's routes
	// cover those.
	m := regexp.MustCompile(`inet (172\.(1[7-9]|2\d|3[01])\.0\.\d+/16|192\.168\.\d+\.\d+/20)`).FindStringSubmatch(out)
	require.NotNil(t, m, "an address on the default bridge network: %s", out)
	require.Regexp(t, `default via (172|192)\.\d+\.\d+\.1 dev eth0`, out)
	ls := e.must("network", "ls")
	require.Regexp(t, `bridge\s+bridge\s+(172\.\d+\.0\.0/16|192\.168\.\d+\.0/20)`, ls, "made on first use, listed as Docker's")
	e.must("run", "-d", "--name", "web", "busybox", "sh", "-c", "echo hello from web | nc -l -p 80")
	web := regexp.MustCompile(`inet (\S+)/(16|20)`).FindStringSubmatch(e.must("exec", "web", "ip", "-4", "-o", "addr", "show", "eth0"))
	require.NotNil(t, web)
	require.NotEqual(t, strings.Split(m[1], "/")[0], web[1], "each container its own address")
	require.Eventually(t, func() bool {
		r := e.run("run", "--rm", "busybox", "nc", "-w", "2", web[1], "80")
		return r.code == 0 && strings.Contains(r.stdout, "hello from web")
	}, 10*time.Second, 200*time.Millisecond, "a container reaches another on the default network")
	e.must("rm", "-f", "web")
	require.Equal(t, ls, e.must("network", "ls"), "the network stays when its containers are gone")
	// --net none stays what it was.
	require.NotContains(t, e.must("run", "--rm", "--net", "none", "busybox", "ip", "-o", "link"), "eth0")
}

func TestBridgeNetwork(t *testing.T) {
	e := newEngine(t)
	requiresIptables(t)
	name := testutil.UniqueName("n")
	t.Cleanup(func() { e.cmd("network", "rm", name).Run() })
	id := strings.TrimSpace(e.must("network", "create", "--subnet", "10.199.51.0/24", name))
	require.Regexp(t, `^[0-9a-f]{64}$`, id)
	require.Regexp(t, name+`\s+bridge\s+10\.199\.51\.0/24\s+10\.199\.51\.1`, e.must("network", "ls"))
	require.Contains(t, e.must("network", "inspect", name), `"Subnet": "10.199.51.0/24"`)

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
