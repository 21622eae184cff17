package build

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/engine"
	"github.com/mydocker/mydocker/runconfig"
	"github.com/mydocker/mydocker/workspace"
)

// runStep runs cmd in a container of the stage's image, with the stage's environment, user
// and working directory and the build args beside, and returns the layer of what it wrote
// ("" when it wrote nothing). A command that fails is a StepError.
func (b *builder) runStep(s *stageState, cmd, args []string) (digest.Digest, error) {
	opts := &engine.Options{
		Options: runconfig.Options{
			Cmd:        cmd,
			Entrypoint: []string{}, // the image's cleared: the step's command is all there is
			Env:        append(append([]string{}, s.config.Env...), args...),
			Workdir:    s.config.WorkingDir,
		},
		Image:      s.image.ID.String(),
		User:       s.config.User,
		Networks:   networks(b.opts.Network),
		AutoRemove: b.opts.Remove,
	}
	var id string
	var layer digest.Digest
	stdio := container.Stdio{Stdout: b.opts.Out, Stderr: b.opts.Out}
	code, err := b.e.RunStep(opts, stdio, func(cid string) {
		id = cid
		fmt.Fprintf(b.out, " ---> Running in %s\n", container.ShortID(cid))
	}, func(changes io.Reader, empty bool) error {
		if empty {
			return nil
		}
		var err error
		layer, err = b.lease.AddLayer(changes)
		return err
	})
	if err != nil {
		return "", err
	}
	if code != 0 {
		return "", &StepError{Command: strings.Join(cmd, " "), Code: code}
	}
	if b.opts.Remove {
		fmt.Fprintf(b.out, "Removing intermediate container %s\n", container.ShortID(id))
	}
	return layer, nil
}

// networks is --network as the engine takes it: none given, the default bridge network.
func networks(name string) []string {
	if name == "" {
		return nil
	}
	return []string{name}
}

// baseImage is the image FROM names, held by the build's lease. One the store lacks is
// pulled when the name says which registry has it (a host with a dot or a port, or
// localhost), by mydocker-registry beside this program; otherwise the error says so.
func (b *builder) baseImage(name string) (*workspace.Image, error) {
	img, err := b.lease.HoldImage(name)
	if err == nil || !errors.Is(err, workspace.ErrImageNotFound) {
		return img, err
	}
	if !namesRegistry(name) {
		return nil, fmt.Errorf("FROM %s: the store has no such image (import or load it, or name the registry to pull it from): %w", name, err)
	}
	if perr := b.pull(name); perr != nil {
		return nil, fmt.Errorf("FROM %s: the store has no such image, and the pull failed: %w", name, perr)
	}
	return b.lease.HoldImage(name)
}

// namesRegistry reports whether an image name starts with a registry's host.
func namesRegistry(name string) bool {
	host, _, ok := strings.Cut(name, "/")
	return ok && (strings.ContainsAny(host, ".:") || host == "localhost")
}

// pull runs mydocker-registry pull, beside this program, into the build's root.
func (b *builder) pull(name string) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	helper := filepath.Join(filepath.Dir(exe), "mydocker-registry")
	c := exec.Command(helper, "-q", "pull", b.e.Root(), name)
	c.Stdout, c.Stderr = b.out, b.out
	return c.Run()
}

// writeLayer makes the stage's next layer with write (what COPY, ADD and WORKDIR add): the
// tar is written as the store unpacks it, and held by the build's lease. "" when write wrote
// nothing.
func (b *builder) writeLayer(s *stageState, write func(w *layerWriter) error) (digest.Digest, error) {
	var image *workspace.Union
	if s.image != nil {
		layers, err := b.store.LayerDirs(s.image)
		if err != nil {
			return "", err
		}
		image = workspace.NewUnion(layers)
	}
	pr, pw := io.Pipe()
	started := make(chan bool, 1) // whether write wrote anything
	w := newLayerWriter(pw, image, func() { started <- true })
	done := make(chan error, 1)
	go func() {
		err := write(w)
		if err == nil {
			err = w.close()
		}
		if w.entries == 0 {
			started <- false
		}
		pw.CloseWithError(err)
		done <- err
	}()
	if !<-started {
		pr.Close()
		return "", <-done
	}
	layer, err := b.lease.AddLayer(pr)
	pr.CloseWithError(err)
	if werr := <-done; werr != nil {
		return "", werr
	}
	if err != nil {
		return "", err
	}
	return layer, nil
}
