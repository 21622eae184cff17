package engine

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"time"

	"golang.org/x/sys/unix"
)

// Volume is a named volume: a directory the engine keeps, at Mountpoint, that outlives the
// containers that mount it (-v NAME:/path).
type Volume struct {
	Name       string
	Driver     string
	Mountpoint string
	CreatedAt  time.Time
}

// ErrNoSuchVolume is returned for a volume name that does not exist.
var ErrNoSuchVolume = errors.New("no such volume")

// volumeName is Docker's rule for volume names.
var volumeName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)

// IsVolumeName reports whether the first part of -v NAME:/path names a volume rather than a
// host path.
func IsVolumeName(s string) bool { return volumeName.MatchString(s) }

func (e *Engine) volumesDir() string { return filepath.Join(e.root, "volumes") }

func (e *Engine) volume(name string) (Volume, error) {
	dir := filepath.Join(e.volumesDir(), name)
	fi, err := os.Stat(dir)
	if errors.Is(err, os.ErrNotExist) || !IsVolumeName(name) {
		return Volume{}, fmt.Errorf("%w: %s", ErrNoSuchVolume, name)
	}
	if err != nil {
		return Volume{}, err
	}
	return Volume{Name: name, Driver: "local", Mountpoint: filepath.Join(dir, "_data"), CreatedAt: fi.ModTime().UTC()}, nil
}

// VolumeCreate makes a named volume (a random name when name is empty); one that exists is
// returned as it is, as Docker does.
func (e *Engine) VolumeCreate(name string) (Volume, error) {
	if name == "" {
		b := make([]byte, 32)
		rand.Read(b)
		name = hex.EncodeToString(b)
	}
	if !IsVolumeName(name) {
		return Volume{}, fmt.Errorf("invalid volume name %q: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed, two characters at least", name)
	}
	if err := os.MkdirAll(e.volumesDir(), 0o700); err != nil {
		return Volume{}, fmt.Errorf("create volume %s: %w", name, err)
	}
	// Made beside, then renamed into place: a volume is there whole or not at all.
	tmp, err := os.MkdirTemp(e.volumesDir(), ".new-")
	if err != nil {
		return Volume{}, fmt.Errorf("create volume %s: %w", name, err)
	}
	defer os.RemoveAll(tmp)
	if err := os.Mkdir(filepath.Join(tmp, "_data"), 0o755); err != nil {
		return Volume{}, fmt.Errorf("create volume %s: %w", name, err)
	}
	if err := os.Rename(tmp, filepath.Join(e.volumesDir(), name)); err != nil && !errors.Is(err, os.ErrExist) && !errors.Is(err, unix.ENOTEMPTY) {
		return Volume{}, fmt.Errorf("create volume %s: %w", name, err)
	}
	return e.volume(name)
}

// VolumeInspect describes one volume.
func (e *Engine) VolumeInspect(name string) (Volume, error) { return e.volume(name) }

// Volumes lists the volumes by name.
func (e *Engine) Volumes() ([]Volume, error) {
	entries, err := os.ReadDir(e.volumesDir())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list volumes: %w", err)
	}
	var out []Volume
	for _, d := range entries {
		if v, err := e.volume(d.Name()); err == nil {
			out = append(out, v)
		}
	}
	return out, nil
}

// VolumeRemove removes a volume and what it holds; one that a container mounts is kept.
func (e *Engine) VolumeRemove(name string) error {
	v, err := e.volume(name)
	if err != nil {
		return err
	}
	users, err := e.volumeUsers()
	if err != nil {
		return err
	}
	if ids := users[v.Mountpoint]; len(ids) > 0 {
		return fmt.Errorf("remove %s: volume is in use - [%s]", name, ids[0])
	}
	return os.RemoveAll(filepath.Dir(v.Mountpoint))
}

// VolumePrune removes every volume no container mounts and returns their names.
func (e *Engine) VolumePrune() ([]string, error) {
	all, err := e.Volumes()
	if err != nil {
		return nil, err
	}
	users, err := e.volumeUsers()
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, v := range all {
		if len(users[v.Mountpoint]) == 0 {
			if err := os.RemoveAll(filepath.Dir(v.Mountpoint)); err != nil {
				return removed, err
			}
			removed = append(removed, v.Name)
		}
	}
	return removed, nil
}

// volumeUsers maps each bind source of every container to the containers that mount it.
func (e *Engine) volumeUsers() (map[string][]string, error) {
	all, err := e.List()
	if err != nil {
		return nil, err
	}
	users := map[string][]string{}
	for _, st := range all {
		spec, err := e.containers.Spec(st.ID)
		if err != nil {
			continue
		}
		for _, m := range spec.Mounts {
			if m.Type == "bind" && !slices.Contains(users[m.Source], st.ID) {
				users[m.Source] = append(users[m.Source], st.ID)
			}
		}
	}
	return users, nil
}
