// Package servecli is the command line of the Docker Engine API server (package api): the
// program mydocker-serve (mydocker/serve), which mydocker system service runs, and chapter 18's
// program, which serves in its own process so that the learner's code frames the streams.
//
//	NAME [--root DIR] [--time SECONDS] [--insecure-registry R]... [--group G] [--tlsverify --tlscacert F --tlscert F --tlskey F] [URI]
//
// URI is unix:///run/mydocker.sock by default, or tcp://HOST:PORT: with TLS and client
// certificates (--tlsverify), or on loopback alone, with a warning. Started by systemd through
// a socket (LISTEN_FDS), it serves the socket it is given. With --time N (5 by default), it
// exits after N seconds without a request, as podman system service does; 0 serves for ever.
package servecli

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

// Run serves the API as the command line args (the flags, then the URI) ask, and returns the
// exit status: 0 once it stopped on a signal or after --time idle seconds, 1 on an error
// (printed on stderr after name), 2 on a bad flag. The caller runs the engine's re-executed
// roles first (engine.Reexec): the monitors of the containers it starts are its binary again.
func Run(name string, args []string) int {
	flags := flag.NewFlagSet(name, flag.ContinueOnError)
	root := flags.String("root", envOr("MYDOCKER_ROOT", engine.DefaultRoot), "the directory that holds mydocker's state")
	idle := flags.Int("time", 5, "seconds without a request before it exits; 0: never")
	group := flags.String("group", "docker", "the group a unix socket belongs to (mode 0660), when it exists")
	tlsVerify := flags.Bool("tlsverify", false, "require TLS and a client certificate signed by --tlscacert (tcp)")
	caFile := flags.String("tlscacert", "", "the CA that signs the clients' certificates")
	certFile := flags.String("tlscert", "", "the server's certificate")
	keyFile := flags.String("tlskey", "", "the server's key")
	version := flags.String("version", "dev", "mydocker's version, for /version")
	logLevel := flags.String("log-level", "info", "debug, info, warn or error")
	var insecure registry.Access
	flags.Func("insecure-registry", "a registry (HOST[:PORT] or CIDR) pulls and pushes may reach over plain http (repeatable)", func(v string) error {
		insecure.Insecure = append(insecure.Insecure, v)
		return nil
	})
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if level, err := logrus.ParseLevel(*logLevel); err == nil {
		logrus.SetLevel(level)
	}
	uri := "unix:///run/mydocker.sock"
	if flags.NArg() > 0 {
		uri = flags.Arg(0)
	}
	err := serve(*root, uri, *idle, *group, *version, insecure, tlsOptions{*tlsVerify, *caFile, *certFile, *keyFile})
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return 1
	}
	return 0
}

// serve serves the API over the engine at root on uri until a signal, or until idle seconds
// passed without a request (0: never).
func serve(root, uri string, idle int, group, version string, access registry.Access, t tlsOptions) error {
	e, err := engine.New(root)
	if err != nil {
		return err
	}
	l, err := listen(uri, group, t)
	if err != nil {
		return err
	}
	s := api.New(e, version, access)
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 30 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	// Whatever the log level: what a script or a test waits for.
	fmt.Fprintf(os.Stderr, "serving the Docker Engine API on %s://%s\n", l.Addr().Network(), l.Addr())
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(stop)
	var timeout <-chan time.Time
	if idle > 0 {
		timeout = time.After(time.Duration(idle) * time.Second)
	}
	for {
		select {
		case err := <-done:
			return err
		case <-stop:
			srv.Close()
			return nil
		case <-s.Idle():
			if idle > 0 {
				timeout = time.After(time.Duration(idle) * time.Second)
			}
		case <-timeout:
			if !s.Busy() {
				srv.Close()
				return nil
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
		return listenUnix(u.Host+u.Path, group) // unix://NAME is a path relative to here, as dockerd has it
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
	refused := fmt.Errorf("tcp://%s: without --tlsverify the API is served on loopback alone (anyone who reaches it is root on this host)", addr)
	if !t.verify {
		// An address refused is never listened on, not even for a moment; a name is checked
		// once it is resolved, below.
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, fmt.Errorf("invalid address tcp://%s: %w", addr, err)
		}
		if ip := net.ParseIP(host); host == "" || ip != nil && !ip.IsLoopback() {
			return nil, refused
		}
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	if !t.verify {
		if ip := l.Addr().(*net.TCPAddr).IP; !ip.IsLoopback() {
			l.Close()
			return nil, refused
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
