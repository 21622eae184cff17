package network

import (
	"encoding/json"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
)

func pool(t *testing.T, subnet, gateway string) *Pool {
	t.Helper()
	p, err := NewPool(netip.MustParsePrefix(subnet), netip.MustParseAddr(gateway))
	require.NoError(t, err)
	return p
}

func TestPoolHandsOutEveryHostAddressOnce(t *testing.T) {
	p := pool(t, "172.30.89.0/29", "172.30.89.1")
	var got []string
	for {
		a, err := p.Allocate()
		if err != nil {
			require.ErrorIs(t, err, ErrExhausted)
			break
		}
		got = append(got, a.String())
	}
	require.Equal(t, []string{"172.30.89.2", "172.30.89.3", "172.30.89.4", "172.30.89.5", "172.30.89.6"}, got,
		"never the network (.0), the gateway (.1) or the broadcast (.7) address")
}

func TestPoolReleaseAndReuse(t *testing.T) {
	p := pool(t, "10.199.0.0/30", "10.199.0.1")
	a, err := p.Allocate()
	require.NoError(t, err)
	require.Equal(t, "10.199.0.2", a.String())
	_, err = p.Allocate()
	require.ErrorIs(t, err, ErrExhausted)
	p.Release(a)
	p.Release(netip.MustParseAddr("10.199.0.3"))  // the broadcast: ignored
	p.Release(netip.MustParseAddr("192.0.2.200")) // not ours: ignored
	b, err := p.Allocate()
	require.NoError(t, err)
	require.Equal(t, a, b, "a released address comes back")
}

func TestPoolPersistsAsJSON(t *testing.T) {
	p := pool(t, "172.30.88.0/24", "172.30.88.1")
	a, _ := p.Allocate()
	data, err := json.Marshal(p)
	require.NoError(t, err)
	var q Pool
	require.NoError(t, json.Unmarshal(data, &q))
	b, err := q.Allocate()
	require.NoError(t, err)
	require.NotEqual(t, a, b, "what was handed out stays taken across a reload")
}

func TestNewPoolRefusesBadInput(t *testing.T) {
	for _, tc := range [][2]string{
		{"172.30.0.0/24", "172.31.0.1"},   // gateway outside
		{"172.30.0.0/24", "172.30.0.0"},   // gateway is the network address
		{"172.30.0.0/24", "172.30.0.255"}, // gateway is the broadcast address
		{"172.30.0.0/31", "172.30.0.1"},   // no room
		{"10.0.0.0/7", "10.0.0.1"},        // too big
		{"fd00::/64", "fd00::1"},          // IPv6
	} {
		_, err := NewPool(netip.MustParsePrefix(tc[0]), netip.MustParseAddr(tc[1]))
		require.Error(t, err, "%v", tc)
	}
}

func TestParsePort(t *testing.T) {
	p, err := ParsePort("18080:80")
	require.NoError(t, err)
	require.Equal(t, PortMapping{HostPort: 18080, ContainerPort: 80, Proto: "tcp"}, p)
	require.Equal(t, "0.0.0.0:18080->80/tcp", p.String())
	p, err = ParsePort("53:53/udp")
	require.NoError(t, err)
	require.Equal(t, "udp", p.Proto)
	p, err = ParsePort("127.0.0.1:18081:80")
	require.NoError(t, err)
	require.Equal(t, PortMapping{HostIP: "127.0.0.1", HostPort: 18081, ContainerPort: 80, Proto: "tcp"}, p)
	require.Equal(t, "127.0.0.1:18081->80/tcp", p.String())
	p, err = ParsePort("0.0.0.0:18082:80")
	require.NoError(t, err)
	require.Empty(t, p.HostIP, "0.0.0.0 is every address")
	for _, bad := range []string{"70000:80", "0:80", "80", "a:80", "80:b", "80:80/sctp", "80:0",
		"1.2.3:80:80", "::1:80:80", "[::1]:80:80", "localhost:80:80", "1.2.3.4:80:80:80"} {
		_, err := ParsePort(bad)
		require.Error(t, err, bad)
	}
}

func TestRules(t *testing.T) {
	rules := networkRules("net1", "br-0123456789ab", "172.30.88.0/24")
	require.Equal(t, Rule{"filter", "INPUT", []string{"-i", "br-0123456789ab", "-d", "127.0.0.0/8", "-m", "conntrack", "!", "--ctstate",
		"RELATED,ESTABLISHED", "-j", "DROP", "-m", "comment", "--comment", "mydocker:net:net1"}}, rules[0],
		"what a container sends to the host's loopback is dropped (CVE-2020-8558)")
	require.Equal(t, Rule{"nat", "POSTROUTING", []string{"-s", "172.30.88.0/24", "!", "-o", "br-0123456789ab", "-j", "MASQUERADE",
		"-m", "comment", "--comment", "mydocker:net:net1"}}, rules[3])
	require.Equal(t, Rule{"filter", "INPUT", []string{"-i", "br-0123456789ab", "-p", "udp", "--dport", "53", "-j", "ACCEPT",
		"-m", "comment", "--comment", "mydocker:net:net1"}}, rules[1], "the containers reach the names resolver on the gateway")
	ports := PortRules("abc", "172.30.88.2", PortMapping{HostPort: 18080, ContainerPort: 80, Proto: "tcp"})
	require.Equal(t, []string{"-p", "tcp", "-m", "addrtype", "--dst-type", "LOCAL", "--dport", "18080", "-j", "DNAT",
		"--to-destination", "172.30.88.2:80", "-m", "comment", "--comment", "mydocker:port:abc"}, ports[0].Args)
	require.Equal(t, "OUTPUT", ports[1].Chain, "the host's own connections to a published port are rewritten too")
	local := PortRules("abc", "172.30.88.2", PortMapping{HostIP: "127.0.0.1", HostPort: 18081, ContainerPort: 80, Proto: "tcp"})
	require.Equal(t, []string{"-p", "tcp", "-d", "127.0.0.1", "--dport", "18081", "-j", "DNAT",
		"--to-destination", "172.30.88.2:80", "-m", "comment", "--comment", "mydocker:port:abc"}, local[0].Args)
	all := PortMapping{HostPort: 18081, Proto: "tcp"}
	require.True(t, all.conflicts(PortMapping{HostIP: "127.0.0.1", HostPort: 18081, Proto: "tcp"}))
	require.False(t, PortMapping{HostIP: "127.0.0.2", HostPort: 18081, Proto: "tcp"}.conflicts(PortMapping{HostIP: "127.0.0.1", HostPort: 18081, Proto: "tcp"}))
	require.False(t, all.conflicts(PortMapping{HostPort: 18081, Proto: "udp"}))
}

func BenchmarkAllocateSlash16(b *testing.B) {
	p, err := NewPool(netip.MustParsePrefix("10.199.0.0/16"), netip.MustParseAddr("10.199.0.1"))
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		a, err := p.Allocate()
		if err != nil { // full: start over, as a long-lived network whose containers come and go
			p, _ = NewPool(p.Subnet, netip.MustParseAddr("10.199.0.1"))
			continue
		}
		if i%2 == 0 {
			p.Release(a)
		}
	}
}
