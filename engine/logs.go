package engine

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/mydocker/mydocker/internal/fsutil"
	"github.com/mydocker/mydocker/internal/jsonlog"
)

// LogConfig is the log's rotation (see jsonlog.Config).
type LogConfig = jsonlog.Config

// ParseLogOpts reads the json-file driver's options, as Docker's --log-opt: max-size=10m
// (k, m, g: thousands, as Docker counts them) and max-file=3 (with max-size only).
func ParseLogOpts(opts []string) (LogConfig, error) {
	var c LogConfig
	for _, o := range opts {
		key, value, _ := strings.Cut(o, "=")
		switch key {
		case "max-size":
			n, err := parseDecimalSize(value)
			if err != nil || n <= 0 {
				return c, fmt.Errorf("invalid log option %q: want a size such as 10m", o)
			}
			c.MaxSize = n
		case "max-file":
			n, err := strconv.Atoi(value)
			if err != nil || n < 1 {
				return c, fmt.Errorf("invalid log option %q: want a number of files, at least 1", o)
			}
			c.MaxFile = n
		default:
			return c, fmt.Errorf("unknown log option %q for the json-file driver: max-size and max-file are", o)
		}
	}
	if c.MaxFile > 1 && c.MaxSize == 0 {
		return c, fmt.Errorf("max-file %d needs max-size too", c.MaxFile)
	}
	return c, nil
}

// parseDecimalSize reads 100, 10k, 10m, 1g (powers of 1000, as Docker's log sizes).
func parseDecimalSize(s string) (int64, error) {
	unit := int64(1)
	switch strings.ToLower(s[len(s)-min(len(s), 1):]) {
	case "k":
		unit = 1000
	case "m":
		unit = 1000 * 1000
	case "g":
		unit = 1000 * 1000 * 1000
	}
	if unit > 1 {
		s = s[:len(s)-1]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n * unit, err
}

// openLog opens a container's log for its watcher, warning in the engine's log of what it
// cannot write.
func openLog(path string, cfg LogConfig) (*jsonlog.Writer, error) {
	l, err := jsonlog.Open(path, cfg)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	l.Warn = func(err error) { logrus.WithField("log", path).WithError(err).Warn("could not write the log") }
	return l, nil
}

// LogOptions select what Logs prints.
type LogOptions struct {
	Follow     bool      // keep printing until the container stops (or Until is past)
	Tail       int       // only the last Tail lines of what is logged so far; < 0: all
	Timestamps bool      // each line after the time it was logged (RFC 3339, nanoseconds)
	Since      time.Time // only what was logged from then on; zero: all
	Until      time.Time // only what was logged until then (included, as Docker); zero: all
	// Done ends a Follow early (the API's client went away); nil: only the container's end.
	Done <-chan struct{}
}

// Logs writes the container's log to stdout and stderr, each piece to the stream it came
// from: the rotated files first, oldest first, then the current one.
func (e *Engine) Logs(ref string, opts LogOptions, stdout, stderr io.Writer) error {
	st, err := e.Get(ref)
	if err != nil {
		return err
	}
	out := &logPrinter{stdout: stdout, stderr: stderr, timestamps: opts.Timestamps, since: opts.Since, until: opts.Until}
	emit := out.print
	var tail []jsonlog.Entry // the last opts.Tail entries so far, when tailing
	if opts.Tail >= 0 {
		emit = func(entry jsonlog.Entry) {
			if opts.Tail == 0 || entry.Time.Before(opts.Since) {
				return
			}
			if len(tail) == opts.Tail {
				tail = tail[1:]
			}
			tail = append(tail, entry)
		}
	}
	path := e.containers.LogPath(st.ID)
	for n := max(st.LogConfig.MaxFile, 1) - 1; n > 0; n-- {
		if err := readLogFile(jsonlog.Rotated(path, n), emit); err != nil {
			return err
		}
	}
	var watch *fsutil.Watch // the container's directory: its log written, its state recorded
	if opts.Follow {
		watch = fsutil.WatchDir(filepath.Dir(path))
		defer watch.Close()
	}
	f, err := e.openLog(st.ID, path, opts)
	if err != nil || f == nil {
		return err
	}
	r := newLogReader(f, emit)
	defer func() { r.f.Close() }()
	if err := r.readAvailable(); err != nil {
		return err
	}
	for _, entry := range tail {
		out.print(entry)
	}
	r.emit = out.print // what is logged from now on
	for opts.Follow {
		// The monitor writes the last line before it records the exit: once the
		// container has stopped, one more pass drains the log.
		if cur, err := e.containers.Load(st.ID); err != nil || cur.Status == Exited {
			return r.readAvailable()
		}
		if !opts.Until.IsZero() && time.Now().After(opts.Until) {
			return r.readAvailable() // nothing logged from now on is shown
		}
		if err := r.followRotation(path); err != nil {
			return err
		}
		if !watch.Wait(time.Second, opts.Done) {
			return nil
		}
		if err := r.readAvailable(); err != nil {
			return err
		}
	}
	return nil
}

// openLog opens the container's log; nil when it has none: a foreground container with a
// terminal printed to it. Following a container that has not started yet (attach before
// start, as docker run does), it makes the log its monitor will append to (jsonlog.Open), so
// that not a line is missed, even of a --rm container whose log goes with it at once.
func (e *Engine) openLog(id, path string, opts LogOptions) (*os.File, error) {
	f, err := os.Open(path)
	if err == nil {
		return f, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("open log: %w", err)
	}
	if cur, err := e.containers.Load(id); !opts.Follow || err != nil || cur.Status != Created {
		return nil, nil
	}
	f, err = os.OpenFile(path, os.O_CREATE|os.O_RDONLY, 0o600)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil // removed meanwhile
	}
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	return f, nil
}

// logPrinter writes log entries to the stream each came from.
type logPrinter struct {
	stdout, stderr io.Writer
	timestamps     bool
	since, until   time.Time
}

func (p *logPrinter) print(entry jsonlog.Entry) {
	if entry.Time.Before(p.since) || (!p.until.IsZero() && entry.Time.After(p.until)) {
		return
	}
	w := p.stdout
	if entry.Stream == "stderr" {
		w = p.stderr
	}
	if p.timestamps {
		io.WriteString(w, entry.Time.Format(time.RFC3339Nano)+" ")
	}
	io.WriteString(w, entry.Log)
}

// readLogFile reads one whole rotated log file; a missing one is fine.
func readLogFile(path string, emit func(jsonlog.Entry)) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	defer f.Close()
	return newLogReader(f, emit).readAvailable()
}

// logReader reads the entries of a log file as they are written.
type logReader struct {
	f     *os.File
	lines *jsonLines[jsonlog.Entry]
	emit  func(jsonlog.Entry)
}

func newLogReader(f *os.File, emit func(jsonlog.Entry)) *logReader {
	return &logReader{f: f, lines: newJSONLines[jsonlog.Entry](f, "log"), emit: emit}
}

// readAvailable passes on every complete entry up to the end of the file.
func (r *logReader) readAvailable() error {
	return r.lines.readAvailable(func(e jsonlog.Entry) error { r.emit(e); return nil })
}

// followRotation moves on to the new log once the one being read was rotated away and read
// to its end.
func (r *logReader) followRotation(path string) error {
	var open, named os.FileInfo
	var err error
	if open, err = r.f.Stat(); err != nil {
		return err
	}
	if named, err = os.Stat(path); err != nil || os.SameFile(open, named) {
		return nil
	}
	if err := r.readAvailable(); err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	r.f.Close()
	r.f, r.lines = f, newJSONLines[jsonlog.Entry](f, "log")
	return nil
}
