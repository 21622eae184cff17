package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"time"

	"github.com/moby/moby/api/types/events"
	"github.com/sirupsen/logrus"

	"github.com/mydocker/mydocker/internal/fsutil"
)

// The engine's events, as docker events lists them: what happened to containers, images,
// networks and volumes. With no daemon to hold them, whichever mydocker process makes a thing
// happen (a run, a container's monitor, the API server) appends it, one JSON line, to
// events.log in the root; the API server's /events reads the log back and follows it. The log
// is kept to about a megabyte: past that, it becomes events.log.1 (the one before goes).

const eventsLogMax = 1 << 20

func (e *Engine) eventsPath() string { return filepath.Join(e.root, "events.log") }

// emit records an event. An event that cannot be recorded is logged: what the user asked for
// happened all the same.
func (e *Engine) emit(typ events.Type, action events.Action, id string, attrs map[string]string) {
	now := time.Now()
	m := events.Message{Type: typ, Action: action, Actor: events.Actor{ID: id, Attributes: attrs},
		Scope: "local", Time: now.Unix(), TimeNano: now.UnixNano()}
	if err := e.appendEvent(m); err != nil {
		logrus.WithError(err).Warnf("could not record the event %s %s", typ, action)
	}
}

func (e *Engine) appendEvent(m events.Message) error {
	line, err := json.Marshal(m)
	if err != nil {
		return err
	}
	l, err := fsutil.LockFile(filepath.Join(e.root, "events.lock"))
	if err != nil {
		return err
	}
	defer l.Unlock()
	if fi, err := os.Stat(e.eventsPath()); err == nil && fi.Size() > eventsLogMax {
		if err := os.Rename(e.eventsPath(), e.eventsPath()+".1"); err != nil {
			return fmt.Errorf("rotate the events: %w", err)
		}
	}
	f, err := os.OpenFile(e.eventsPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("record an event: %w", err)
	}
	_, err = f.Write(append(line, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// containerEvent records an event of container st, with its name, image and labels as
// attributes (compose finds its containers' events by label), and more.
func (e *Engine) containerEvent(st *State, action events.Action, more map[string]string) {
	attrs := map[string]string{"name": st.Name, "image": st.Image}
	maps.Copy(attrs, st.Config.Labels)
	maps.Copy(attrs, more)
	e.emit(events.ContainerEventType, action, st.ID, attrs)
}

// EventOptions choose the events Events reads: from Since on (zero: only those to come), up to
// Until (zero: none, and the log is followed until Done is closed).
type EventOptions struct {
	Since, Until time.Time
	Done         <-chan struct{}
}

// Events passes the events the options choose to fn, in the order they were recorded, and,
// without Until, the ones recorded after, until Done is closed or fn fails.
func (e *Engine) Events(opts EventOptions, fn func(events.Message) error) error {
	from := opts.Since
	if from.IsZero() {
		from = time.Now()
	}
	pass := func(m events.Message) error {
		t := time.Unix(0, m.TimeNano)
		if t.Before(from) || (!opts.Until.IsZero() && t.After(opts.Until)) {
			return nil
		}
		return fn(m)
	}
	if old, err := os.Open(e.eventsPath() + ".1"); err == nil {
		err := seekEvents(old, from)
		if err == nil {
			err = newJSONLines[events.Message](old, "the events").readAvailable(pass)
		}
		old.Close()
		if err != nil {
			return err
		}
	}
	watch := fsutil.WatchDir(e.root) // before the first read: no event is missed
	defer watch.Close()
	f, err := os.OpenFile(e.eventsPath(), os.O_CREATE|os.O_RDONLY, 0o600)
	if err != nil {
		return fmt.Errorf("read the events: %w", err)
	}
	defer func() { f.Close() }()
	if err := seekEvents(f, from); err != nil {
		return err
	}
	r := newJSONLines[events.Message](f, "the events")
	for {
		if err := r.readAvailable(pass); err != nil {
			return err
		}
		if !opts.Until.IsZero() && time.Now().After(opts.Until) {
			return nil
		}
		if !watch.Wait(time.Second, opts.Done) {
			return nil
		}
		// Rotated: what is left of the old file, then the new one.
		if named, err := os.Stat(e.eventsPath()); err == nil {
			if open, err := f.Stat(); err == nil && !os.SameFile(open, named) {
				if err := r.readAvailable(pass); err != nil {
					return err
				}
				nf, err := os.Open(e.eventsPath())
				if err != nil {
					return fmt.Errorf("read the events: %w", err)
				}
				f.Close()
				f, r = nf, newJSONLines[events.Message](nf, "the events")
			}
		}
	}
}

// eventsSlack allows for events recorded out of their order: a process takes the time of its
// event before it waits for the log's lock.
const eventsSlack = time.Second

// seekEvents moves f, a log of events, to a line from which on every event recorded at from or
// later follows: found by a binary search for a line recorded eventsSlack before from. Every
// docker run through the API waits for its container's events from the moment it asks: each
// wait decoded the whole log before, up to two megabytes with the rotated one.
func seekEvents(f *os.File, from time.Time) error {
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("read the events: %w", err)
	}
	const window = 8 << 10 // longer than a line
	earlier := from.Add(-eventsSlack)
	lo, hi := int64(0), fi.Size()
	for hi-lo > window {
		mid := lo + (hi-lo)/2
		start, t, ok := eventLineAfter(f, mid, window)
		if ok && t.Before(earlier) {
			lo = start
		} else {
			hi = mid
		}
	}
	if _, err := f.Seek(lo, io.SeekStart); err != nil {
		return fmt.Errorf("read the events: %w", err)
	}
	return nil
}

// eventLineAfter reads the first whole line of the log that starts after offset off, within
// window bytes, and returns where it starts and the time of its event.
func eventLineAfter(f *os.File, off int64, window int) (start int64, t time.Time, ok bool) {
	buf := make([]byte, window)
	n, _ := f.ReadAt(buf, off)
	buf = buf[:n]
	i := bytes.IndexByte(buf, '\n')
	if i < 0 {
		return 0, t, false
	}
	line, _, whole := bytes.Cut(buf[i+1:], []byte{'\n'})
	if !whole {
		return 0, t, false
	}
	var m struct {
		TimeNano int64 `json:"timeNano"`
	}
	if json.Unmarshal(line, &m) != nil {
		return 0, t, false
	}
	return off + int64(i) + 1, time.Unix(0, m.TimeNano), true
}
