package engine

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// jsonLines reads a file of JSON lines (a container's log, the events) as they are written:
// a line whose end is not written yet waits for the next read, and one that is not a T is
// skipped.
type jsonLines[T any] struct {
	br      *bufio.Reader
	pending []byte // a line whose end is not written yet
	what    string // what is read, for errors
}

func newJSONLines[T any](r io.Reader, what string) *jsonLines[T] {
	return &jsonLines[T]{br: bufio.NewReader(r), what: what}
}

// readAvailable passes fn each whole line up to the end of what is written.
func (r *jsonLines[T]) readAvailable(fn func(T) error) error {
	for {
		chunk, err := r.br.ReadBytes('\n')
		r.pending = append(r.pending, chunk...)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", r.what, err)
		}
		var v T
		ok := json.Unmarshal(r.pending, &v) == nil
		r.pending = r.pending[:0]
		if !ok {
			continue
		}
		if err := fn(v); err != nil {
			return err
		}
	}
}
