package container

import (
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// terminal connects the user's terminal to the container's pty: keys in, screen out, raw
// mode while attached, window size kept in step.
type terminal struct {
	pty     *os.File
	in, out *os.File
	restore *unix.Termios // the user's terminal settings, to put back
	outDone chan struct{}
}

func attachTerminal(pty *os.File, stdio Stdio, interactive bool) *terminal {
	t := &terminal{pty: pty, in: stdio.Stdin, out: stdio.Stdout, outDone: make(chan struct{})}
	if t.out == nil {
		t.out = os.Stdout
	}
	if interactive && t.in != nil {
		if saved, err := makeRaw(int(t.in.Fd())); err == nil {
			t.restore = saved
		}
		t.resize()
		go io.Copy(pty, t.in)
	}
	go func() {
		io.Copy(t.out, pty) // ends with EIO when the container's side is closed
		close(t.outDone)
	}()
	return t
}

// resize gives the container's terminal the size of the user's.
func (t *terminal) resize() {
	if t.in == nil {
		return
	}
	ws, err := unix.IoctlGetWinsize(int(t.in.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return
	}
	unix.IoctlSetWinsize(int(t.pty.Fd()), unix.TIOCSWINSZ, ws)
}

// drain waits (a bounded time) for the last output of the container to reach the screen.
func (t *terminal) drain(d time.Duration) {
	select {
	case <-t.outDone:
	case <-time.After(d):
	}
}

func (t *terminal) close() {
	if t.restore != nil {
		unix.IoctlSetTermios(int(t.in.Fd()), unix.TCSETS, t.restore)
	}
	t.pty.Close()
}

// makeRaw puts a terminal in raw mode (cfmakeraw(3)) and returns its previous settings:
// keys reach the container unprocessed, and its own terminal does the echo and the signals.
func makeRaw(fd int) (*unix.Termios, error) {
	saved, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, err
	}
	raw := *saved
	raw.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	raw.Oflag &^= unix.OPOST
	raw.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	raw.Cflag &^= unix.CSIZE | unix.PARENB
	raw.Cflag |= unix.CS8
	raw.Cc[unix.VMIN] = 1
	raw.Cc[unix.VTIME] = 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &raw); err != nil {
		return nil, err
	}
	return saved, nil
}
