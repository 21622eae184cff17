package network

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// ResolverName is the name the resolver's process answers to (argv[0]): mydocker-dns.
const ResolverName = "mydocker-dns"

// ResolverMain is the resolver's process (package network/resolver sets it) in a program that
// links the resolver: a chapter's program, so that the learner's Lookup answers. mydocker does
// not: a DNS server, and the TLS stack it brings, would be half again of its size and of every
// command's start. Its resolver is mydocker-dns, a program of its own beside it.
var ResolverMain func()

// ResolverSocket is the resolver's control socket: abstract (a root's path can be longer than a
// socket's may be), one per names directory.
func ResolverSocket(dnsDir string) string {
	sum := sha256.Sum256([]byte(dnsDir))
	return "@mydocker-dns-" + hex.EncodeToString(sum[:8])
}

// ResolverControl starts the resolver of a root and has it reload: Resolver, for the engine.
type ResolverControl struct{}

// Reload has the resolver of dnsDir answer from the names files as they are: it starts one
// when none runs and a network has names; the reply comes once the resolver has reloaded. After
// a network's removal (removed), a resolver left with no names goes at once, before it replies.
func (c ResolverControl) Reload(dnsDir string, removed bool) error {
	conn, err := net.Dial("unix", ResolverSocket(dnsDir))
	if err != nil {
		if names, _ := filepath.Glob(filepath.Join(dnsDir, "*.names")); len(names) == 0 {
			return nil // none runs, none is needed
		}
		if err := c.start(dnsDir); err != nil {
			return err
		}
		if conn, err = net.Dial("unix", ResolverSocket(dnsDir)); err != nil {
			return fmt.Errorf("reach the resolver: %w", err)
		}
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	request := "reload"
	if removed {
		request = "reload removed"
	}
	if _, err := fmt.Fprintln(conn, request); err != nil {
		return fmt.Errorf("reload the resolver: %w", err)
	}
	reply, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return fmt.Errorf("reload the resolver: %w", err)
	}
	if reply = strings.TrimSpace(reply); reply != "ok" {
		return fmt.Errorf("reload the resolver: %s", reply)
	}
	if removed {
		// A resolver that went keeps the connection until it exits: once it ends, no
		// resolver of the removed network is left.
		io.Copy(io.Discard, conn)
	}
	return nil
}

// Running reports whether the resolver of dnsDir answers.
func (c ResolverControl) Running(dnsDir string) bool {
	conn, err := net.Dial("unix", ResolverSocket(dnsDir))
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

// start starts the resolver of dnsDir (by way of mydocker-dns start, which exits at once) and
// waits until it listens. Its output goes to resolver.log beside the names files.
func (c ResolverControl) start(dnsDir string) error {
	executable, err := resolverExecutable()
	if err != nil {
		return err
	}
	log, err := os.OpenFile(filepath.Join(dnsDir, "resolver.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("start the resolver: %w", err)
	}
	defer log.Close()
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("start the resolver: %w", err)
	}
	defer r.Close()
	cmd := &exec.Cmd{Path: executable, Args: []string{ResolverName, "start", dnsDir}, Stdout: log, Stderr: log, ExtraFiles: []*os.File{w}}
	err = cmd.Run()
	w.Close()
	if err != nil {
		return fmt.Errorf("start the resolver: %w", err)
	}
	r.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil {
		return fmt.Errorf("start the resolver (see %s): %w", log.Name(), err)
	}
	if line = strings.TrimSpace(line); line != "ready" {
		return errors.New("the resolver: " + line)
	}
	return nil
}

// resolverExecutable is the program to run as the resolver: this one when it links the
// resolver (ResolverMain), else mydocker-dns beside it, where make builds it, or else
// mydocker-serve beside it, which links the resolver too: an engine built with its API server
// but not mydocker-dns answers names all the same.
func resolverExecutable() (string, error) {
	if ResolverMain != nil {
		return "/proc/self/exe", nil
	}
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("start the resolver: %w", err)
	}
	dir := filepath.Dir(exe)
	path := filepath.Join(dir, ResolverName)
	_, err = os.Stat(path)
	if err == nil {
		return path, nil
	}
	if _, serr := os.Stat(filepath.Join(dir, "mydocker-serve")); serr == nil {
		return filepath.Join(dir, "mydocker-serve"), nil
	}
	return "", fmt.Errorf("start the resolver: the names on user networks need %s beside %s (make builds it): %w", ResolverName, exe, err)
}
