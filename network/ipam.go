package network

import (
	"errors"
	"fmt"
	"net/netip"
)

// ErrExhausted is returned when a subnet has no free address left.
var ErrExhausted = errors.New("no free address left in the subnet")

// Pool allocates the addresses of one IPv4 subnet. It is a bitmap (one bit per address) with
// a hint where the next search starts, so allocating is O(1) amortised even in a /16: the
// hint moves past what it hands out, and a search wraps once. The network and broadcast
// addresses and the gateway are reserved when the pool is made. Pool is plain data: the
// Manager stores it as JSON and changes it under its lock.
type Pool struct {
	Subnet netip.Prefix `json:"subnet"`
	Bits   []uint64     `json:"bits"` // bit i set: Subnet's i-th address is taken
	Next   int          `json:"next"`
}

// minPrefixLen bounds the pool: a /8 is a 2 MiB bitmap, already more than any bridge holds.
const minPrefixLen = 8

// NewPool makes the pool of subnet, with its network and broadcast addresses and gateway taken.
func NewPool(subnet netip.Prefix, gateway netip.Addr) (*Pool, error) {
	subnet = subnet.Masked()
	if !subnet.Addr().Is4() {
		return nil, fmt.Errorf("subnet %s: only IPv4 is supported", subnet)
	}
	if subnet.Bits() < minPrefixLen || subnet.Bits() > 30 {
		return nil, fmt.Errorf("subnet %s: the prefix length must be from /%d to /30", subnet, minPrefixLen)
	}
	if !subnet.Contains(gateway) {
		return nil, fmt.Errorf("gateway %s is outside the subnet %s", gateway, subnet)
	}
	size := 1 << (32 - subnet.Bits())
	p := &Pool{Subnet: subnet, Bits: make([]uint64, (size+63)/64), Next: 1}
	p.take(0)        // the network address
	p.take(size - 1) // the broadcast address
	if p.isTaken(p.index(gateway)) {
		return nil, fmt.Errorf("gateway %s is the network or broadcast address of %s", gateway, subnet)
	}
	p.take(p.index(gateway))
	return p, nil
}

func (p *Pool) size() int { return 1 << (32 - p.Subnet.Bits()) }

func (p *Pool) index(a netip.Addr) int {
	base, addr := p.Subnet.Addr().As4(), a.As4()
	return int(be32(addr) - be32(base))
}

func (p *Pool) addr(i int) netip.Addr {
	base := p.Subnet.Addr().As4()
	n := be32(base) + uint32(i)
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
}

func be32(b [4]byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func (p *Pool) isTaken(i int) bool { return p.Bits[i/64]&(1<<(i%64)) != 0 }
func (p *Pool) take(i int)         { p.Bits[i/64] |= 1 << (i % 64) }

// Allocate hands out the next free address after the hint, wrapping around once. Full words
// of the bitmap are skipped 64 addresses at a time.
func (p *Pool) Allocate() (netip.Addr, error) {
	size := p.size()
	i := p.Next % size
	for checked := 0; checked < size; {
		if i%64 == 0 && i+64 <= size && p.Bits[i/64] == ^uint64(0) {
			i, checked = i+64, checked+64
		} else {
			if !p.isTaken(i) {
				p.take(i)
				p.Next = i + 1
				return p.addr(i), nil
			}
			i, checked = i+1, checked+1
		}
		if i >= size {
			i = 0
		}
	}
	return netip.Addr{}, fmt.Errorf("%s: %w", p.Subnet, ErrExhausted)
}

// Release gives an address back; releasing a free or foreign one is not an error.
func (p *Pool) Release(a netip.Addr) {
	if !p.Subnet.Contains(a) {
		return
	}
	i := p.index(a)
	if i == 0 || i == p.size()-1 {
		return
	}
	p.Bits[i/64] &^= 1 << (i % 64)
}
