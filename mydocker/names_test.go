package main

import (
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/require"

	"github.com/mydocker/mydocker/internal/testutil"
)

// An engine built with its API server but without mydocker-dns (as go build of the programs
// one by one may leave it) answers names all the same: mydocker-serve, which links the
// resolver, runs as it.
func TestNamesWithoutMydockerDNS(t *testing.T) {
	if noBridge {
		t.Skip("needs the bridge module and iptables (not in the cgroup v2 VM)")
	}
	e := newEngine(t)
	dir := t.TempDir()
	for _, name := range []string{"", "-init", "-shim", "-serve"} {
		data, err := os.ReadFile(binary + name)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "mydocker"+name), data, 0o755))
	}
	e.bin = filepath.Join(dir, "mydocker")
	n := testutil.UniqueName("n")
	e.must("network", "create", n)
	e.must("run", "-d", "--name", "db", "--network", n, "busybox", "sleep", "1000")
	r := e.run("run", "--rm", "--network", n, "busybox", "ping", "-c1", "-W2", "db")
	require.Equal(t, 0, r.code, "reached by name: %s", r)
	require.NotContains(t, r.stderr, "not answered")
}

// Containers on a user network find each other by name, as on Docker's: the root's resolver
// (mydocker-dns, beside mydocker) answers names, aliases, short ids and hostnames on the
// networks the asker is on, and no other; network connect and disconnect change what resolves
// at once; a name goes with its container; a restarted container's new address is what
// resolves; a rename is found by its new name.
func TestContainersFindEachOtherByName(t *testing.T) {
	if noBridge {
		t.Skip("needs the bridge module and iptables (not in the cgroup v2 VM)")
	}
	e := newEngine(t)
	n1, n2 := testutil.UniqueName("n"), testutil.UniqueName("n")
	e.must("network", "create", n1) // a free subnet of Docker's pools
	e.must("network", "create", n2)
	require.Regexp(t, `"Subnet": "(172|192)\.`, e.must("network", "inspect", n1))
	e.must("run", "-d", "--name", "db", "--network", n1, "-h", "dbhost", "busybox", "sleep", "1000")
	e.must("run", "-d", "--name", "al", "--network", n1, "--network-alias", "database", "busybox", "sleep", "1000")
	e.must("run", "-d", "--name", "other", "--network", n2, "busybox", "sleep", "1000")
	ask := func(net, name string) string { // the address name has for a container on net, "" if none
		r := e.run("run", "--rm", "--network", net, "busybox", "nslookup", name)
		if m := regexp.MustCompile(`Name:\s+\S+\s+Address: (\S+)`).FindStringSubmatch(r.stdout); m != nil {
			return m[1]
		}
		return ""
	}
	ipOf := func(c, net string) string {
		return strings.TrimSpace(e.must("inspect", "-f", "{{(index .NetworkSettings.Networks \""+net+"\").IPAddress}}", c))
	}
	dbIP := ipOf("db", n1)
	require.Equal(t, dbIP, ask(n1, "db"), "by name")
	require.Equal(t, dbIP, ask(n1, "dbhost"), "by hostname")
	require.Equal(t, dbIP, ask(n1, strings.TrimSpace(e.must("inspect", "-f", "{{.Id}}", "db"))[:12]), "by short id")
	require.Equal(t, ipOf("al", n1), ask(n1, "database"), "by alias")
	require.Equal(t, 0, e.run("run", "--rm", "--network", n1, "busybox", "ping", "-c1", "-W2", "db").code, "and reached by it")
	require.Empty(t, ask(n2, "db"), "a network does not see another's names")
	require.Empty(t, ask(n1, "other"))
	require.Contains(t, e.must("exec", "db", "cat", "/etc/resolv.conf"), "nameserver "+strings.TrimSpace(e.must("network", "inspect", "-f", "{{(index .IPAM.Config 0).Gateway}}", n1)))

	// Connect and disconnect change what resolves, at once.
	e.must("network", "connect", "--alias", "primary", n2, "db")
	require.Equal(t, ipOf("db", n2), ask(n2, "db"))
	require.Equal(t, ipOf("db", n2), ask(n2, "primary"))
	require.Equal(t, ipOf("other", n2), strings.TrimSpace(lookupFrom(t, e, "db", "other")), "a container on two networks sees both")
	require.Contains(t, e.must("exec", "db", "ip", "-o", "link"), "eth1")
	e.must("network", "disconnect", n2, "db")
	require.Empty(t, ask(n2, "db"))
	require.NotContains(t, e.must("exec", "db", "ip", "-o", "link"), "eth1")

	// A rename is found by its new name; a restarted container at its new address.
	e.must("rename", "al", "al2")
	require.Equal(t, ipOf("al2", n1), ask(n1, "al2"))
	require.Empty(t, ask(n1, "al"))
	e.must("stop", "-t", "1", "db")
	require.Empty(t, ask(n1, "db"), "a stopped container has no name")
	e.must("run", "-d", "--name", "squatter", "--network", n1, "busybox", "sleep", "1000") // takes db's old address
	e.must("start", "db")
	require.NotEqual(t, dbIP, ipOf("db", n1))
	require.Equal(t, ipOf("db", n1), ask(n1, "db"), "the new address resolves, not the old one")
	e.must("rm", "-f", "db")
	require.Empty(t, ask(n1, "db"), "gone with its container")
}

// lookupFrom is the address name has for container c (nslookup in it).
func lookupFrom(t *testing.T, e *engineEnv, c, name string) string {
	t.Helper()
	out := e.run("exec", c, "nslookup", name).stdout
	if m := regexp.MustCompile(`Name:\s+\S+\s+Address: (\S+)`).FindStringSubmatch(out); m != nil {
		return m[1]
	}
	return ""
}

// Several networks at create (--network twice), and the legacy --link on the default
// network: the linked container's alias, short id and name in /etc/hosts, as Docker writes
// them; a link to a container that does not run is refused.
func TestMoreNetworksAndLinks(t *testing.T) {
	if noBridge {
		t.Skip("needs the bridge module and iptables (not in the cgroup v2 VM)")
	}
	e := newEngine(t)
	n1, n2 := testutil.UniqueName("n"), testutil.UniqueName("n")
	e.must("network", "create", n1)
	e.must("network", "create", n2)
	e.must("run", "-d", "--name", "two", "--network", n1, "--network", n2, "busybox", "sleep", "1000")
	links := e.must("exec", "two", "ip", "-o", "-4", "addr")
	require.Contains(t, links, "eth0")
	require.Contains(t, links, "eth1")
	require.Contains(t, e.must("exec", "two", "ip", "route"), "default via "+strings.TrimSpace(e.must("network", "inspect", "-f", "{{(index .IPAM.Config 0).Gateway}}", n1)), "the first network has the default route")
	require.Equal(t, 125, e.run("run", "--rm", "--network", "none", "--network", n1, "busybox", "true").code)

	e.must("run", "-d", "--name", "ldb", "busybox", "sleep", "1000")
	id := strings.TrimSpace(e.must("inspect", "-f", "{{.Id}}", "ldb"))
	hosts := e.must("run", "--rm", "--link", "ldb:dbapp", "busybox", "cat", "/etc/hosts")
	require.Regexp(t, `(?m)^`+regexp.QuoteMeta(strings.TrimSpace(e.must("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "ldb")))+`\tdbapp `+id[:12]+` ldb$`, hosts)
	require.Equal(t, 0, e.run("run", "--rm", "--link", "ldb:dbapp", "busybox", "ping", "-c1", "-W2", "dbapp").code)
	e.must("stop", "-t", "1", "ldb")
	r := e.run("run", "--rm", "--link", "ldb:dbapp", "busybox", "true")
	require.Equal(t, 125, r.code, "%s", r)
	require.Contains(t, r.stderr, "cannot link to a non running container")
}

// The resolver sends what is not a container's name on: to a container's --dns servers, here a
// fake one in a network namespace of the test's (never a real resolver). It lives while a user
// network has containers: killed, the next container that joins starts it again (and doctor
// says when it is down); its socket on the gateway gone with the last container, and the
// resolver itself once the network is removed.
func TestResolverForwardsAndComesAndGoes(t *testing.T) {
	if noBridge {
		t.Skip("needs the bridge module and iptables (not in the cgroup v2 VM)")
	}
	e := newEngine(t)
	upstream := fakeUpstream(t)
	n := testutil.UniqueName("n")
	e.must("network", "create", n)
	gw := strings.TrimSpace(e.must("network", "inspect", "-f", "{{(index .IPAM.Config 0).Gateway}}", n))
	e.must("run", "-d", "--name", "web", "--network", n, "busybox", "sleep", "1000")
	out := e.must("run", "--rm", "--network", n, "--dns", upstream, "busybox", "sh", "-c", "nslookup upstream.test; nslookup web")
	require.Contains(t, out, "Address: 192.0.2.99", "a name the network does not have is asked upstream")
	require.Regexp(t, `Name:\s+web\s+Address: \d`, out, "and the network's names still resolve")

	pid := resolverPid(t, e.root)
	require.NotZero(t, pid, "a resolver runs")
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	waitFor(t, 5*time.Second, "the resolver to die", func() bool { return resolverPid(t, e.root) == 0 })
	require.Contains(t, e.run("doctor").stdout, "resolver", "doctor says the resolver is down")
	e.must("run", "--rm", "--network", n, "busybox", "true") // joins: the resolver starts again
	require.NotZero(t, resolverPid(t, e.root))
	require.Regexp(t, `Name:\s+web\s+Address: \d`, e.must("run", "--rm", "--network", n, "busybox", "nslookup", "web"))

	e.must("rm", "-f", "web")
	l, err := net.ListenPacket("udp4", net.JoinHostPort(gw, "53"))
	require.NoError(t, err, "nothing listens on the gateway once its network has no container")
	l.Close()
	e.must("network", "rm", n)
	require.Zero(t, resolverPid(t, e.root), "no resolver once its network is gone")
	rules, _ := exec.Command("iptables-save").Output()
	require.NotContains(t, string(rules), "mydocker:net:"+n)
}

// resolverPid is the pid of the resolver of root, 0 when none runs.
func resolverPid(t testing.TB, root string) int {
	t.Helper()
	dir := filepath.Join(root, "network", "dns")
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		data, _ := os.ReadFile(p)
		args := strings.Split(strings.TrimRight(string(data), "\x00"), "\x00")
		if len(args) == 3 && args[0] == "mydocker-dns" && args[1] == "serve" && args[2] == dir {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
			return pid
		}
	}
	return 0
}

// fakeUpstream starts a DNS server in a network namespace of the test's, reached from the host
// by a veth pair, that answers upstream.test with 192.0.2.99; it returns its address.
func fakeUpstream(t *testing.T) string {
	t.Helper()
	ns := testutil.UniqueName("up")
	host, peer := ns+"h", ns+"p"
	for _, c := range [][]string{
		{"ip", "netns", "add", ns},
		{"ip", "link", "add", host, "type", "veth", "peer", "name", peer, "netns", ns},
		{"ip", "addr", "add", "172.31.248.1/30", "dev", host},
		{"ip", "link", "set", host, "up"},
		{"ip", "-n", ns, "addr", "add", "172.31.248.2/30", "dev", peer},
		{"ip", "-n", ns, "link", "set", peer, "up"},
	} {
		out, err := exec.Command(c[0], c[1:]...).CombinedOutput()
		require.NoError(t, err, "%v: %s", c, out)
	}
	t.Cleanup(func() { exec.Command("ip", "link", "del", host).Run(); exec.Command("ip", "netns", "del", ns).Run() })
	self, err := os.Executable()
	require.NoError(t, err)
	srv := exec.Command("ip", "netns", "exec", ns, self)
	srv.Env = append(os.Environ(), "MYDOCKER_TEST_FAKE_DNS=172.31.248.2:53")
	stdout, err := srv.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, srv.Start())
	t.Cleanup(func() { srv.Process.Signal(syscall.SIGTERM); srv.Wait() })
	ready := make([]byte, 6)
	_, err = stdout.Read(ready) // "ready\n" once it listens
	require.NoError(t, err)
	return "172.31.248.2"
}

// serveFakeDNS is the fake upstream's process (fakeUpstream): it answers upstream.test, and
// refuses the rest.
func serveFakeDNS(addr string) {
	pc, err := net.ListenPacket("udp4", addr)
	if err != nil {
		os.Exit(1)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg).SetReply(r)
		if q := r.Question[0]; q.Name == "upstream.test." && q.Qtype == dns.TypeA {
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.ParseIP("192.0.2.99")})
		} else {
			m.Rcode = dns.RcodeNameError
		}
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	os.Stdout.WriteString("ready\n")
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM)
	<-stop
	srv.Shutdown()
}
