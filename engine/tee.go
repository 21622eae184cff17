package engine

import (
	"io"
	"os"
	"sync"
	"time"

	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/internal/jsonlog"
)

// teeOutput gives a foreground container pipes for stdout and stderr, and copies what comes
// out of each to the caller's file and to the container's log, as Docker logs a container
// run in the foreground.
type teeOutput struct {
	stdio   container.Stdio // what the container gets
	to      container.Stdio // the caller's
	readers [2]*os.File
	copiers sync.WaitGroup
	log     *jsonlog.Writer
	closed  sync.Once
}

func newTeeOutput(to container.Stdio) (*teeOutput, error) {
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, err
	}
	return &teeOutput{stdio: container.Stdio{Stdin: to.Stdin, Stdout: outW, Stderr: errW}, to: to, readers: [2]*os.File{outR, errR}}, nil
}

// started closes this process's write ends once the container's init has its own: the copies
// then end when the container's output does.
func (t *teeOutput) started() {
	t.stdio.Stdout.Close()
	t.stdio.Stderr.Close()
}

// copy starts copying to the caller's files and to the log at path.
func (t *teeOutput) copy(path string, cfg LogConfig) error {
	log, err := openLog(path, cfg)
	if err != nil {
		return err
	}
	t.log = log
	for i, to := range []*os.File{t.to.Stdout, t.to.Stderr} {
		stream := [2]string{"stdout", "stderr"}[i]
		var dst io.Writer = io.Discard
		if to != nil {
			dst = to
		}
		r := t.readers[i]
		t.copiers.Add(1)
		go func() {
			defer t.copiers.Done()
			log.CopyLines(io.TeeReader(r, dst), stream)
			io.Copy(dst, r) // should the log have failed, the caller still gets the rest
		}()
	}
	return nil
}

// close waits (bounded: a process the container left behind may hold the pipes) for the
// copies to end, and closes the pipes and the log.
func (t *teeOutput) close() {
	t.closed.Do(func() {
		if t.log != nil {
			waitTimeout(&t.copiers, 2*time.Second)
			t.log.Close()
		}
		t.readers[0].Close()
		t.readers[1].Close()
	})
}
