package engine

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
)

// logEntry is one line of a container's log, in Docker's json-file format, so stdout and
// stderr stay apart and every line has its time.
type logEntry struct {
	Log    string    `json:"log"`
	Stream string    `json:"stream"`
	Time   time.Time `json:"time"`
}

// maxEntry is the most of a line one entry holds. A longer line, or one that never ends, is
// written in pieces, as Docker's json-file driver does (16 KiB): the monitor's memory stays
// bounded, and logs prints the pieces one after the other, which gives the line back whole.
const maxEntry = 16 << 10

// LogConfig is the json-file driver's rotation (--log-opt max-size, max-file): with MaxSize
// set, a log that reaches it is renamed to .1 (and .1 to .2 ...), keeping MaxFile files in
// all. Zero: one file that grows.
type LogConfig struct {
	MaxSize int64 `json:"max_size,omitempty"`
	MaxFile int   `json:"max_file,omitempty"`
}

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

// logWriter appends entries from several streams to a container's log, a piece at a time,
// rotating it as its config says.
type logWriter struct {
	mu   sync.Mutex
	path string
	cfg  LogConfig
	f    *os.File
	size int64
}

func openLog(path string, cfg LogConfig) (*logWriter, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open log: %w", err)
	}
	return &logWriter{path: path, cfg: cfg, f: f, size: fi.Size()}, nil
}

func (l *logWriter) Close() error { return l.f.Close() }

func (l *logWriter) write(stream, piece string) {
	data, _ := json.Marshal(logEntry{Log: piece, Stream: stream, Time: time.Now().UTC()})
	data = append(data, '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cfg.MaxSize > 0 && l.size > 0 && l.size+int64(len(data)) > l.cfg.MaxSize {
		if err := l.rotate(); err != nil {
			logrus.WithField("log", l.path).WithError(err).Warn("could not rotate the log")
		}
	}
	n, err := l.f.Write(data)
	l.size += int64(n)
	if err != nil {
		logrus.WithField("log", l.path).WithError(err).Warn("could not write the log")
	}
}

// rotate shifts log.N-1 to log.N ... log to log.1 and starts a new log.
func (l *logWriter) rotate() error {
	keep := max(l.cfg.MaxFile, 1)
	if keep == 1 {
		if err := l.f.Truncate(0); err != nil {
			return err
		}
		l.size = 0
		return nil
	}
	for i := keep - 1; i > 0; i-- {
		from := rotated(l.path, i-1)
		if err := os.Rename(from, rotated(l.path, i)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	f, err := os.OpenFile(l.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	l.f.Close()
	l.f, l.size = f, 0
	return nil
}

// rotated is the name of the log rotated n times: path itself for 0, then path.1, path.2 ...
func rotated(path string, n int) string {
	if n == 0 {
		return path
	}
	return path + "." + strconv.Itoa(n)
}

// copyLines logs r until it ends (EOF, or EIO from a pty whose other side closed), a line or
// a maxEntry piece of one at a time.
func (l *logWriter) copyLines(r io.Reader, stream string) {
	br := bufio.NewReaderSize(r, maxEntry)
	for {
		piece, err := br.ReadSlice('\n')
		if len(piece) > 0 {
			l.write(stream, string(piece))
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			return
		}
	}
}

// LogOptions select what Logs prints.
type LogOptions struct {
	Follow     bool      // keep printing until the container stops
	Tail       int       // only the last Tail lines of what is logged so far; < 0: all
	Timestamps bool      // each line after the time it was logged (RFC 3339, nanoseconds)
	Since      time.Time // only what was logged from then on; zero: all
}

// Logs writes the container's log to stdout and stderr, each piece to the stream it came
// from: the rotated files first, oldest first, then the current one.
func (e *Engine) Logs(ref string, opts LogOptions, stdout, stderr io.Writer) error {
	st, err := e.Get(ref)
	if err != nil {
		return err
	}
	out := &logPrinter{stdout: stdout, stderr: stderr, timestamps: opts.Timestamps, since: opts.Since}
	emit := out.print
	var tail []logEntry // the last opts.Tail entries so far, when tailing
	if opts.Tail >= 0 {
		emit = func(entry logEntry) {
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
		if err := readLogFile(rotated(path, n), emit); err != nil {
			return err
		}
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		// A foreground container with a terminal printed to it, and has no log.
		return nil
	}
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	r := &logReader{f: f, br: bufio.NewReader(f), emit: emit}
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
		if err := r.followRotation(path); err != nil {
			return err
		}
		time.Sleep(100 * time.Millisecond)
		if err := r.readAvailable(); err != nil {
			return err
		}
	}
	return nil
}

// logPrinter writes log entries to the stream each came from.
type logPrinter struct {
	stdout, stderr io.Writer
	timestamps     bool
	since          time.Time
}

func (p *logPrinter) print(entry logEntry) {
	if entry.Time.Before(p.since) {
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
func readLogFile(path string, emit func(logEntry)) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	defer f.Close()
	return (&logReader{f: f, br: bufio.NewReader(f), emit: emit}).readAvailable()
}

// logReader reads the entries of a log file as they are written.
type logReader struct {
	f       *os.File
	br      *bufio.Reader
	pending []byte // an entry whose end is not written yet
	emit    func(logEntry)
}

// readAvailable passes on every complete entry up to the end of the file.
func (r *logReader) readAvailable() error {
	for {
		chunk, err := r.br.ReadBytes('\n')
		r.pending = append(r.pending, chunk...)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read log: %w", err)
		}
		var entry logEntry
		if json.Unmarshal(r.pending, &entry) == nil {
			r.emit(entry)
		}
		r.pending = r.pending[:0]
	}
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
	r.f, r.br, r.pending = f, bufio.NewReader(f), nil
	return nil
}
