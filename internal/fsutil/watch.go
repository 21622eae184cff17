package fsutil

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Watch wakes a reader that follows the files of a directory (a log, the events, a state
// file) when one of them changes — written, renamed in or out, removed, or the directory
// itself removed — through inotify, instead of at the next tick of a poll: a client waiting
// for a container's end hears of it at once. A nil Watch (inotify refused) waits the whole
// timeout each time: polling again.
type Watch struct {
	f *os.File
}

// WatchDir watches dir. Changes from the call on are seen: make the watch before the first
// read of what it follows.
func WatchDir(dir string) *Watch {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil
	}
	const mask = unix.IN_MODIFY | unix.IN_CREATE | unix.IN_MOVED_TO | unix.IN_MOVED_FROM | unix.IN_DELETE | unix.IN_DELETE_SELF
	if _, err := unix.InotifyAddWatch(fd, dir, mask); err != nil {
		unix.Close(fd)
		return nil
	}
	return &Watch{f: os.NewFile(uintptr(fd), "inotify "+dir)}
}

// Wait returns once something changed since the last Wait, after timeout at most, or as soon
// as done is closed; it reports whether done is still open.
func (w *Watch) Wait(timeout time.Duration, done <-chan struct{}) bool {
	if w == nil {
		select {
		case <-done:
			return false
		case <-time.After(timeout):
			return true
		}
	}
	select {
	case <-done:
		return false
	default:
	}
	stop := make(chan struct{})
	defer close(stop)
	if done != nil {
		go func() {
			select {
			case <-done:
				w.f.SetReadDeadline(time.Now()) // wakes the read below
			case <-stop:
			}
		}()
	}
	w.f.SetReadDeadline(time.Now().Add(timeout))
	var buf [4096]byte
	w.f.Read(buf[:]) // the changes queued since the last Wait: what they are does not matter
	select {
	case <-done:
		return false
	default:
		return true
	}
}

// Close ends the watch, without waiting for it to go: closing an inotify instance waits for a
// grace period of the kernel's (SRCU, as its marks go), 12 to 14 ms here, which the attach and
// the wait of every docker run paid before they answered.
func (w *Watch) Close() error {
	if w == nil {
		return nil
	}
	go w.f.Close()
	return nil
}
