package network

import (
	"fmt"
	"testing"
)

// FuzzParsePort: an accepted mapping has ports from 1 to 65535, tcp or udp, and reads back
// the same from its own numbers.
func FuzzParsePort(f *testing.F) {
	for _, s := range []string{"8080:80", "53:53/udp", "0:80", "80", "65536:1", "1:1/sctp", "a:b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePort(s)
		if err != nil {
			return
		}
		if p.HostPort == 0 || p.ContainerPort == 0 || (p.Proto != "tcp" && p.Proto != "udp") {
			t.Fatalf("ParsePort(%q) accepted %+v", s, p)
		}
		again := fmt.Sprintf("%d:%d/%s", p.HostPort, p.ContainerPort, p.Proto)
		if back, err := ParsePort(again); err != nil || back != p {
			t.Fatalf("ParsePort(%q) = %+v, but ParsePort(%q) = %+v, %v", s, p, again, back, err)
		}
	})
}
