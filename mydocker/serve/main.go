// Command mydocker-serve serves the Docker Engine API over mydocker (package api): what
// mydocker system service runs, so that mydocker itself links no HTTP server or API types.
// make builds it beside mydocker.
//
//	mydocker-serve [--root DIR] [--time SECONDS] [--insecure-registry R]... [--group G] [--tlsverify --tlscacert F --tlscert F --tlskey F] [URI]
//
// URI is unix:///run/mydocker.sock by default, or tcp://HOST:PORT: with TLS and client
// certificates (--tlsverify), or on loopback alone, with a warning. Started by systemd through
// a socket (LISTEN_FDS), it serves the socket it is given. With --time N (5 by default), it
// exits after N seconds without a request, as podman system service does; 0 serves for ever.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"os/user"
	"strconv"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/mydocker/mydocker/engine"
	"github.com/mydocker/mydocker/mydocker/api"
	"github.com/mydocker/mydocker/workspace/registry"
)

func main() {
	// The engine's re-executed roles first: the monitors of the containers it starts, and the
	// names resolver, are this binary again.
	engine.UseHelpers()
	if engine.Reexec() {
		return
	}
	root := flag.String("root", envOr("MYDOCKER_ROOT", engine.DefaultRoot), "the directory that holds mydocker's state")
	idle := flag.Int("time", 5, "seconds without a request before it exits; 0: never")
	group := flag.String("group", "docker", "the group a unix socket belongs to (mode 0660), when it exists")
	tlsVerify := flag.Bool("tlsverify", false, "require TLS and a client certificate signed by --tlscacert (tcp)")
	caFile := flag.String("tlscacert", "", "the CA that signs the clients' certificates")
	certFile := flag.String("tlscert", "", "the server's certificate")
	keyFile := flag.String("tlskey", "", "the server's key")
	version := flag.String("version", "dev", "mydocker's version, for /version")
	logLevel := flag.String("log-level", "info", "debug, info, warn or error")
	var insecure registry.Access
	flag.Func("insecure-registry", "a registry (HOST[:PORT] or CIDR) pulls and pushes may reach over plain http (repeatable)", func(v string) error {
		insecure.Insecure = append(insecure.Insecure, v)
		return nil
	})
	flag.Parse()
	if level, err := logrus.ParseLevel(*logLevel); err == nil {
		logrus.SetLevel(level)
	}
	uri := "unix:///run/mydocker.sock"
	if flag.NArg() > 0 {
		uri = flag.Arg(0)
	}
	e, err := engine.New(*root)
	if err != nil {
		fail(err)
	}
	l, err := listen(uri, *group, tlsOptions{*tlsVerify, *caFile, *certFile, *keyFile})
	if err != nil {
		fail(err)
	}
	s := api.New(e, *version, insecure)
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 30 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	// Whatever the log level: what a script or a test waits for.
	fmt.Fprintf(os.Stderr, "serving the Docker Engine API on %s://%s\n", l.Addr().Network(), l.Addr())
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	var timeout <-chan time.Time
	if *idle > 0 {
		timeout = time.After(time.Duration(*idle) * time.Second)
	}
	for {
		select {
		case err := <-done:
			fail(err)
		case <-stop:
			srv.Close()
			return
		case <-s.Idle():
			if *idle > 0 {
				timeout = time.After(time.Duration(*idle) * time.Second)
			}
		case <-timeout:
			if !s.Busy() {
				srv.Close()
				return
			}
			timeout = nil // the next request's end starts the count again
		}
	}
}

func envOr(key, value string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return value
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "mydocker-serve:", err)
	os.Exit(1)
}

type tlsOptions struct {
	verify                    bool
	caFile, certFile, keyFile string
}

// listen opens where the API is served: the socket systemd passes (LISTEN_FDS), or uri.
func listen(uri, group string, t tlsOptions) (net.Listener, error) {
	if os.Getenv("LISTEN_PID") == strconv.Itoa(os.Getpid()) && os.Getenv("LISTEN_FDS") == "1" {
		return net.FileListener(os.NewFile(3, "systemd socket"))
	}
	u, err := url.Parse(uri)
	if err != nil {
		return nil, fmt.Errorf("invalid URI %q: %w", uri, err)
	}
	switch u.Scheme {
	case "unix":
		return listenUnix(u.Path, group)
	case "tcp":
		return listenTCP(u.Host, t)
	}
	return nil, fmt.Errorf("invalid URI %q: unix:///PATH or tcp://HOST:PORT", uri)
}

// listenUnix makes the socket root's, mode 0660, and group's when it exists, as dockerd does.
// A socket nobody answers on (a server that died) is replaced.
func listenUnix(path, group string) (net.Listener, error) {
	if c, err := net.Dial("unix", path); err == nil {
		c.Close()
		return nil, fmt.Errorf("%s: another server answers there", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	old := syscall.Umask(0o117)
	l, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, err
	}
	gid := 0
	if g, err := user.LookupGroup(group); err == nil {
		gid, _ = strconv.Atoi(g.Gid)
	}
	if err := os.Chown(path, 0, gid); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// listenTCP serves on TCP: with TLS and client certificates, or on loopback alone.
func listenTCP(addr string, t tlsOptions) (net.Listener, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	if !t.verify {
		if ip := l.Addr().(*net.TCPAddr).IP; !ip.IsLoopback() {
			l.Close()
			return nil, fmt.Errorf("tcp://%s: without --tlsverify the API is served on loopback alone (anyone who reaches it is root on this host)", addr)
		}
		logrus.Warnf("serving the API on %s without TLS: any local user who reaches it is root on this host", l.Addr())
		return l, nil
	}
	cert, err := tls.LoadX509KeyPair(t.certFile, t.keyFile)
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("load the server's certificate: %w", err)
	}
	ca, err := os.ReadFile(t.caFile)
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("read --tlscacert: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		l.Close()
		return nil, fmt.Errorf("--tlscacert %s holds no certificate", t.caFile)
	}
	return tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: pool,
		ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12}), nil
}
