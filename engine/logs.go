package engine

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// logEntry is one line of a container's log, in Docker's json-file format, so stdout and
// stderr stay apart and every line has its time.
type logEntry struct {
	Log    string    `json:"log"`
	Stream string    `json:"stream"`
	Time   time.Time `json:"time"`
}

// logWriter appends entries from several streams to one file, a whole line at a time.
type logWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *logWriter) write(stream, line string) {
	data, _ := json.Marshal(logEntry{Log: line, Stream: stream, Time: time.Now().UTC()})
	l.mu.Lock()
	defer l.mu.Unlock()
	l.w.Write(append(data, '\n'))
}

// copyLines logs r line by line until it ends (EOF, or EIO from a pty whose other side closed).
func (l *logWriter) copyLines(r io.Reader, stream string) {
	br := bufio.NewReaderSize(r, 32*1024)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			l.write(stream, line)
		}
		if err != nil {
			return
		}
	}
}

// LogOptions select what Logs prints.
type LogOptions struct {
	Follow bool // keep printing until the container stops
}

// Logs writes the container's log to stdout and stderr, each line to the stream it came from.
func (e *Engine) Logs(ref string, opts LogOptions, stdout, stderr io.Writer) error {
	st, err := e.Get(ref)
	if err != nil {
		return err
	}
	f, err := os.Open(e.containers.LogPath(st.ID))
	if errors.Is(err, os.ErrNotExist) {
		// A container run in the foreground printed to the terminal and has no log.
		return nil
	}
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	defer f.Close()
	r := &logReader{br: bufio.NewReader(f), stdout: stdout, stderr: stderr}
	for {
		if err := r.copyAvailable(); err != nil {
			return err
		}
		if !opts.Follow {
			return nil
		}
		// The monitor writes the last line before it records the exit: once the
		// container has stopped, one more pass drains the log.
		if cur, err := e.containers.Load(st.ID); err != nil || cur.Status == Exited {
			return r.copyAvailable()
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// logReader prints the entries of a log file as they are written.
type logReader struct {
	br             *bufio.Reader
	pending        string // a line whose end is not written yet
	stdout, stderr io.Writer
}

// copyAvailable prints every complete entry up to the end of the file.
func (r *logReader) copyAvailable() error {
	for {
		chunk, err := r.br.ReadString('\n')
		r.pending += chunk
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read log: %w", err)
		}
		var entry logEntry
		if json.Unmarshal([]byte(r.pending), &entry) == nil {
			w := r.stdout
			if entry.Stream == "stderr" {
				w = r.stderr
			}
			io.WriteString(w, entry.Log)
		}
		r.pending = ""
	}
}
