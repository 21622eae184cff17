package network

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestHostsFile(t *testing.T) {
	require.Equal(t, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"+
		"ff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n", string(HostsFile("web", nil, nil)))
	require.Contains(t, string(HostsFile("web", []string{"172.30.0.2"}, nil)), "172.30.0.2\tweb\n")
	require.Contains(t, string(HostsFile("web", []string{"172.30.0.2"}, []string{"db:10.1.2.3"})), "ff02::2\tip6-allrouters\n10.1.2.3\tdb\n172.30.0.2\tweb\n")
	require.Contains(t, string(HostsFile("web", []string{"172.30.0.2", "10.5.0.3"}, nil)), "172.30.0.2\tweb\n10.5.0.3\tweb\n", "one line for each network")
}

func TestResolvConf(t *testing.T) {
	host := "# generated\nnameserver 127.0.0.53\nnameserver 10.0.0.2\nsearch example.org\n"
	require.Equal(t, "# generated\nnameserver 10.0.0.2\nsearch example.org\n", string(ResolvConf([]byte(host), EtcOptions{}, nil)))
	require.Equal(t, "options edns0\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n",
		string(ResolvConf([]byte("nameserver 127.0.0.53\nnameserver ::1\noptions edns0\n"), EtcOptions{}, nil)),
		"with only loopback resolvers, Docker's fallback")
	require.Equal(t, "search a.test b.test\nnameserver 10.9.9.9\noptions ndots:2\n",
		string(ResolvConf([]byte(host+"options edns0\n"), EtcOptions{DNS: []string{"10.9.9.9"}, DNSSearch: []string{"a.test", "b.test"}, DNSOptions: []string{"ndots:2"}}, nil)),
		"--dns, --dns-search and --dns-option replace the host's, in Docker's order")
	require.Equal(t, "search example.org\nnameserver 10.9.9.9\noptions edns0\n",
		string(ResolvConf([]byte(host+"options edns0\n"), EtcOptions{DNS: []string{"10.9.9.9"}}, nil)),
		"what the user did not give is the host's")
	require.Equal(t, "search example.org\nnameserver 10.213.5.1\nnameserver 10.214.7.1\noptions edns0\n",
		string(ResolvConf([]byte(host+"options edns0\n"), EtcOptions{DNS: []string{"10.9.9.9"}}, []string{"10.213.5.1", "10.214.7.1"})),
		"on user networks, their resolvers (which forward to --dns)")
}

func TestEtcOptionsValidate(t *testing.T) {
	require.NoError(t, EtcOptions{ExtraHosts: []string{"foo:10.1.2.3", "v6:::1"}, DNS: []string{"10.9.9.9"}}.Validate())
	require.ErrorContains(t, EtcOptions{ExtraHosts: []string{"foo"}}.Validate(), "bad format for add-host")
	require.ErrorContains(t, EtcOptions{ExtraHosts: []string{"foo:notip"}}.Validate(), "invalid IP address")
	require.ErrorContains(t, EtcOptions{DNS: []string{"nope"}}.Validate(), "is not an ip address")
}
