package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// syncMsg is what the parent and the init say over fd 4: the parent's "go", with the
// descriptors Fds names riding along ("fifo", "rootfs"); the init's "pty" (an fd rides along)
// or "error"; the init's "ready" (its work done, the command next), which the parent answers
// with "go" once the container's limits are set; with an exec fifo, the init's "created". An
// init whose user namespace the parent maps with newuidmap first waits for "mapped".
type syncMsg struct {
	Type    string   `json:"type"`
	Code    int      `json:"code,omitempty"`
	Message string   `json:"message,omitempty"`
	Fds     []string `json:"fds,omitempty"`
}

// StartError is a failure to start the container's command. Code is the exit status Docker
// gives for it: 127 when the command is not found, 126 when it cannot be invoked, 125 otherwise.
type StartError struct {
	Code    int
	Message string
}

func (e *StartError) Error() string { return e.Message }

// ExitStatus is the exit status Docker gives when a container fails to start with err: the
// StartError's code, else 125 (the engine's own failure).
func ExitStatus(err error) int {
	var se *StartError
	if errors.As(err, &se) {
		return se.Code
	}
	return 125
}

// startErrorCode maps why an exec failed to Docker's exit status.
func startErrorCode(err error) int {
	switch {
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENOTDIR):
		return 127
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.EISDIR), errors.Is(err, unix.ENOEXEC), errors.Is(err, unix.EPERM):
		return 126
	}
	return 125
}

// sendMsg writes one message, with descriptors as SCM_RIGHTS, on a seqpacket socket.
func sendMsg(sock int, m syncMsg, fds ...int) error {
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	return unix.Sendmsg(sock, data, oob, nil, 0)
}

// maxFds is the most descriptors one message carries: the kernel's limit (SCM_MAX_FD).
const maxFds = 253

// recvMsg reads one message and the descriptors that came with it; ok=false when the peer
// closed the socket, which for the init means it executed the command (the socket is
// close-on-exec).
func recvMsg(sock int) (m syncMsg, fds []int, ok bool, err error) {
	buf := make([]byte, 64*1024)
	oob := make([]byte, unix.CmsgSpace(4*maxFds))
	for {
		n, oobn, flags, _, err := unix.Recvmsg(sock, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return m, nil, false, fmt.Errorf("read from init: %w", err)
		}
		if n == 0 && oobn == 0 {
			return m, nil, false, nil
		}
		if oobn > 0 {
			cmsgs, err := unix.ParseSocketControlMessage(oob[:oobn])
			if err == nil && len(cmsgs) > 0 {
				fds, _ = unix.ParseUnixRights(&cmsgs[0])
			}
		}
		if flags&unix.MSG_CTRUNC != 0 {
			closeAll(fds)
			return m, nil, false, errors.New("read from init: descriptors were cut off")
		}
		if err := json.Unmarshal(buf[:n], &m); err != nil {
			closeAll(fds)
			return m, nil, false, fmt.Errorf("bad message from init: %w", err)
		}
		return m, fds, true, nil
	}
}

// closeAll closes descriptors received with a message.
func closeAll(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// socketPair makes the parent/init socket pair; the parent keeps [0], the init inherits [1].
func socketPair() (parent *os.File, child *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("socketpair: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), "sync-parent"), os.NewFile(uintptr(fds[1]), "sync-init"), nil
}
