package runccli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v3"

	"github.com/mydocker/mydocker/cgroups"
	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/internal/fsutil"
)

// record is what the runtime keeps of a container, in ROOT/ID/state.json.
type record struct {
	ID      string            `json:"id"`
	Bundle  string            `json:"bundle"`
	Init    container.Process `json:"init"`
	Created time.Time         `json:"created"`
	Cgroups map[string]string `json:"cgroups,omitempty"` // cgroups.Manager.Paths
	Spec    *specs.Spec       `json:"spec"`              // as created, for exec and state
}

// store is the --root directory.
type store string

func storeOf(cmd *cli.Command) store { return store(cmd.Root().String("root")) }

func (s store) dir(id string) string  { return filepath.Join(string(s), id) }
func (s store) fifo(id string) string { return filepath.Join(s.dir(id), "exec.fifo") }

// load reads container id's record.
func (s store) load(id string) (*record, error) {
	if err := validID(id); err != nil {
		return nil, err
	}
	var r record
	if err := fsutil.ReadJSON(filepath.Join(s.dir(id), "state.json"), &r); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("container %s does not exist", id)
		}
		return nil, err
	}
	return &r, nil
}

func (s store) save(r *record) error {
	return fsutil.WriteJSON(filepath.Join(s.dir(r.ID), "state.json"), r)
}

// validID accepts the ids runc accepts: no path separators, nothing that is not a name.
func validID(id string) error {
	if id == "" {
		return errors.New("a container id is required")
	}
	if id == "." || id == ".." || strings.ContainsAny(id, "/\\\x00") || len(id) > 1024 {
		return fmt.Errorf("invalid container id %q", id)
	}
	return nil
}

// status is the container's state as the runtime spec names it.
func (s store) status(r *record) specs.ContainerState { return s.ociState(r).Status }

// cgroups is the container's cgroups manager, nil when it has none.
func (r *record) cgroups() cgroups.Manager {
	if len(r.Cgroups) == 0 {
		return nil
	}
	return cgroups.Load(r.Cgroups)
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// ociState is the state the runtime spec defines (runc's state adds a few fields): State, or
// lab 17's in a chapter built with -tags lab.
func (s store) ociState(r *record) specs.State {
	c := Container{ID: r.ID, Bundle: r.Bundle, Init: r.Init, ExecFifo: s.fifo(r.ID), Frozen: func() bool {
		cg := r.cgroups()
		return cg != nil && cg.Frozen()
	}}
	if r.Spec != nil {
		c.Annotations = r.Spec.Annotations
	}
	if f := Seams.State; f != nil {
		return f(c)
	}
	return State(c)
}

// Container is what the runtime knows of a container when it tells its state.
type Container struct {
	ID, Bundle  string
	Init        container.Process // its init: a pid and that process's start time
	Annotations map[string]string // the spec's
	ExecFifo    string            // the path of its exec fifo, there from create until start
	Frozen      func() bool       // whether its cgroups are frozen (pause)
}

// State is the container's state as the runtime spec defines it, what `state` prints and
// hooks read on their stdin. Its status follows the init: stopped once the init is not
// running (gone, or a zombie nobody reaped yet, or its pid now another process's: the start
// time tells); created while the exec fifo is there (the init waits on it); paused while its
// cgroups are frozen; running otherwise. The pid is the init's, but for a stopped container,
// which has none.
func State(c Container) specs.State {
	st := specs.State{Version: specs.Version, ID: c.ID, Bundle: c.Bundle, Annotations: c.Annotations}
	switch {
	case !c.Init.Running():
		st.Status = specs.StateStopped
	case fileExists(c.ExecFifo):
		st.Status = specs.StateCreated
	case c.Frozen():
		st.Status = "paused"
	default:
		st.Status = specs.StateRunning
	}
	if st.Status != specs.StateStopped {
		st.Pid = c.Init.Pid
	}
	return st
}

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func specVersion() string { return specs.Version }

// runHooks runs hooks of kind with the container's state as it is now.
func runHooks(s store, r *record, kind string, hooks []specs.Hook) error {
	state, err := json.Marshal(s.ociState(r))
	if err != nil {
		return err
	}
	return container.RunHooks(kind, hooks, state)
}
