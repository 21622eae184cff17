package network

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNamesFileRoundTrip(t *testing.T) {
	n := &Names{Network: "front", Gateway: "10.213.5.1", Upstreams: []string{"10.0.0.2"}, Endpoints: []NamedEndpoint{
		{ContainerID: "aaa", IP: "10.213.5.2", Names: []string{"web", "aaa"}},
		{ContainerID: "bbb", IP: "10.213.5.3", DNS: []string{"198.51.100.7", "198.51.100.8"}, Names: []string{"db", "bbb", "database"}},
	}}
	got, err := ParseNames("front", n.Marshal())
	require.NoError(t, err)
	require.Equal(t, n, got)
	_, err = ParseNames("front", []byte("gateway\n"))
	require.ErrorContains(t, err, "line 1", "a bad line is named")
}

// Lookup answers from the networks the asker is on, the one asked first, and never from one
// it is not on.
func TestLookup(t *testing.T) {
	all := map[string]*Names{
		"front": {Network: "front", Upstreams: []string{"10.0.0.2"}, Endpoints: []NamedEndpoint{
			{ContainerID: "web", IP: "10.1.0.2", Names: []string{"web"}},
			{ContainerID: "api", IP: "10.1.0.3", DNS: []string{"198.51.100.7"}, Names: []string{"api", "Service"}},
		}},
		"back": {Network: "back", Endpoints: []NamedEndpoint{
			{ContainerID: "api", IP: "10.2.0.3", Names: []string{"api"}},
			{ContainerID: "db", IP: "10.2.0.4", Names: []string{"db"}},
		}},
	}
	web, api := netip.MustParseAddr("10.1.0.2"), netip.MustParseAddr("10.1.0.3")
	for _, tc := range []struct {
		name, on string
		asker    netip.Addr
		q, want  string
	}{
		{"a name on the network", "front", web, "api", "10.1.0.3"},
		{"fully qualified, any case", "front", web, "SERVICE.", "10.1.0.3"},
		{"not on the asker's networks", "front", web, "db", ""},
		{"on another network of the asker's", "front", api, "db", "10.2.0.4"},
		{"the address on the network asked first", "back", netip.MustParseAddr("10.2.0.4"), "api", "10.2.0.3"},
		{"an asker the network does not know sees its names only", "back", netip.MustParseAddr("10.2.0.99"), "web", ""},
		{"no such network", "side", web, "web", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ip, err := Lookup(all, tc.on, tc.asker, tc.q)
			if tc.want == "" {
				require.ErrorIs(t, err, ErrNoSuchName, "got %s", ip)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, ip.String())
		})
	}
	require.Equal(t, []string{"198.51.100.7"}, Upstreams(all, "front", api), "a container's --dns servers")
	require.Equal(t, []string{"10.0.0.2"}, Upstreams(all, "front", web), "else the host's")
}
