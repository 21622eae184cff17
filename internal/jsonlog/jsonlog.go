// Package jsonlog writes a container's output as Docker's json-file log driver does: one JSON
// object per line ({"log":"...","stream":"stdout","time":"..."}), so stdout and stderr stay
// apart and every line has its time, rotated at a size. The engine writes it while it watches
// a container, and so does mydocker-shim, the small program that watches a detached one: this
// package writes its lines by hand, as Docker's driver does, and links no encoding/json, so
// that the shim stays small.
package jsonlog

import (
	"bufio"
	"errors"
	"io"
	"os"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// Entry is one line of a container's log.
type Entry struct {
	Log    string    `json:"log"`
	Stream string    `json:"stream"`
	Time   time.Time `json:"time"`
}

// MaxEntry is the most of a line one entry holds. A longer line, or one that never ends, is
// written in pieces, as Docker's json-file driver does (16 KiB): the writer's memory stays
// bounded, and a reader that prints the pieces one after the other gives the line back whole.
const MaxEntry = 16 << 10

// Config is the json-file driver's rotation (--log-opt max-size, max-file): with MaxSize set,
// a log that reaches it is renamed to .1 (and .1 to .2 ...), keeping MaxFile files in all.
// Zero: one file that grows.
type Config struct {
	MaxSize int64 `json:"max_size,omitempty"`
	MaxFile int   `json:"max_file,omitempty"`
}

// Writer appends entries from several streams to a log, a piece at a time, rotating it as its
// config says. What it cannot write or rotate goes to Warn, and the copy goes on.
type Writer struct {
	Warn func(error)

	mu   sync.Mutex
	path string
	cfg  Config
	f    *os.File
	size int64
}

// Open opens the log at path for appending.
func Open(path string, cfg Config) (*Writer, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &Writer{path: path, cfg: cfg, f: f, size: fi.Size(), Warn: func(error) {}}, nil
}

// Close closes the log.
func (l *Writer) Close() error { return l.f.Close() }

// Write logs one piece of stream's output.
func (l *Writer) Write(stream, piece string) {
	data := appendEntry(nil, Entry{Log: piece, Stream: stream, Time: time.Now().UTC()})
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cfg.MaxSize > 0 && l.size > 0 && l.size+int64(len(data)) > l.cfg.MaxSize {
		if err := l.rotate(); err != nil {
			l.Warn(err)
		}
	}
	n, err := l.f.Write(data)
	l.size += int64(n)
	if err != nil {
		l.Warn(err)
	}
}

// rotate shifts log.N-1 to log.N ... log to log.1 and starts a new log.
func (l *Writer) rotate() error {
	keep := max(l.cfg.MaxFile, 1)
	if keep == 1 {
		if err := l.f.Truncate(0); err != nil {
			return err
		}
		l.size = 0
		return nil
	}
	for i := keep - 1; i > 0; i-- {
		if err := os.Rename(Rotated(l.path, i-1), Rotated(l.path, i)); err != nil && !errors.Is(err, os.ErrNotExist) {
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

// Rotated is the name of the log rotated n times: path itself for 0, then path.1, path.2 ...
func Rotated(path string, n int) string {
	if n == 0 {
		return path
	}
	return path + "." + strconv.Itoa(n)
}

// CopyLines logs r as stream until it ends (EOF, or EIO from a terminal whose other side
// closed), a line or a MaxEntry piece of one at a time.
func (l *Writer) CopyLines(r io.Reader, stream string) {
	br := bufio.NewReaderSize(r, MaxEntry)
	for {
		piece, err := br.ReadSlice('\n')
		if len(piece) > 0 {
			l.Write(stream, string(piece))
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			return
		}
	}
}

// appendEntry appends e to buf as one line of the log: what encoding/json makes of an Entry
// (invalid UTF-8 becoming U+FFFD, <, > and & escaped), and a newline.
func appendEntry(buf []byte, e Entry) []byte {
	buf = append(buf, `{"log":`...)
	buf = appendString(buf, e.Log)
	buf = append(buf, `,"stream":`...)
	buf = appendString(buf, e.Stream)
	buf = append(buf, `,"time":"`...)
	buf = e.Time.AppendFormat(buf, time.RFC3339Nano)
	return append(buf, "\"}\n"...)
}

const hex = "0123456789abcdef"

// appendString appends s as a JSON string, escaped as encoding/json escapes it.
func appendString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				buf = append(buf, '\\', c)
			case c == '\n':
				buf = append(buf, '\\', 'n')
			case c == '\r':
				buf = append(buf, '\\', 'r')
			case c == '\t':
				buf = append(buf, '\\', 't')
			case c == '\b':
				buf = append(buf, '\\', 'b')
			case c == '\f':
				buf = append(buf, '\\', 'f')
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				buf = append(buf, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				buf = append(buf, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			buf = append(buf, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			buf = append(buf, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			buf = append(buf, s[i:i+size]...)
		}
		i += size
	}
	return append(buf, '"')
}
