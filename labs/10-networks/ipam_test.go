package ipam

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"testing"

	"github.com/mydocker/mydocker/network"
)

func pool(t testing.TB, subnet, gateway string) *network.Pool {
	t.Helper()
	p, err := network.NewPool(netip.MustParsePrefix(subnet), netip.MustParseAddr(gateway))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func allocate(t testing.TB, p *network.Pool) netip.Addr {
	t.Helper()
	a, err := Allocate(p)
	if err != nil {
		t.Fatalf("Allocate in %s: %v", p.Subnet, err)
	}
	if !p.Subnet.Contains(a) {
		t.Fatalf("Allocate in %s = %s, outside the subnet (HINTS.md, \"index\")", p.Subnet, a)
	}
	return a
}

// release is your Release, its "not implemented" panic (or an index out of range) turned into
// a test failure.
func release(t testing.TB, p *network.Pool, a netip.Addr) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("Release(%s): %v", a, r)
		}
	}()
	Release(p, a)
}

func TestAllocateInOrder(t *testing.T) {
	p := pool(t, "10.210.0.0/24", "10.210.0.1")
	for _, want := range []string{"10.210.0.2", "10.210.0.3", "10.210.0.4"} {
		if got := allocate(t, p); got.String() != want {
			t.Fatalf("Allocate = %s, want %s: the network address .0 and the gateway .1 are taken, the rest is handed out in order (HINTS.md, \"index\")", got, want)
		}
	}
}

func TestGatewayAnywhere(t *testing.T) {
	p := pool(t, "192.168.77.0/28", "192.168.77.14")
	got := map[string]bool{}
	for i := 0; i < 13; i++ {
		a := allocate(t, p)
		if got[a.String()] {
			t.Fatalf("Allocate handed out %s twice", a)
		}
		got[a.String()] = true
	}
	for _, reserved := range []string{"192.168.77.0", "192.168.77.14", "192.168.77.15"} {
		if got[reserved] {
			t.Errorf("Allocate handed out %s: the network address, the gateway and the broadcast address are never a container's (HINTS.md, \"reserved\")", reserved)
		}
	}
}

func TestExhausted(t *testing.T) {
	p := pool(t, "10.210.1.0/29", "10.210.1.1") // 8 addresses, 5 for containers
	for i := 0; i < 5; i++ {
		allocate(t, p)
	}
	a, err := Allocate(p)
	if !errors.Is(err, network.ErrExhausted) {
		t.Fatalf("Allocate in a full /29 = %s, %v; want an error wrapping network.ErrExhausted (HINTS.md, \"full\")", a, err)
	}
}

// TestNotAtOnceAgain: an address given back goes to the end of the line. A new container that
// got a just-freed address would receive the old one's packets until the neighbours' ARP
// caches expire.
func TestNotAtOnceAgain(t *testing.T) {
	p := pool(t, "10.210.2.0/24", "10.210.2.1")
	first := allocate(t, p)
	allocate(t, p)
	release(t, p, first)
	if got := allocate(t, p); got == first {
		t.Fatalf("Allocate after Release(%s) handed it out again at once: search from p.Next, the address after the last one handed out (HINTS.md, \"next\")", first)
	}
}

func TestReleaseThenReuse(t *testing.T) {
	p := pool(t, "10.210.3.0/29", "10.210.3.1")
	var all []netip.Addr
	for i := 0; i < 5; i++ {
		all = append(all, allocate(t, p))
	}
	release(t, p, all[2])
	if got := allocate(t, p); got != all[2] {
		t.Fatalf("the only free address of a full pool is %s, Allocate gave %s (HINTS.md, \"wrap\")", all[2], got)
	}
	// Never freed: an address outside the subnet, the network and broadcast addresses.
	for _, a := range []string{"10.99.0.5", "10.210.3.0", "10.210.3.7"} {
		before := slices.Clone(p.Bits)
		release(t, p, netip.MustParseAddr(a))
		if !slices.Equal(before, p.Bits) {
			t.Fatalf("Release(%s) changed the pool's bits from %x to %x: an address outside the subnet, the network address (index 0) and the broadcast address (the last) are never a container's, and stay taken (HINTS.md, \"reserved\")", a, before, p.Bits)
		}
	}
	// An address twice: the second does nothing.
	release(t, p, all[0])
	release(t, p, all[0])
	if got := allocate(t, p); got != all[0] {
		t.Fatalf("after releasing %s, Allocate gave %s", all[0], got)
	}
	if a, err := Allocate(p); err == nil {
		t.Fatalf("Allocate gave %s in a pool that should be full again: Release freed an address it must not (HINTS.md, \"reserved\")", a)
	}
}

// TestTheEngineReadsYourPool: the engine stores the pool as JSON and other code works on it
// (network.NewPool, the engine's own Allocate in a program without your lab): your bits must
// mean what its bits mean.
func TestTheEngineReadsYourPool(t *testing.T) {
	p := pool(t, "10.210.4.0/24", "10.210.4.1")
	mine := []netip.Addr{allocate(t, p), allocate(t, p), allocate(t, p)}
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var stored network.Pool
	if err := json.Unmarshal(data, &stored); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 250; i++ {
		a, err := stored.Allocate()
		if err != nil {
			t.Fatalf("the engine's Allocate on your pool: %v, after %d addresses", err, i)
		}
		for _, m := range mine {
			if a == m {
				t.Fatalf("the engine handed out %s, which your Allocate had handed out: bit i of Bits is the subnet's i-th address (HINTS.md, \"index\")", a)
			}
		}
	}
}

func TestLargeSubnet(t *testing.T) {
	p := pool(t, "10.128.0.0/16", "10.128.0.1")
	seen := make(map[netip.Addr]bool, 65533)
	for i := 0; i < 65533; i++ {
		a := allocate(t, p)
		if seen[a] {
			t.Fatalf("Allocate handed out %s twice, after %d addresses", a, i)
		}
		seen[a] = true
	}
	if a, err := Allocate(p); !errors.Is(err, network.ErrExhausted) {
		t.Fatalf("Allocate in a full /16 = %s, %v", a, err)
	}
}

// BenchmarkAllocate measures Allocate in a /16 whose containers come and go: go test -bench .
func BenchmarkAllocate(b *testing.B) {
	p := pool(b, "10.128.0.0/16", "10.128.0.1")
	for i := 0; i < b.N; i++ {
		a, err := Allocate(p)
		if err != nil {
			b.Fatal(fmt.Errorf("after %d: %w", i, err))
		}
		if i%2 == 0 {
			Release(p, a)
		}
		if i%60000 == 59999 {
			p = pool(b, "10.128.0.0/16", "10.128.0.1")
		}
	}
}
