package network

import (
	"bufio"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// A rootless engine cannot make a bridge or a veth in the host's network, nor NAT: those are
// root's. Its containers get user-mode networking instead, as podman and Docker's rootless
// mode give theirs: a program on the host's side (slirp4netns) holds a tap device in the
// container's network namespace and carries its packets as its own sockets' traffic — a
// TCP/IP stack in user space, as an ordinary user may. The container has 10.0.2.100 behind a
// NAT, 10.0.2.2 as its gateway and 10.0.2.3 as its DNS server (which asks the host's); a
// published port is a socket slirp4netns listens on, on the host's address asked for (every
// one by default), forwarded to the container's port.
//
// slirp4netns rather than pasta: Debian 12's pasta (a 2023 snapshot) could not attach to a
// namespace given by path here, and neither says when it is ready nor ends with its watcher;
// slirp4netns writes to a descriptor once the network is up (--ready-fd) and exits when the
// watcher, holding the other end of a pipe, closes it or dies (--exit-fd): a killed mydocker
// leaves no network process behind. Its port forwarding is a small JSON API on a unix socket,
// with the host address to bind. --disable-host-loopback keeps the container away from the
// host's 127.0.0.1, where services trust whoever connects.

// UserModeName is the network mode of a rootless engine's containers, which take it for
// bridge.
const UserModeName = "slirp4netns"

// The addresses slirp4netns gives the container (its defaults, for 10.0.2.0/24).
const (
	userModeIP      = "10.0.2.100"
	userModeGateway = "10.0.2.2"
	// UserModeDNS is the address where slirp4netns answers DNS queries with the host's
	// servers: the nameserver of the container's resolv.conf.
	UserModeDNS = "10.0.2.3"
)

// ConnectUserMode gives the running container whose init is pid user-mode networking: a
// slirp4netns for its network namespace, its ports published through it (a host port of 0
// gets a free one). The endpoint's Held is the write end of slirp4netns's exit pipe: the
// container's watcher keeps it open while the container runs, and slirp4netns goes when it is
// closed. sockDir holds slirp4netns's API socket while the ports are set.
func ConnectUserMode(id string, pid int, ports []PortMapping, sockDir string) (_ *Endpoint, retErr error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	bin, err := exec.LookPath("slirp4netns")
	if err != nil {
		return nil, fmt.Errorf("a rootless container's network is slirp4netns's (apt-get install slirp4netns), or use --net none or --net host: %w", err)
	}
	if err := os.MkdirAll(sockDir, 0o700); err != nil {
		return nil, err
	}
	sock := filepath.Join(sockDir, id[:12]+".sock")
	os.Remove(sock)
	defer os.Remove(sock)
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer readyR.Close()
	exitR, exitW, err := os.Pipe()
	if err != nil {
		readyW.Close()
		return nil, err
	}
	defer func() {
		if retErr != nil {
			exitW.Close() // slirp4netns goes
		}
	}()
	// What it says goes to a file of its own, read back for the error when it fails.
	logPath := filepath.Join(sockDir, id[:12]+".log")
	log, err := os.Create(logPath)
	if err != nil {
		readyW.Close()
		exitR.Close()
		return nil, err
	}
	defer log.Close()
	defer os.Remove(logPath)
	said := func() string {
		data, _ := os.ReadFile(logPath)
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		return lines[len(lines)-1]
	}
	cmd := exec.Command(bin, "--configure", "--mtu=65520", "--disable-host-loopback",
		"--ready-fd=3", "--exit-fd=4", "--api-socket", sock, strconv.Itoa(pid), "tap0")
	cmd.ExtraFiles = []*os.File{readyW, exitR}
	cmd.Stdout, cmd.Stderr = log, log
	err = cmd.Start()
	readyW.Close()
	exitR.Close()
	if err != nil {
		return nil, fmt.Errorf("start slirp4netns: %w", err)
	}
	// Reaped by whoever waits: it outlives this call, and a process that exits before it is
	// reaped by init.
	go cmd.Wait()
	ready := make(chan error, 1)
	go func() {
		b := make([]byte, 1)
		_, err := readyR.Read(b)
		ready <- err
	}()
	select {
	case err := <-ready:
		if err != nil {
			return nil, fmt.Errorf("slirp4netns did not bring the container's network up: %w: %s", err, said())
		}
	case <-time.After(10 * time.Second):
		return nil, errors.New("slirp4netns did not bring the container's network up within 10 s")
	}
	var resolved []PortMapping
	for _, p := range ports {
		q, err := forwardPort(sock, p)
		if err != nil {
			return nil, err
		}
		resolved = append(resolved, q)
	}
	return &Endpoint{ContainerID: id, Network: UserModeName, IP: userModeIP, PrefixLen: 24, Gateway: userModeGateway,
		IfName: "tap0", Ports: resolved, Held: []*os.File{exitW}}, nil
}

// forwardPort publishes one port through slirp4netns's API (add_hostfwd); a host port of 0 is
// one free on the host now.
func forwardPort(sock string, p PortMapping) (PortMapping, error) {
	if p.HostPort == 0 {
		f, q, err := holdPort(p) // the kernel's pick, let go for slirp4netns to take
		if err != nil {
			return p, err
		}
		f.Close()
		p = q
	}
	req := map[string]any{"execute": "add_hostfwd", "arguments": map[string]any{
		"proto": p.Proto, "host_addr": cmp.Or(p.HostIP, "0.0.0.0"), "host_port": p.HostPort, "guest_port": p.ContainerPort,
	}}
	conn, err := net.DialTimeout("unix", sock, 5*time.Second)
	if err != nil {
		return p, fmt.Errorf("publish port %s: %w", p, err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if err := json.NewEncoder(conn).Encode(req); err != nil {
		return p, fmt.Errorf("publish port %s: %w", p, err)
	}
	var resp struct {
		Error *struct {
			Desc string `json:"desc"`
		} `json:"error"`
	}
	if err := json.NewDecoder(bufio.NewReader(conn)).Decode(&resp); err != nil {
		return p, fmt.Errorf("publish port %s: slirp4netns: %w", p, err)
	}
	if resp.Error != nil {
		return p, fmt.Errorf("publish port %s: slirp4netns: %s", p, resp.Error.Desc)
	}
	return p, nil
}
