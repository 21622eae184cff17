package resolver

import (
	"bufio"
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

// Control starts the resolver of a root and has it reload: network.Resolver, for the engine.
type Control struct {
	// Executable is the binary to run as the resolver: the engine's own.
	Executable string
}

// Reload has the resolver of dnsDir answer from the names files as they are: it starts one
// when none runs and a network has names; the reply comes once the resolver has reloaded. After
// a network's removal (removed), a resolver left with no names goes at once, before it replies.
func (c Control) Reload(dnsDir string, removed bool) error {
	conn, err := net.Dial("unix", socketName(dnsDir))
	if err != nil {
		if names, _ := filepath.Glob(filepath.Join(dnsDir, "*.names")); len(names) == 0 {
			return nil // none runs, none is needed
		}
		if err := c.start(dnsDir); err != nil {
			return err
		}
		if conn, err = net.Dial("unix", socketName(dnsDir)); err != nil {
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
func (c Control) Running(dnsDir string) bool {
	conn, err := net.Dial("unix", socketName(dnsDir))
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

// start starts the resolver of dnsDir (by way of mydocker-dns start, which exits at once) and
// waits until it listens. Its output goes to resolver.log beside the names files.
func (c Control) start(dnsDir string) error {
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
	cmd := &exec.Cmd{Path: c.Executable, Args: []string{Name, "start", dnsDir}, Stdout: log, Stderr: log, ExtraFiles: []*os.File{w},
		Env: []string{"MYDOCKER_PREFAULT=off"}} // it lives long: no heap prefault (internal/prefault)
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
