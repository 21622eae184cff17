// Package buildcli is the builder's side of mydocker build: it runs a BuildRequest the
// command line parsed on the engine (engine/build) and says what happened as Docker's classic
// builder does. mydocker-build runs it for mydocker; a chapter's program runs it in its own
// process (commands.Program.Build).
package buildcli

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/mydocker/mydocker/engine"
	"github.com/mydocker/mydocker/engine/build"
	"github.com/mydocker/mydocker/mydocker/commands"
)

// Run builds req on the engine at root and returns the exit status: 0, the status of the RUN
// that failed (as docker build exits), or 1. With -q only the image's id is printed; what
// the build said goes to stderr if it fails.
func Run(root string, req commands.BuildRequest) int {
	out := os.Stdout
	if req.Quiet {
		f, err := os.CreateTemp("", "mydocker-build-*.log")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		os.Remove(f.Name()) // gone with the descriptor
		defer f.Close()
		out = f
	}
	img, err := run(root, req, out)
	if err != nil {
		if req.Quiet {
			out.Seek(0, io.SeekStart)
			io.Copy(os.Stderr, out)
		}
		fmt.Fprintln(os.Stderr, err)
		var se *build.StepError
		if errors.As(err, &se) && se.Code > 0 {
			return se.Code
		}
		return 1
	}
	if req.Quiet {
		fmt.Println(img)
	}
	return 0
}

// run builds req and returns the image's id.
func run(root string, req commands.BuildRequest, out *os.File) (string, error) {
	e, err := engine.New(root)
	if err != nil {
		return "", err
	}
	img, err := build.Build(e, build.Options{
		Context:    req.Context,
		Dockerfile: req.Dockerfile,
		Stdin:      os.Stdin,
		Tags:       req.Tags,
		BuildArgs:  req.BuildArgs,
		Target:     req.Target,
		NoCache:    req.NoCache,
		Labels:     req.Labels,
		Network:    req.Network,
		Remove:     req.Remove,
		Out:        out,
	})
	if err != nil {
		return "", err
	}
	return img.ID.String(), nil
}
