package network

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/mydocker/mydocker/internal/fsutil"
	"github.com/mydocker/mydocker/internal/testutil"
)

// These tests build real bridges, veths and rules. Their traffic goes only to network
// namespaces they create and to loopback: a "container" is a process in a new network
// namespace, a "remote host" is a namespace linked to the host by a veth pair. Everything is
// removed at cleanup, even after a failure.

func requiresNet(t *testing.T) {
	t.Helper()
	testutil.RequiresRoot(t)
	if _, err := exec.LookPath("iptables"); err != nil {
		t.Skip("needs iptables (apt-get install iptables)")
	}
	if _, err := exec.LookPath("busybox"); err != nil {
		t.Skip("needs busybox (apt-get install busybox-static)")
	}
}

// newManager opens a manager in a temporary root; cleanup removes its networks and endpoints.
func newManager(t *testing.T) *Manager {
	t.Helper()
	m, err := Open(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() {
		eps, _ := m.endpoints()
		for _, ep := range eps {
			m.DisconnectAll(ep.ContainerID, false)
		}
		nets, _ := m.List()
		for _, n := range nets {
			m.Remove(n.Name)
		}
	})
	return m
}

// fakeContainer starts a process in a new network namespace (running cmd, by default a long
// sleep) and returns its pid and a fresh container id.
func fakeContainer(t *testing.T, args ...string) (pid int, id string) {
	t.Helper()
	if len(args) == 0 {
		args = []string{"sleep", "120"}
	}
	cmd := exec.Command("busybox", args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd.Process.Pid, randomHex(32)
}

// fakeOnNewNetwork makes a network of subnet, in a manager of its own, and a fake container
// connected to it.
func fakeOnNewNetwork(t *testing.T, subnet string) (*Manager, *Network, int, *Endpoint) {
	t.Helper()
	requiresNet(t)
	m := newManager(t)
	n, err := m.Create(testutil.UniqueName("t"), CreateOptions{Subnet: subnet})
	require.NoError(t, err)
	pid, id := fakeContainer(t)
	ep, err := m.Connect(n.Name, id, pid, Attachment{DefaultRoute: true})
	require.NoError(t, err)
	return m, n, pid, ep
}

// inNS runs busybox applet args in the network namespace of pid, bounded to 10 seconds.
func inNS(pid int, args ...string) (string, error) {
	cmd := exec.Command("nsenter", append([]string{"-t", strconv.Itoa(pid), "-n", "--", "busybox"}, args...)...)
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-done
		err = errors.New("timed out")
	}
	return string(out), err
}

func TestBridgeNetworkEndToEnd(t *testing.T) {
	requiresNet(t)
	m := newManager(t)
	name := testutil.UniqueName("t")
	n, err := m.Create(name, CreateOptions{Driver: "bridge", Subnet: "10.199.41.0/24"})
	require.NoError(t, err)
	require.Equal(t, "10.199.41.1", n.Gateway, "the gateway defaults to the first address")
	br, err := netlink.LinkByName(n.Bridge)
	require.NoError(t, err, "the bridge exists")
	addrs, err := netlink.AddrList(br, netlink.FAMILY_V4)
	require.NoError(t, err)
	require.Equal(t, "10.199.41.1/24", addrs[0].IPNet.String())

	pidA, idA := fakeContainer(t)
	pidB, idB := fakeContainer(t)
	a, err := m.Connect(name, idA, pidA, Attachment{DefaultRoute: true})
	require.NoError(t, err)
	b, err := m.Connect(name, idB, pidB, Attachment{DefaultRoute: true})
	require.NoError(t, err)
	require.Equal(t, "10.199.41.2", a.IP)
	require.Equal(t, "10.199.41.3", b.IP)

	out, err := inNS(pidA, "ip", "-4", "-o", "addr", "show", "eth0")
	require.NoError(t, err, out)
	require.Contains(t, out, "inet 10.199.41.2/24")
	out, err = inNS(pidA, "ip", "route")
	require.NoError(t, err, out)
	require.Contains(t, out, "default via 10.199.41.1 dev eth0")

	out, err = inNS(pidA, "ping", "-c1", "-W2", b.IP)
	require.NoError(t, err, "container to container: %s", out)
	hostPing, err := exec.Command("busybox", "ping", "-c1", "-W2", a.IP).CombinedOutput()
	require.NoError(t, err, "host to container: %s", hostPing)

	// A port nobody else has, then the same again: refused.
	port := PortMapping{HostPort: 18181, ContainerPort: 80, Proto: "tcp"}
	pidC, idC := fakeContainer(t)
	_, err = m.Connect(name, idC, pidC, Attachment{Ports: []PortMapping{port}, DefaultRoute: true})
	require.NoError(t, err)
	pidD, idD := fakeContainer(t)
	_, err = m.Connect(name, idD, pidD, Attachment{Ports: []PortMapping{port}, DefaultRoute: true})
	require.ErrorContains(t, err, "already published")
	_, err = os.Stat(m.endpointPath(idD, name))
	require.ErrorIs(t, err, os.ErrNotExist, "a refused connect leaves no endpoint")

	err = m.Remove(name)
	require.ErrorContains(t, err, "active endpoints")

	require.NoError(t, m.Disconnect(idA, name))
	require.NoError(t, m.Disconnect(idA, name), "Disconnect is idempotent")
	_, err = netlink.LinkByName(a.HostVeth)
	require.Error(t, err, "the host end of the veth is gone")
	again, err := m.Connect(name, idA, pidA, Attachment{DefaultRoute: true})
	require.NoError(t, err, "the namespace lost its eth0 with the veth; a new one comes")
	require.NotEqual(t, b.IP, again.IP)
	for _, id := range []string{idA, idB, idC} {
		require.NoError(t, m.Disconnect(id, name))
	}
	require.NoError(t, m.Remove(name))
	_, err = netlink.LinkByName(n.Bridge)
	require.Error(t, err, "network rm removes the bridge")
	rules, _ := exec.Command("iptables-save").Output()
	require.NotContains(t, string(rules), "mydocker:net:"+name)
	require.NotContains(t, string(rules), "mydocker:port:"+idC)
}

// remoteHost builds a "remote host": a network namespace linked to the host by a veth pair,
// 172.31.249.1 on the host side, 172.31.249.2 inside, with no route to any container subnet.
func remoteHost(t *testing.T) (pid int) {
	t.Helper()
	pid, _ = fakeContainer(t)
	hostEnd := testutil.UniqueName("rh")
	peer := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: hostEnd}, PeerName: hostEnd + "p"}
	require.NoError(t, netlink.LinkAdd(peer))
	t.Cleanup(func() { deleteLink(hostEnd) })
	require.NoError(t, netlink.AddrAdd(peer, mustAddr("172.31.249.1/30")))
	require.NoError(t, netlink.LinkSetUp(peer))
	inner, err := netlink.LinkByName(hostEnd + "p")
	require.NoError(t, err)
	require.NoError(t, netlink.LinkSetNsPid(inner, pid))
	h, closeNS, err := handleAt(pid)
	require.NoError(t, err)
	defer closeNS()
	inner, err = h.LinkByName(hostEnd + "p")
	require.NoError(t, err)
	require.NoError(t, h.AddrAdd(inner, mustAddr("172.31.249.2/30")))
	require.NoError(t, h.LinkSetUp(inner))
	require.NoError(t, loUp(h))
	return pid
}

func mustAddr(s string) *netlink.Addr {
	a, err := netlink.ParseAddr(s)
	if err != nil {
		panic(err)
	}
	return a
}

func TestOutboundNATAndPublishedPorts(t *testing.T) {
	requiresNet(t)
	m := newManager(t)
	remote := remoteHost(t)
	name := testutil.UniqueName("t")
	_, err := m.Create(name, CreateOptions{Subnet: "10.199.42.0/24"})
	require.NoError(t, err)

	// Outbound: the remote host only knows the host; its replies come back only if the
	// container's address was rewritten to the host's.
	pid, id := fakeContainer(t)
	_, err = m.Connect(name, id, pid, Attachment{DefaultRoute: true})
	require.NoError(t, err)
	out, err := inNS(pid, "ping", "-c1", "-W2", "172.31.249.2")
	require.NoError(t, err, "outbound through MASQUERADE: %s", out)

	// A web server in a "container", published on 18182.
	www := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(www, "index.html"), []byte("hello\n"), 0o644))
	webPid, webID := fakeContainer(t, "httpd", "-f", "-p", "80", "-h", www)
	_, err = m.Connect(name, webID, webPid, Attachment{Ports: []PortMapping{{HostPort: 18182, ContainerPort: 80, Proto: "tcp"}}, DefaultRoute: true})
	require.NoError(t, err)
	fetch := func(pid int, url string) string {
		deadline := time.Now().Add(5 * time.Second)
		for {
			var out []byte
			var err error
			if pid == 0 {
				out, err = exec.Command("curl", "-s", "--max-time", "2", url).Output()
			} else {
				out, err = exec.Command("nsenter", "-t", strconv.Itoa(pid), "-n", "--", "curl", "-s", "--max-time", "2", url).Output()
			}
			if err == nil || time.Now().After(deadline) {
				return string(out)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	require.Equal(t, "hello\n", fetch(remote, "http://172.31.249.1:18182/"), "from another host (DNAT in PREROUTING)")
	require.Equal(t, "hello\n", fetch(0, "http://127.0.0.1:18182/"), "from the host's localhost (DNAT in OUTPUT)")

	require.NoError(t, m.DisconnectAll(webID, false))
	rules, _ := exec.Command("iptables-save").Output()
	require.NotContains(t, string(rules), "18182", "Disconnect removes the port's rules")
}

func TestParallelConnectsGetDistinctAddresses(t *testing.T) {
	requiresNet(t)
	m := newManager(t)
	name := testutil.UniqueName("t")
	_, err := m.Create(name, CreateOptions{Subnet: "10.199.43.0/29"})
	require.NoError(t, err)
	var wg sync.WaitGroup
	ips := make(chan string, 6)
	for range 6 {
		pid, id := fakeContainer(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			m2, err := Open(filepath.Dir(m.dir)) // another "mydocker process"
			if err != nil {
				ips <- err.Error()
				return
			}
			ep, err := m2.Connect(name, id, pid, Attachment{DefaultRoute: true})
			if err != nil {
				ips <- err.Error()
				return
			}
			ips <- ep.IP
		}()
	}
	wg.Wait()
	close(ips)
	seen := map[string]bool{}
	exhausted := 0
	for ip := range ips {
		if strings.Contains(ip, "no free address") {
			exhausted++
			continue
		}
		require.True(t, netip.MustParsePrefix("10.199.43.0/29").Contains(netip.MustParseAddr(ip)), ip)
		require.False(t, seen[ip], "address %s handed out twice", ip)
		seen[ip] = true
	}
	require.Len(t, seen, 5, "a /29 has five addresses for containers")
	require.Equal(t, 1, exhausted, "the sixth is refused")
}

func TestCreateRefusesBadInput(t *testing.T) {
	requiresNet(t)
	m := newManager(t)
	name := testutil.UniqueName("t")
	_, err := m.Create(name, CreateOptions{Subnet: "10.199.44.0/24"})
	require.NoError(t, err)
	for _, tc := range []struct{ name, driver, subnet, gateway, msg string }{
		{testutil.UniqueName("t"), "", "300.1.1.0/24", "", "invalid subnet"},
		{testutil.UniqueName("t"), "", "10.199.44.0/25", "", "overlaps with network " + name},
		{name, "", "10.199.45.0/24", "", "already exists"},
		{testutil.UniqueName("t"), "overlay", "10.199.46.0/24", "", "not supported"},
		{testutil.UniqueName("t"), "", "10.199.47.0/24", "10.199.48.1", "outside the subnet"},
		{"bad name", "", "10.199.49.0/24", "", "invalid network name"},
		{testutil.UniqueName("t"), "", "192.0.2.0/25", "", "overlaps with the host's route"},
	} {
		_, err := m.Create(tc.name, CreateOptions{Driver: tc.driver, Subnet: tc.subnet, Gateway: tc.gateway})
		if tc.msg == "overlaps with the host's route" && err == nil {
			m.Remove(tc.name) // this host has no such route: nothing to check
			continue
		}
		require.ErrorContains(t, err, tc.msg, "%+v", tc)
	}
	_, err = m.Get("nothing")
	require.ErrorIs(t, err, ErrNotFound)
	nets, err := m.List()
	require.NoError(t, err)
	require.Len(t, nets, 1, "failed creates leave nothing")
}

// A name is checked wherever it enters, not only at create: a library caller passing a path
// gets an error, and nothing outside the network store is touched.
func TestNamesThatArePathsAreRefused(t *testing.T) {
	root := t.TempDir()
	m, err := Open(root)
	require.NoError(t, err)
	victim := filepath.Join(root, "image", "repositories.json")
	require.NoError(t, os.MkdirAll(filepath.Dir(victim), 0o700))
	require.NoError(t, os.WriteFile(victim, []byte("{}"), 0o600))
	for _, name := range []string{"../../image/repositories", "..", "a/b", ""} {
		require.Error(t, m.Remove(name), name)
		_, err := m.Get(name)
		require.ErrorIs(t, err, ErrNotFound, name)
		_, err = m.Connect(name, strings.Repeat("a", 64), 1, Attachment{})
		require.Error(t, err, name)
	}
	require.Error(t, m.DisconnectAll("../../image/repositories", false))
	require.FileExists(t, victim)
}

// CVE-2020-8558: route_localnet on the bridge (needed for published ports on 127.0.0.1) lets
// a container send packets to the host's loopback, to what listens only there. A container
// that routes 127.0.0.1 through its gateway reaches nothing; the same container does reach a
// listener on the gateway's address, so the route itself works.
func TestContainerCannotReachHostLoopback(t *testing.T) {
	_, n, pid, _ := fakeOnNewNetwork(t, "10.199.43.0/24")

	// A datagram needs no answer: what matters is whether the host takes it in.
	listen := func(addr string) (port string, got chan string) {
		c, err := net.ListenPacket("udp4", addr+":0")
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		got = make(chan string, 1)
		go func() {
			buf := make([]byte, 64)
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			n, _, err := c.ReadFrom(buf)
			if err == nil {
				got <- string(buf[:n])
			}
			close(got)
		}()
		_, port, _ = net.SplitHostPort(c.LocalAddr().String())
		return port, got
	}
	loPort, lo := listen("127.0.0.1")
	gwPort, gw := listen(n.Gateway)

	// Routed so: 127.0.0.1 through the gateway, and route_localnet on the container's side too.
	script := `busybox sysctl -qw net.ipv4.conf.all.route_localnet=1 && busybox sysctl -qw net.ipv4.conf.eth0.route_localnet=1 &&
ip route del 127.0.0.0/8 dev lo table local && ip route del local 127.0.0.1 dev lo table local &&
ip route add 127.0.0.1/32 via ` + n.Gateway + ` dev eth0`
	out, err := exec.Command("nsenter", "-t", strconv.Itoa(pid), "-n", "--", "sh", "-c", script).CombinedOutput()
	require.NoError(t, err, "%s", out)
	sendFrom(t, pid, "127.0.0.1:"+loPort, "to-loopback")
	sendFrom(t, pid, n.Gateway+":"+gwPort, "to-gateway")
	require.Equal(t, "to-gateway", <-gw, "the route through the gateway works")
	// Sent first, it would be there by now.
	select {
	case msg := <-lo:
		require.Empty(t, msg, "a packet from a container reached a service on the host's loopback")
	case <-time.After(time.Second):
	}
}

// sendFrom sends one UDP datagram from the network namespace of process pid: a thread of
// this test joins it, and never leaves (the runtime retires it).
func sendFrom(t *testing.T, pid int, addr, msg string) {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		done <- func() error {
			ns, err := os.Open(fmt.Sprintf("/proc/%d/ns/net", pid))
			if err != nil {
				return err
			}
			defer ns.Close()
			if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
				return err
			}
			c, err := net.Dial("udp4", addr)
			if err != nil {
				return err
			}
			defer c.Close()
			_, err = c.Write([]byte(msg))
			return err
		}()
	}()
	require.NoError(t, <-done)
}

// The default network is made on first use on the first of Docker's default subnets that no
// route of the host covers: with a link holding 172.17.0.0/16 (as docker0 would), it takes the
// next one; a second call finds it made.
func TestDefaultNetworkAvoidsTheHostsRoutes(t *testing.T) {
	requiresNet(t)
	// A veth pair of the host's, one end holding the address: this kernel has no dummy links.
	name := testutil.UniqueName("dm")
	dummy := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name}, PeerName: name + "p"}
	require.NoError(t, netlink.LinkAdd(dummy))
	t.Cleanup(func() { netlink.LinkDel(dummy) })
	taken := "172.17.0.0/16"
	if route, err := hostRouteOverlapping(netip.MustParsePrefix(taken)); err == nil && route == "" {
		require.NoError(t, netlink.AddrAdd(dummy, mustAddr("172.17.255.254/16")))
		require.NoError(t, netlink.LinkSetUp(dummy))
	}
	m := newManager(t)
	n, err := m.EnsureDefault()
	require.NoError(t, err)
	require.Equal(t, DefaultName, n.Name)
	subnet := netip.MustParsePrefix(n.Subnet)
	require.False(t, subnet.Overlaps(netip.MustParsePrefix(taken)), "%s overlaps the host's route", subnet)
	again, err := m.EnsureDefault()
	require.NoError(t, err)
	require.Equal(t, n.ID, again.ID, "made once")
}

// A bridge holds 1,023 ports (BR_MAX_PORTS): the next container on its network is refused with
// what to do, not the kernel's "exchange full", and leaves nothing behind.
func TestFullBridgeSaysSo(t *testing.T) {
	requiresNet(t)
	m := newManager(t)
	name := testutil.UniqueName("t")
	n, err := m.Create(name, CreateOptions{Driver: "bridge", Subnet: "10.199.57.0/24"})
	require.NoError(t, err)
	br, err := netlink.LinkByName(n.Bridge)
	require.NoError(t, err)
	// The far ends of the veths that fill the bridge are in the namespace of holder: as it
	// exits, the kernel removes them all at once (one by one, each would wait for an RCU grace
	// period, 15 s in all).
	holder, _ := fakeContainer(t)
	brif := filepath.Join("/sys/class/net", n.Bridge, "brif")
	t.Cleanup(func() {
		syscall.Kill(holder, syscall.SIGKILL)
		require.Eventually(t, func() bool {
			ports, err := os.ReadDir(brif)
			return err == nil && len(ports) == 0
		}, 30*time.Second, 50*time.Millisecond, "the veths of the filled bridge go with their namespace")
	})
	prefix := "mdf" + randomHex(2)
	for i := range MaxBridgePorts {
		veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: fmt.Sprintf("%s%d", prefix, i), MasterIndex: br.Attrs().Index},
			PeerName: fmt.Sprintf("p%d", i), PeerNamespace: netlink.NsPid(holder)}
		require.NoError(t, netlink.LinkAdd(veth), "port %d", i)
	}
	pid, id := fakeContainer(t)
	_, err = m.Connect(name, id, pid, Attachment{DefaultRoute: true})
	require.ErrorContains(t, err, "is full: the kernel gives a bridge at most 1023 ports")
	_, err = os.Stat(m.endpointPath(id, name))
	require.ErrorIs(t, err, os.ErrNotExist, "a refused connect leaves no endpoint")
	ports, err := os.ReadDir(brif)
	require.NoError(t, err)
	require.Len(t, ports, MaxBridgePorts, "the refused container's veth is gone")
}

// A container whose processes are gone is disconnected without deleting its veth, which the
// kernel removes with the container's network namespace. Until then its host end is off the
// bridge, which sends nothing to the address it held, free again for the next container.
func TestDisconnectAllOfAGoneContainerLeavesTheVethToItsNamespace(t *testing.T) {
	m, n, pid, ep := fakeOnNewNetwork(t, "10.199.58.0/29")
	id := ep.ContainerID

	// The test holds the namespace a while after the process is gone, so that the veth is
	// seen between the two (the kernel cleans a namespace up in tens of milliseconds here).
	ns, err := os.Open(fmt.Sprintf("/proc/%d/ns/net", pid))
	require.NoError(t, err)
	defer ns.Close()
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	require.NoError(t, m.DisconnectAll(id, true))
	link, err := netlink.LinkByName(ep.HostVeth)
	require.NoError(t, err, "the veth is left to its namespace")
	require.Zero(t, link.Attrs().MasterIndex, "until the kernel removes it, the host end is off the bridge")
	ports, err := os.ReadDir(filepath.Join("/sys/class/net", n.Bridge, "brif"))
	require.NoError(t, err)
	require.Empty(t, ports)
	require.NoError(t, ns.Close())
	require.Eventually(t, func() bool {
		_, err := netlink.LinkByName(ep.HostVeth)
		return err != nil
	}, 10*time.Second, 10*time.Millisecond, "the kernel removes the veth with the namespace")
	eps, err := m.Endpoints(id)
	require.NoError(t, err)
	require.Empty(t, eps)
	var pool Pool
	require.NoError(t, fsutil.ReadJSON(m.poolPath(n.Name), &pool))
	require.False(t, pool.isTaken(pool.index(netip.MustParseAddr(ep.IP))), "the address is free again")
}

// The networks are IPv4 only: neither end of a container's veth, nor the bridge, has an IPv6
// address, so none of them sends the packets that come with one (duplicate address detection,
// router solicitations, listener reports), which the bridge would flood to every container.
func TestLinksHaveNoIPv6Address(t *testing.T) {
	_, n, pid, ep := fakeOnNewNetwork(t, "10.199.59.0/29")
	out, err := inNS(pid, "ip", "-6", "-o", "addr", "show", "dev", "eth0")
	require.NoError(t, err, out)
	require.Empty(t, strings.TrimSpace(out), "the container's eth0")
	for _, name := range []string{ep.HostVeth, n.Bridge} {
		link, err := netlink.LinkByName(name)
		require.NoError(t, err)
		addrs, err := netlink.AddrList(link, netlink.FAMILY_V6)
		require.NoError(t, err)
		require.Empty(t, addrs, name)
	}
}
