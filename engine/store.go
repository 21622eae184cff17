package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/internal/fsutil"
	"github.com/mydocker/mydocker/internal/names"
	"github.com/mydocker/mydocker/network"
)

// Status words, as Docker's.
const (
	Created = "created"
	Running = "running"
	Exited  = "exited"
	// Dead is reported, never stored: the container's watcher died (see Engine.Get).
	Dead = "dead"
)

var (
	// ErrNotFound is returned when no container matches a name or id.
	ErrNotFound = errors.New("no such container")
	// ErrNameInUse is returned when --name is taken.
	ErrNameInUse = errors.New("name already in use")
)

// State is what the store keeps about one container beside its spec.
type State struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Image      string    `json:"image"`    // the reference the user gave
	ImageID    string    `json:"image_id"` // the image config digest
	Created    time.Time `json:"created"`
	Status     string    `json:"status"`
	Pid        int       `json:"pid,omitempty"`
	PidStart   uint64    `json:"pid_start,omitempty"` // start time of Pid, to tell it from a reused pid
	StartedAt  time.Time `json:"started_at,omitzero"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
	ExitCode   int       `json:"exit_code"`
	OOMKilled  bool      `json:"oom_killed,omitempty"`
	Error      string    `json:"error,omitempty"`
	Driver     string    `json:"driver"`
	AutoRemove bool      `json:"auto_remove,omitempty"`
	Detached   bool      `json:"detached,omitempty"`
	NoPivot    bool      `json:"no_pivot,omitempty"`
	Init       bool      `json:"init,omitempty"`       // run --init
	OpenStdin  bool      `json:"open_stdin,omitempty"` // -i with a monitor: stdin through it
	// Config is the container's config in the image's terms: what commit records.
	Config ocispec.ImageConfig `json:"config"`
	// Cgroups are the container's cgroup directories (cgroups.Manager.Paths), saved because
	// another mydocker process would resolve them from its own cgroup.
	Cgroups map[string]string `json:"cgroups,omitempty"`
	// Network is "none", "host" or the first bridge network the container is attached to; IP
	// its address there. PortBindings are the ports it asked to publish (-p; -P's with host port
	// 0, any), Ports those it publishes while it runs, with their host ports.
	Network      string                `json:"network"`
	Networks     []NetworkAttachment   `json:"networks"`        // the bridge networks it joins; [] once disconnected from all
	Links        []string              `json:"links,omitempty"` // --link NAME[:ALIAS]
	IP           string                `json:"ip,omitempty"`
	PortBindings []network.PortMapping `json:"port_bindings,omitempty"`
	Ports        []network.PortMapping `json:"ports,omitempty"`
	// Rootfs is the mount the init makes for the root filesystem (nil for vfs).
	Rootfs *specs.Mount `json:"rootfs,omitempty"`
	// LogConfig is the log's rotation.
	LogConfig LogConfig `json:"log_config,omitzero"`
	// HostConfig is what the user asked of the container's confinement, as inspect shows it.
	HostConfig HostConfig `json:"host_config"`
	// Etc is what the user added to /etc/hosts and /etc/resolv.conf, kept for the rewrite
	// of /etc/hosts once the container has an address.
	Etc network.EtcOptions `json:"etc,omitzero"`
	// StopTimeout is the seconds stop waits before SIGKILL when not told; nil: 10.
	StopTimeout *int `json:"stop_timeout,omitempty"`
	// RestartPolicy says when the monitor starts the container again; RestartCount how many
	// times it has.
	RestartPolicy RestartPolicy `json:"restart_policy,omitzero"`
	RestartCount  int           `json:"restart_count,omitempty"`
	// NewVolumes are the named volumes made for this container (first used by it): removed
	// with it when it does not start, kept once it has.
	NewVolumes []string `json:"new_volumes,omitempty"`
	// AnonymousVolumes are the volumes made for it without a name of the user's (-v /path,
	// the image's VOLUMEs): removed with a --rm container, as Docker does.
	AnonymousVolumes []string `json:"anonymous_volumes,omitempty"`
	// Waiting marks a container made by create, or one start is starting again: it runs
	// under no watcher, and a start that fails leaves it here (run's containers are removed).
	Waiting bool `json:"waiting,omitempty"`
	// CleanupError is what could not be given back when the container stopped (a cgroup that
	// would not go, a rule iptables refused to delete), for inspect to show.
	CleanupError string `json:"cleanup_error,omitempty"`
	// Broken marks a container whose state file cannot be read (Store.broken).
	Broken bool `json:"-"`
}

// HostConfig records the confinement options as the user gave them (the spec holds what
// they became).
type HostConfig struct {
	CapAdd      []string `json:"cap_add,omitempty"`
	CapDrop     []string `json:"cap_drop,omitempty"`
	Privileged  bool     `json:"privileged,omitempty"`
	SecurityOpt []string `json:"security_opt,omitempty"`
	UsernsMode  string   `json:"userns_mode,omitempty"`
}

// process names the container's init for good.
func (st *State) process() container.Process {
	return container.Process{Pid: st.Pid, Start: st.PidStart}
}

// Store keeps one directory per container under <root>/containers.
type Store struct {
	dir string
}

// OpenStore opens (and creates) the container store under root.
func OpenStore(root string) (*Store, error) {
	dir := filepath.Join(root, "containers")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open container store: %w", err)
	}
	return &Store{dir: dir}, nil
}

// Dir is the container's directory: config.json, state.json, its log and its rootfs layer.
func (s *Store) Dir(id string) string { return filepath.Join(s.dir, id) }

func (s *Store) statePath(id string) string      { return filepath.Join(s.dir, id, "state.json") }
func (s *Store) specPath(id string) string       { return filepath.Join(s.dir, id, "config.json") }
func (s *Store) LogPath(id string) string        { return filepath.Join(s.dir, id, "container-json.log") }
func (s *Store) ownerPath(id string) string      { return filepath.Join(s.dir, id, "owner.lock") }
func (s *Store) monitorLogPath(id string) string { return filepath.Join(s.dir, id, "monitor.log") }
func (s *Store) layerDir(id string) string       { return filepath.Join(s.dir, id, "fs") }
func (s *Store) etcDir(id string) string         { return filepath.Join(s.dir, id, "etc") }
func (s *Store) lock() (*fsutil.Lock, error)     { return fsutil.LockFile(filepath.Join(s.dir, ".lock")) }

// stateLock serializes the load-modify-save of one container's state (Update): the watcher
// recording an exit, a rename, a start. It is not the owner lock, which the watcher holds for
// the container's whole life; this one is held for one edit.
func (s *Store) stateLock(id string) (*fsutil.Lock, error) {
	return fsutil.LockFileInDir(filepath.Join(s.dir, id, "state.lock"))
}

// Reserve makes the directory of the new container st.ID, takes its owner lock and claims its
// name (a random one, put in st.Name, if it has none), all under the store lock: whoever holds
// the owner lock watches the container, and a lock nobody holds tells a later ps that the
// watcher died. From here the name is taken (a directory without state whose creator holds its
// owner lock holds its name: hasName) and Prune leaves the directory alone; the container is
// not listed until Publish writes its state. The name is claimed in the name index before the
// state is written: a crash in between leaves a link to a container with no state, which the
// next claim of the name finds stale.
func (s *Store) Reserve(st *State) (*fsutil.Lock, error) {
	if !names.IsID(st.ID) {
		return nil, fmt.Errorf("invalid container id %q", st.ID)
	}
	if st.Name != "" {
		if err := names.Validate("container", st.Name); err != nil {
			return nil, err
		}
	}
	l, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer l.Unlock()
	if err := s.ensureIndex(); err != nil {
		return nil, err
	}
	if err := os.Mkdir(s.Dir(st.ID), 0o700); err != nil {
		return nil, fmt.Errorf("create container directory: %w", err)
	}
	owner, err := fsutil.LockFile(s.ownerPath(st.ID))
	if err != nil {
		os.RemoveAll(s.Dir(st.ID))
		return nil, err
	}
	if err := s.claimNameOf(st); err != nil {
		owner.Unlock()
		os.RemoveAll(s.Dir(st.ID))
		return nil, err
	}
	return owner, nil
}

// claimNameOf claims st.Name for st, or a random name when it has none. Under the store lock.
func (s *Store) claimNameOf(st *State) error {
	if st.Name != "" {
		holder, err := s.claimName(st.Name, st.ID)
		if err != nil && holder != "" {
			return fmt.Errorf("conflict: the container name \"/%s\" is already in use by container %q; remove (mydocker rm %s) or rename that container to reuse the name: %w",
				st.Name, holder, st.Name, ErrNameInUse)
		}
		return err
	}
	for i := 0; ; i++ {
		name := randomName()
		if i > 10 {
			name = fmt.Sprintf("%s%d", name, i)
		}
		holder, err := s.claimName(name, st.ID)
		if err == nil {
			st.Name = name
			return nil
		}
		if holder == "" {
			return err
		}
	}
}

// Publish writes the first state of a reserved container: from then on it is listed.
func (s *Store) Publish(st *State) error {
	if !names.IsID(st.ID) {
		return fmt.Errorf("invalid container id %q", st.ID)
	}
	return s.write(st)
}

// Prune removes the directories of containers that were never published because the
// mydocker that made them died: no state, and nobody holds the owner lock.
func (s *Store) Prune() error {
	l, err := s.lock()
	if err != nil {
		return err
	}
	defer l.Unlock()
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("list containers: %w", err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), removingPrefix) {
			if err := os.RemoveAll(filepath.Join(s.dir, e.Name())); err != nil {
				return fmt.Errorf("finish the removal of %s: %w", e.Name(), err)
			}
			continue
		}
		if !e.IsDir() || !names.IsID(e.Name()) { // the name index, among others
			continue
		}
		if _, err := os.Stat(s.statePath(e.Name())); !errors.Is(err, os.ErrNotExist) {
			continue
		}
		owner, ok, err := fsutil.TryLockFile(s.ownerPath(e.Name()))
		if err != nil || !ok {
			continue
		}
		err = os.RemoveAll(s.Dir(e.Name()))
		owner.Unlock()
		if err != nil {
			return fmt.Errorf("remove unfinished container %s: %w", container.ShortID(e.Name()), err)
		}
	}
	return nil
}

// SaveSpec writes the runtime spec of container st (config.json, as in an OCI bundle), as
// durably as its state (see write).
func (s *Store) SaveSpec(st *State, spec *specs.Spec) error {
	if !names.IsID(st.ID) {
		return fmt.Errorf("invalid container id %q", st.ID)
	}
	// Compact, as runc's config.json: the seccomp profile alone is some 25 KB indented.
	data, err := json.Marshal(container.OnLinux(spec))
	if err != nil {
		return fmt.Errorf("encode the spec of %s: %w", container.ShortID(st.ID), err)
	}
	if st.AutoRemove {
		return fsutil.UpdateFile(s.specPath(st.ID), data, 0o600)
	}
	return fsutil.WriteFileAtomic(s.specPath(st.ID), data, 0o600)
}

// write publishes a container's state. Other mydocker processes see the new version whole
// (the rename) whether or not it reached the disk; the disk matters only after a host crash.
// Then a container that stays must come back as it was recorded, so its state waits for the
// disk (fsync). A --rm container's does not: a crash kills it, and whatever the disk holds of
// it then is removed — no state is an unfinished container (Prune), a state that says Created
// or Running a dead one that repair removes (it is AutoRemove), and a state the crash left
// empty a broken one that rm removes. Two fsyncs were a fifth of a --rm start here.
func (s *Store) write(st *State) error {
	if st.AutoRemove {
		return fsutil.UpdateJSON(s.statePath(st.ID), st)
	}
	return fsutil.WriteJSON(s.statePath(st.ID), st)
}

// Update applies edit to the container's state as it is on disk now, under the container's
// state lock, and writes the result (see write): two processes that change the same container
// at once each change what the other wrote, never an older copy of it. edit must only change
// the state it is given: it runs under the lock. Update returns the state written.
func (s *Store) Update(id string, edit func(st *State)) (*State, error) {
	if !names.IsID(id) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	l, err := s.stateLock(id)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, err
	}
	defer l.Unlock()
	st, err := s.Load(id)
	if err != nil {
		return nil, err
	}
	if st.Broken {
		return nil, fmt.Errorf("container %s: %s", container.ShortID(id), st.Error)
	}
	edit(st)
	return st, s.write(st)
}

// Rename gives container id the name, which must be free, and frees its old one.
func (s *Store) Rename(id, name string) error {
	if err := names.Validate("container", name); err != nil {
		return err
	}
	l, err := s.lock()
	if err != nil {
		return err
	}
	defer l.Unlock()
	if err := s.ensureIndex(); err != nil {
		return err
	}
	st, err := s.Load(id)
	if err != nil {
		return err
	}
	if st.Name == name {
		return fmt.Errorf("renaming a container with the same name as its current name")
	}
	if holder, err := s.claimName(name, id); err != nil {
		if holder == "" {
			return err
		}
		return fmt.Errorf("conflict: the container name \"/%s\" is already in use by container %q; remove (mydocker rm %s) or rename that container to reuse the name: %w",
			name, holder, name, ErrNameInUse)
	}
	var old string
	if _, err := s.Update(id, func(st *State) { old, st.Name = st.Name, name }); err != nil {
		os.Remove(s.namePath(name))
		return err
	}
	if holder, err := os.Readlink(s.namePath(old)); err == nil && holder == id {
		os.Remove(s.namePath(old))
	}
	return nil
}

// Load reads one container's state by exact id.
func (s *Store) Load(id string) (*State, error) {
	if !names.IsID(id) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	var st State
	if err := fsutil.ReadJSON(s.statePath(id), &st); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
		}
		return s.broken(id, err), nil
	}
	return &st, nil
}

// broken stands for a container whose state file cannot be read (truncated by a full disk,
// edited by hand): one broken container, listed as Dead with the reason, which rm -f removes
// — never an error that stops ps, run or rm for all the others.
func (s *Store) broken(id string, err error) *State {
	st := &State{ID: id, Status: Dead, Broken: true, Error: "its state cannot be read: " + err.Error()}
	if fi, err := os.Stat(s.Dir(id)); err == nil {
		st.Created = fi.ModTime().UTC()
	}
	return st
}

// Spec reads the container's runtime spec.
func (s *Store) Spec(id string) (*specs.Spec, error) {
	if !names.IsID(id) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	var spec container.LinuxSpec
	if err := fsutil.ReadJSON(s.specPath(id), &spec); err != nil {
		return nil, err
	}
	return spec.Spec(), nil
}

// List returns every container's state, newest first.
func (s *Store) List() ([]*State, error) {
	return s.list()
}

func (s *Store) list() ([]*State, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	var ids []string
	for _, e := range entries {
		if e.IsDir() && names.IsID(e.Name()) {
			ids = append(ids, e.Name())
		}
	}
	// Read and decode on every CPU: with hundreds of containers, ps is that work.
	states := make([]*State, len(ids))
	errs := make([]error, len(ids))
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < min(runtime.GOMAXPROCS(0), len(ids)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < len(ids); i = int(next.Add(1) - 1) {
				states[i], errs[i] = s.Load(ids[i])
			}
		}()
	}
	wg.Wait()
	out := states[:0]
	for i, st := range states {
		if errors.Is(errs[i], ErrNotFound) {
			// A container is published by its state file (Add): without one it is
			// being created, or its creator died (Prune).
			continue
		}
		if errs[i] != nil {
			return nil, errs[i]
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return out, nil
}

// Find resolves a container by full id, name or unique id prefix, as Docker does. It reads the
// state of the container it finds and no other: the name index says where a name points (and
// is checked against the state it finds), an id prefix is matched against directory names.
func (s *Store) Find(ref string) (*State, error) {
	if names.IsID(ref) {
		return s.Load(ref)
	}
	name := strings.TrimPrefix(ref, "/")
	if id, err := os.Readlink(s.namePath(name)); err == nil {
		if st, err := s.Load(id); err == nil && st.Name == name {
			return st, nil
		}
	} else if _, err := os.Stat(s.indexDir()); errors.Is(err, os.ErrNotExist) {
		if err := s.buildIndex(); err != nil {
			return nil, err
		}
		return s.Find(ref)
	}
	if ref == "" || !names.IsHex(ref) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, ref)
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	var match []*State
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), ref) || !names.IsID(e.Name()) {
			continue
		}
		st, err := s.Load(e.Name())
		if errors.Is(err, ErrNotFound) {
			continue // not published
		}
		if err != nil {
			return nil, err
		}
		match = append(match, st)
	}
	switch len(match) {
	case 1:
		return match[0], nil
	case 0:
		return nil, fmt.Errorf("%w: %s", ErrNotFound, ref)
	default:
		return nil, fmt.Errorf("multiple containers match %q: use more of the id", ref)
	}
}

// The name index: <root>/containers/.names/NAME, a symlink to the id of the container that
// holds the name. A link is created (atomically: symlink fails if the name exists) before the
// container's state, and removed after its directory, so a published container always has
// its link; a link may be stale (its container gone, or never published), and is then
// replaced by the next claim.
func (s *Store) indexDir() string            { return filepath.Join(s.dir, ".names") }
func (s *Store) namePath(name string) string { return filepath.Join(s.indexDir(), name) }

// claimName points name at id. When another container holds it, holder is that one's id.
func (s *Store) claimName(name, id string) (holder string, err error) {
	for {
		err := os.Symlink(id, s.namePath(name))
		if !errors.Is(err, os.ErrExist) {
			return "", err
		}
		other, rerr := os.Readlink(s.namePath(name))
		if rerr == nil && s.hasName(other, name) {
			return other, ErrNameInUse
		}
		if err := os.Remove(s.namePath(name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("replace the stale name %s: %w", name, err)
		}
	}
}

// hasName reports whether container id has name: its state says so (a broken state, which
// cannot say, is taken to), or it is being created (a directory without state whose creator
// still holds its owner lock).
func (s *Store) hasName(id, name string) bool {
	st, err := s.Load(id)
	if err == nil {
		return st.Broken || st.Name == name
	}
	creating, err := s.creating(id)
	return err == nil && creating
}

// creatorDied reports whether container id was never published because its creator died: no
// state, and nobody holds its owner lock. The state is looked at again once the lock was found
// free: a creator that published the container and let go of the lock meanwhile (create)
// did not die.
func (s *Store) creatorDied(id string) (bool, error) {
	published := func() (bool, error) {
		_, err := os.Stat(s.statePath(id))
		if errors.Is(err, os.ErrNotExist) {
			return false, nil
		}
		return err == nil, err
	}
	if ok, err := published(); ok || err != nil {
		return false, err
	}
	if creating, err := s.creating(id); creating || err != nil {
		return false, err
	}
	ok, err := published()
	return !ok && err == nil, err
}

// creating reports whether container id, not published, is being created: its creator still
// holds its owner lock (Reserve). A directory gone meanwhile is not.
func (s *Store) creating(id string) (bool, error) {
	if _, err := os.Stat(s.Dir(id)); errors.Is(err, os.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	owner, free, err := fsutil.TryLockFile(s.ownerPath(id))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if free {
		owner.Unlock()
	}
	return !free, nil
}

// ensureIndex builds the name index of a store made before it existed. Under the store lock.
func (s *Store) ensureIndex() error {
	if _, err := os.Stat(s.indexDir()); !errors.Is(err, os.ErrNotExist) {
		return err
	}
	all, err := s.list()
	if err != nil {
		return err
	}
	tmp := s.indexDir() + ".new"
	os.RemoveAll(tmp)
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return fmt.Errorf("build the name index: %w", err)
	}
	for _, st := range all {
		if st.Name != "" {
			if err := os.Symlink(st.ID, filepath.Join(tmp, st.Name)); err != nil && !errors.Is(err, os.ErrExist) {
				return fmt.Errorf("build the name index: %w", err)
			}
		}
	}
	if err := os.Rename(tmp, s.indexDir()); err != nil {
		return fmt.Errorf("build the name index: %w", err)
	}
	return nil
}

// buildIndex takes the store lock and builds the index (for a read that found none).
func (s *Store) buildIndex() error {
	l, err := s.lock()
	if err != nil {
		return err
	}
	defer l.Unlock()
	return s.ensureIndex()
}

// Delete removes the container's directory, and its name (given, for a container that was
// never published; "" reads it from the state). Mounts and cgroups must be gone already. The
// directory is first renamed out of the store, so that the container is gone at once for every
// reader, not file by file (its holds with it); Prune finishes what a crash left of such a
// removal.
func (s *Store) Delete(id, name string) error {
	if !names.IsID(id) {
		return fmt.Errorf("invalid container id %q", id)
	}
	l, err := s.lock()
	if err != nil {
		return err
	}
	if st, err := s.Load(id); err == nil && !st.Broken {
		name = st.Name
	}
	trash := filepath.Join(s.dir, removingPrefix+id)
	if err := os.Rename(s.Dir(id), trash); err != nil && !errors.Is(err, os.ErrNotExist) {
		l.Unlock()
		return fmt.Errorf("remove container %s: %w", container.ShortID(id), err)
	}
	// After the directory: a crash in between leaves a stale link, never a container
	// without its link.
	if name != "" {
		if holder, err := os.Readlink(s.namePath(name)); err == nil && holder == id {
			os.Remove(s.namePath(name))
		}
	}
	l.Unlock() // the files go without holding up other commands
	if err := os.RemoveAll(trash); err != nil {
		return fmt.Errorf("remove container %s: %w", container.ShortID(id), err)
	}
	return nil
}

// removingPrefix names a container directory being removed (Delete).
const removingPrefix = ".removing-"
