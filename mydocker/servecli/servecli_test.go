package servecli

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/mydocker/mydocker/internal/testutil"
)

// Without TLS, an address that is not loopback is refused, and never listened on.
func TestTCPWithoutTLS(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0", "192.0.2.1:0"} {
		t.Run(addr, func(t *testing.T) {
			l, err := listenTCP(addr, tlsOptions{})
			if err == nil {
				l.Close()
				t.Fatalf("listenTCP(%s) without TLS served", addr)
			}
			if !strings.Contains(err.Error(), "loopback alone") {
				t.Errorf("listenTCP(%s): %v, want the loopback refusal", addr, err)
			}
		})
	}
	l, err := listenTCP("127.0.0.1:0", tlsOptions{})
	if err != nil {
		t.Fatalf("listenTCP on loopback: %v", err)
	}
	l.Close()
	if _, err := listenTCP("2375", tlsOptions{}); err == nil || !strings.Contains(err.Error(), "invalid address") {
		t.Errorf("listenTCP(2375) = %v, want an invalid address", err)
	}
}

// The socket is root's, mode 0660; unix://NAME is relative to the working directory; a socket
// nobody answers on is replaced, one a server answers on is not.
func TestUnixSocket(t *testing.T) {
	testutil.RequiresRoot(t)
	dir := t.TempDir()
	t.Chdir(dir)
	l, err := listen("unix://api.sock", "no-such-group", tlsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, "api.sock"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode()&os.ModeSocket == 0 || st.Mode().Perm() != 0o660 || st.Sys().(*syscall.Stat_t).Uid != 0 {
		t.Errorf("the socket: mode %v, uid %d; want a socket, 0660, root's", st.Mode(), st.Sys().(*syscall.Stat_t).Uid)
	}
	if _, err := listen("unix://"+filepath.Join(dir, "api.sock"), "docker", tlsOptions{}); err == nil || !strings.Contains(err.Error(), "another server answers") {
		t.Errorf("a second server on the socket: %v, want a refusal", err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close() // a server gone, its socket left
	l, err = listen("unix://"+filepath.Join(dir, "api.sock"), "docker", tlsOptions{})
	if err != nil {
		t.Fatalf("a socket nobody answers on: %v, want it replaced", err)
	}
	l.Close()
}
