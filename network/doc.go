// Package network gives containers their networks: bridge networks with their own address
// management, a veth pair per container, NAT to the outside and published ports.
//
//	 host                                          container's network namespace
//	┌───────────────────────────────────┐        ┌───────────────────────────────┐
//	│ eth0 ── (MASQUERADE) ──┐          │        │                               │
//	│                        br-<id> ───┼─ veth ─┼─ eth0  172.30.0.2/24          │
//	│     (DNAT :8080 -> :80)│ 172.30.0.1         │   default via 172.30.0.1      │
//	└───────────────────────────────────┘        └───────────────────────────────┘
//
// A network is a Linux bridge holding the gateway address. Connecting a container makes a veth
// pair (two linked interfaces), keeps one end on the bridge and moves the other into the
// container's network namespace as eth0, with an address from the network's IPAM. Outgoing
// traffic leaves through the host with its source rewritten to the host's (MASQUERADE); a
// published port is rewritten on its way in to the container's address (DNAT).
//
// State lives under <root>/network: networks/<name>.json, ipam/<name>.json (the allocation
// bitmap) and endpoints/<container id>.json, changed under one file lock. Every iptables rule
// carries a "mydocker:..." comment and is removed exactly as it was added; nothing else is
// touched.
package network
