package ipam

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/mydocker/mydocker/network"
)

// twoNetworks: front has web and api; back has api (at another address) and db. api is on
// both, with an alias on front.
func twoNetworks() map[string]*network.Names {
	return map[string]*network.Names{
		"front": {Network: "front", Gateway: "10.1.0.1", Endpoints: []network.NamedEndpoint{
			{ContainerID: "aaaa", IP: "10.1.0.2", Names: []string{"web", "aaaa"}},
			{ContainerID: "bbbb", IP: "10.1.0.3", Names: []string{"api", "bbbb", "Service"}},
		}},
		"back": {Network: "back", Gateway: "10.2.0.1", Endpoints: []network.NamedEndpoint{
			{ContainerID: "bbbb", IP: "10.2.0.3", Names: []string{"api", "bbbb"}},
			{ContainerID: "cccc", IP: "10.2.0.4", Names: []string{"db", "cccc"}},
		}},
	}
}

func TestLookup(t *testing.T) {
	web, api, db := netip.MustParseAddr("10.1.0.2"), netip.MustParseAddr("10.1.0.3"), netip.MustParseAddr("10.2.0.4")
	for _, tc := range []struct {
		key, what string
		on        string
		asker     netip.Addr
		name      string
		want      string // "": ErrNoSuchName
	}{
		{"name", "web asks front for api", "front", web, "api", "10.1.0.3"},
		{"name", "a short id", "front", web, "bbbb", "10.1.0.3"},
		{"dns", "as DNS writes it: a trailing dot", "front", web, "api.", "10.1.0.3"},
		{"dns", "as DNS writes it: any case", "front", web, "SERVICE", "10.1.0.3"},
		{"apart", "web asks for db, on a network web is not on", "front", web, "db", ""},
		{"apart", "db asks back for web", "back", db, "web", ""},
		{"first", "db asks back for api: its address on back", "back", db, "api", "10.2.0.3"},
		{"others", "api asks front for db: on back, where api is too", "front", api, "db", "10.2.0.4"},
		{"asker", "an address front does not know asks for web", "front", netip.MustParseAddr("10.1.0.99"), "web", "10.1.0.2"},
		{"asker", "an address front does not know asks for db", "front", netip.MustParseAddr("10.1.0.99"), "db", ""},
		{"name", "nobody has the name", "front", web, "nosuch", ""},
	} {
		t.Run(tc.what, func(t *testing.T) {
			got, err := Lookup(twoNetworks(), tc.on, tc.asker, tc.name)
			if err != nil && strings.HasPrefix(err.Error(), "not implemented") {
				t.Fatal(err)
			}
			if tc.want == "" {
				if !errors.Is(err, network.ErrNoSuchName) {
					t.Fatalf("Lookup(%q) asked on %s by %s = %s, %v; want an error wrapping network.ErrNoSuchName (HINTS.md, %q)", tc.name, tc.on, tc.asker, got, err, tc.key)
				}
				return
			}
			if err != nil || got.String() != tc.want {
				t.Fatalf("Lookup(%q) asked on %s by %s = %s, %v; want %s (HINTS.md, %q)", tc.name, tc.on, tc.asker, got, err, tc.want, tc.key)
			}
		})
	}
}
