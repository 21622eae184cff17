// Package resolver is the DNS server that lets containers on a user network find each other
// by name: one process for a mydocker root (this binary re-executed as mydocker-dns), which
// listens on the gateway address of each network that has containers, port 53, answers the
// names in the networks' names files (network.Names) and sends every other query on to the
// asker's servers (run --dns) or the host's.
//
// The engine starts it (Control) with the first container on a user network, and tells it to
// reload the files over a unix socket after each change: the reply comes once the resolver
// answers from the files as they are, so a container never asks before its network's names are
// there (podman's aardvark-dns reloads on a signal, which says nothing about when it is done).
// With no container left on any user network it stops listening, and goes a little later
// (idleExit: a network whose containers come and go one at a time would otherwise start one
// with each), or at once when a network is removed.
package resolver

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/sys/unix"

	"github.com/mydocker/mydocker/internal/fsutil"
	"github.com/mydocker/mydocker/internal/peercred"
	"github.com/mydocker/mydocker/network"
)

// Name is the name this binary answers to (argv[0]) when it runs as the resolver.
const Name = "mydocker-dns"

// ttl is the time to live of an answer: 0, so that a container restarted with another address
// is found at its new one at once (Docker's embedded resolver says 600).
const ttl = 0

// socketName is the resolver's control socket: abstract (a root's path can be longer than a
// socket's may be), one per names directory.
func socketName(dnsDir string) string {
	sum := sha256.Sum256([]byte(dnsDir))
	return "@mydocker-dns-" + hex.EncodeToString(sum[:8])
}

// server is the running resolver.
type server struct {
	dir string
	mu  sync.RWMutex
	all map[string]*network.Names // by network, as last reloaded
	// listening are the servers on each network's gateway (UDP and TCP), by network.
	listening map[string]*gateway
}

type gateway struct {
	addr     string
	udp, tcp *dns.Server
}

// idleExit is how long the resolver stays with no names to answer before it goes: a network
// whose containers come and go one at a time (run --rm in a loop) would otherwise start and stop
// a resolver with each of them. A network removed (Control.Reload with removed) ends it at once.
const idleExit = 10 * time.Second

// Main is the resolver's process: mydocker-dns serve DNSDIR, with a pipe on fd 3 on which it
// says "ready" once it listens (or what stopped it); it runs until it has had no names to answer
// for a while (idleExit), or SIGTERM. mydocker-dns start DNSDIR starts it and exits
// (Control.start): the resolver is then nobody's child, and no process of the engine's has a
// zombie to reap when it exits.
func Main() {
	ready := os.NewFile(3, "ready")
	if len(os.Args) != 3 || (os.Args[1] != "start" && os.Args[1] != "serve") {
		fmt.Fprintln(ready, "usage: mydocker-dns start|serve DNSDIR")
		os.Exit(2)
	}
	if os.Args[1] == "start" {
		cmd := &exec.Cmd{Path: "/proc/self/exe", Args: []string{Name, "serve", os.Args[2]}, Stdout: os.Stdout, Stderr: os.Stderr,
			ExtraFiles: []*os.File{ready}, SysProcAttr: &syscall.SysProcAttr{Setsid: true}}
		if err := cmd.Start(); err != nil {
			fmt.Fprintln(ready, "start the resolver:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	unix.CloseOnExec(3)
	signal.Ignore(syscall.SIGHUP, syscall.SIGINT, syscall.SIGPIPE)
	if err := serve(os.Args[2], ready); err != nil {
		fmt.Fprintln(os.Stderr, "mydocker-dns:", err)
		os.Exit(1)
	}
}

// serve runs the resolver of dnsDir, saying on ready when it listens.
func serve(dnsDir string, ready *os.File) error {
	fail := func(err error) error {
		fmt.Fprintln(ready, err)
		ready.Close()
		return err
	}
	lock, ok, err := fsutil.TryLockFile(filepath.Join(dnsDir, "resolver.lock"))
	if err != nil {
		return fail(err)
	}
	if !ok {
		return fail(errors.New("another resolver serves " + dnsDir))
	}
	control, err := net.Listen("unix", socketName(dnsDir))
	if err != nil {
		lock.Unlock()
		return fail(fmt.Errorf("listen for the engine: %w", err))
	}
	s := &server{dir: dnsDir, listening: map[string]*gateway{}}
	// What it holds, let go of before its last reply: the engine that reads "ok" may start
	// another resolver at once.
	release := func() {
		s.closeAll()
		control.Close()
		lock.Unlock()
	}
	if err := s.reload(); err != nil {
		release()
		return fail(err)
	}
	fmt.Fprintln(ready, "ready")
	ready.Close()

	requests := make(chan net.Conn)
	go func() {
		for {
			conn, err := control.Accept()
			if err != nil {
				close(requests)
				return
			}
			requests <- conn
		}
	}()
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM)
	var idle <-chan time.Time
	for {
		select {
		case <-stop:
			release()
			return nil
		case conn, ok := <-requests:
			if !ok {
				release()
				return nil
			}
			switch s.command(conn, release) {
			case done:
				return nil
			case empty:
				if idle == nil {
					idle = time.After(idleExit)
				}
			default:
				idle = nil
			}
		case <-idle:
			if s.idleExit(release) {
				return nil
			}
			idle = nil
		}
	}
}

// outcome is what a request left the resolver with.
type outcome int

const (
	serving outcome = iota // names to answer
	empty                  // none, for now
	done                   // none, and a network was removed: the resolver has let go of all
)

// command serves one request of the engine: "reload", or "reload removed" after a network was
// removed, answered "ok" once the files are reloaded, or with what went wrong. With nothing left
// to serve after a network's removal, it lets go of everything (release) before it answers,
// and leaves the connection open: it closes as the process exits, which the engine waits for.
func (s *server) command(conn net.Conn, release func()) (result outcome) {
	defer func() {
		if result != done {
			conn.Close()
		}
	}()
	if !peercred.FromRoot(conn) {
		return serving
	}
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	request := strings.TrimSpace(line)
	if err != nil || (request != "reload" && request != "reload removed") {
		fmt.Fprintf(conn, "unknown request %q\n", line)
		return serving
	}
	if err := s.reload(); err != nil {
		fmt.Fprintln(conn, err)
		return serving
	}
	result = serving
	if s.empty() {
		result = empty
		if request == "reload removed" {
			release()
			result = done
		}
	}
	fmt.Fprintln(conn, "ok")
	return result
}

// idleExit ends a resolver left with nothing to answer, under the network manager's lock (the
// directory above dnsDir): an engine that connects a container meanwhile reloads before the
// resolver looks again, or after it is gone and starts another. It reports whether it ended.
func (s *server) idleExit(release func()) bool {
	l, err := fsutil.LockFileInDir(filepath.Join(filepath.Dir(s.dir), "lock"))
	if err != nil {
		return false
	}
	defer l.Unlock()
	if err := s.reload(); err != nil || !s.empty() {
		return false
	}
	release()
	return true
}

func (s *server) empty() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.all) == 0
}

// reload reads the names files and listens on the gateway of each network they name, no
// longer on those of networks they do not.
func (s *server) reload() error {
	all, err := network.LoadNames(s.dir)
	if err != nil {
		return err
	}
	var errs []error
	for name, g := range s.listening {
		if n, ok := all[name]; !ok || n.Gateway != g.addr {
			g.close()
			delete(s.listening, name)
		}
	}
	for name, n := range all {
		if _, ok := s.listening[name]; ok {
			continue
		}
		g, err := s.listen(name, n.Gateway)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.listening[name] = g
	}
	s.mu.Lock()
	s.all = all
	s.mu.Unlock()
	return errors.Join(errs...)
}

// listen answers the queries that come to network name's gateway, over UDP and TCP.
func (s *server) listen(name, addr string) (*gateway, error) {
	hostPort := net.JoinHostPort(addr, "53")
	pc, err := net.ListenPacket("udp4", hostPort)
	if err != nil {
		return nil, fmt.Errorf("network %s: listen on %s: %w", name, hostPort, err)
	}
	l, err := net.Listen("tcp4", hostPort)
	if err != nil {
		pc.Close()
		return nil, fmt.Errorf("network %s: listen on %s: %w", name, hostPort, err)
	}
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) { s.answer(name, w, r) })
	g := &gateway{addr: addr, udp: &dns.Server{PacketConn: pc, Handler: handler}, tcp: &dns.Server{Listener: l, Handler: handler}}
	go g.udp.ActivateAndServe()
	go g.tcp.ActivateAndServe()
	return g, nil
}

func (g *gateway) close() {
	g.udp.Shutdown()
	g.tcp.Shutdown()
}

func (s *server) closeAll() {
	for _, g := range s.listening {
		g.close()
	}
}

// answer answers one query that came to network on's gateway: a container's name from the
// names the asker sees (network.Lookup), anything else from upstream.
func (s *server) answer(on string, w dns.ResponseWriter, r *dns.Msg) {
	asker := addrOf(w.RemoteAddr())
	s.mu.RLock()
	all := s.all
	s.mu.RUnlock()
	if len(r.Question) == 1 && r.Question[0].Qclass == dns.ClassINET {
		q := r.Question[0]
		switch q.Qtype {
		case dns.TypeA, dns.TypeAAAA, dns.TypeANY:
			if ip, ok := lookup(all, on, asker, q.Name); ok {
				m := new(dns.Msg).SetReply(r)
				m.Authoritative = true
				if q.Qtype != dns.TypeAAAA { // no IPv6 here: a name with no AAAA, not an unknown one
					m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: ttl}, A: ip.AsSlice()})
				}
				w.WriteMsg(m)
				return
			}
		case dns.TypePTR:
			if name, ok := reverse(all, on, asker, q.Name); ok {
				m := new(dns.Msg).SetReply(r)
				m.Authoritative = true
				m.Answer = append(m.Answer, &dns.PTR{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: ttl}, Ptr: dns.Fqdn(name)})
				w.WriteMsg(m)
				return
			}
		}
	}
	s.forward(network.Upstreams(all, on, asker), w, r)
}

// forward asks the upstream servers in turn, over the transport the query came by, and passes
// the first answer on; none: SERVFAIL.
func (s *server) forward(upstreams []string, w dns.ResponseWriter, r *dns.Msg) {
	c := &dns.Client{Net: w.RemoteAddr().Network(), Timeout: 2 * time.Second}
	for _, u := range upstreams {
		resp, _, err := c.Exchange(r, net.JoinHostPort(u, "53"))
		if err == nil {
			resp.Id = r.Id
			w.WriteMsg(resp)
			return
		}
	}
	w.WriteMsg(new(dns.Msg).SetRcode(r, dns.RcodeServerFailure))
}

// lookup is network.Resolve, with what is not a name that no container has said in the
// resolver's log (a lab's "not implemented", say): the query then goes upstream.
func lookup(all map[string]*network.Names, on string, asker netip.Addr, name string) (netip.Addr, bool) {
	ip, err := network.Resolve(all, on, asker, name)
	if err != nil && !errors.Is(err, network.ErrNoSuchName) {
		fmt.Fprintf(os.Stderr, "mydocker-dns: %s for %s on %s: %v\n", name, asker, on, err)
	}
	return ip, err == nil
}

// reverse answers a PTR query (d.c.b.a.in-addr.arpa.) for an address of a container the asker
// sees: its first name.
func reverse(all map[string]*network.Names, on string, asker netip.Addr, qname string) (string, bool) {
	rev, ok := strings.CutSuffix(strings.ToLower(qname), ".in-addr.arpa.")
	if !ok {
		return "", false
	}
	parts := strings.Split(rev, ".")
	if len(parts) != 4 {
		return "", false
	}
	ip := parts[3] + "." + parts[2] + "." + parts[1] + "." + parts[0]
	for _, n := range all {
		for _, ep := range n.Endpoints {
			if ep.IP == ip && len(ep.Names) > 0 {
				if found, ok := lookup(all, on, asker, ep.Names[0]); ok && found.String() == ip {
					return ep.Names[0], true
				}
			}
		}
	}
	return "", false
}

func addrOf(a net.Addr) netip.Addr {
	switch a := a.(type) {
	case *net.UDPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	case *net.TCPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	}
	return netip.Addr{}
}
