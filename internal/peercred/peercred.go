// Package peercred tells who is at the other end of a unix socket (SO_PEERCRED): the sockets
// mydocker listens on (a container's stdin, the names resolver's control) answer root alone.
package peercred

import (
	"net"

	"golang.org/x/sys/unix"
)

// FromRoot reports whether the peer of a unix connection runs as root.
func FromRoot(conn net.Conn) bool {
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return false
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return false
	}
	var cred *unix.Ucred
	raw.Control(func(fd uintptr) { cred, err = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED) })
	return err == nil && cred != nil && cred.Uid == 0
}
