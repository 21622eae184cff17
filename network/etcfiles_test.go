package network

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestHostsFile(t *testing.T) {
	require.Equal(t, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"+
		"ff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n", string(HostsFile("web", "")))
	require.Contains(t, string(HostsFile("web", "172.30.0.2")), "172.30.0.2\tweb\n")
}

func TestResolvConf(t *testing.T) {
	host := "# generated\nnameserver 127.0.0.53\nnameserver 10.0.0.2\nsearch example.org\n"
	require.Equal(t, "# generated\nnameserver 10.0.0.2\nsearch example.org\n", string(ResolvConf([]byte(host))))
	require.Equal(t, "options edns0\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n",
		string(ResolvConf([]byte("nameserver 127.0.0.53\nnameserver ::1\noptions edns0\n"))),
		"with only loopback resolvers, Docker's fallback")
}
