package engine

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"time"

	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/volume"

	"github.com/mydocker/mydocker/internal/fsutil"
)

// Volume is a named volume: a directory the engine keeps, at Mountpoint, that outlives the
// containers that mount it (-v NAME:/path).
type Volume struct {
	Name       string
	Driver     string
	Mountpoint string
	CreatedAt  time.Time
	Labels     map[string]string
}

// ErrNoSuchVolume is returned for a volume name that does not exist.
var ErrNoSuchVolume = errors.New("no such volume")

// volumeName is Docker's rule for volume names.
var volumeName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`) })

// IsVolumeName reports whether the first part of -v NAME:/path names a volume rather than a
// host path.
func IsVolumeName(s string) bool { return volumeName().MatchString(s) }

func (e *Engine) volumesDir() string { return filepath.Join(e.root, "volumes") }

// volumesLock is taken by whatever makes, removes or holds a volume (holdImageAndVolumes):
// a volume is never removed between a container finding it and recording that it uses it.
func (e *Engine) volumesLock() (*fsutil.Lock, error) {
	return fsutil.LockFile(filepath.Join(e.volumesDir(), ".lock"))
}

func (e *Engine) volume(name string) (Volume, error) {
	dir := filepath.Join(e.volumesDir(), name)
	fi, err := os.Stat(dir)
	if errors.Is(err, os.ErrNotExist) || !IsVolumeName(name) {
		return Volume{}, fmt.Errorf("%w: %s", ErrNoSuchVolume, name)
	}
	if err != nil {
		return Volume{}, err
	}
	v := Volume{Name: name, Driver: "local", Mountpoint: filepath.Join(dir, "_data"), CreatedAt: fi.ModTime().UTC()}
	if err := fsutil.ReadJSON(filepath.Join(dir, "labels.json"), &v.Labels); err != nil && !errors.Is(err, os.ErrNotExist) {
		return Volume{}, err
	}
	return v, nil
}

// VolumeCreate makes a named volume (a random name when name is empty), with labels; one that
// exists is returned as it is, as Docker does.
func (e *Engine) VolumeCreate(name string, labels map[string]string) (Volume, error) {
	l, err := e.volumesLock()
	if err != nil {
		return Volume{}, err
	}
	defer l.Unlock()
	return e.volumeCreate(name, labels)
}

// volumeCreate is VolumeCreate under the volumes' lock.
func (e *Engine) volumeCreate(name string, labels map[string]string) (Volume, error) {
	if name == "" {
		b := make([]byte, 32)
		rand.Read(b)
		name = hex.EncodeToString(b)
	}
	if !IsVolumeName(name) {
		return Volume{}, fmt.Errorf("invalid volume name %q: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed, two characters at least", name)
	}
	if v, err := e.volume(name); err == nil {
		return v, nil
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
	if len(labels) > 0 {
		if err := fsutil.WriteJSON(filepath.Join(tmp, "labels.json"), labels); err != nil {
			return Volume{}, err
		}
	}
	if err := os.Rename(tmp, filepath.Join(e.volumesDir(), name)); err != nil {
		return Volume{}, fmt.Errorf("create volume %s: %w", name, err)
	}
	if err := fsutil.SyncDir(e.volumesDir()); err != nil {
		return Volume{}, err
	}
	e.emit(events.VolumeEventType, events.ActionCreate, name, map[string]string{"driver": "local"})
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

// ErrVolumeInUse is returned when volume rm meets a volume a container holds.
var ErrVolumeInUse = errors.New("volume is in use")

// VolumeRemove removes a volume and what it holds; one that a container holds (mounts, or is
// being made with) is kept.
func (e *Engine) VolumeRemove(name string) error {
	l, err := e.volumesLock()
	if err != nil {
		return err
	}
	defer l.Unlock()
	if _, err := e.volume(name); err != nil {
		return err
	}
	_, users, err := e.holders()
	if err != nil {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	if ids := users[name]; len(ids) > 0 {
		return fmt.Errorf("remove %s: %w - [%s]", name, ErrVolumeInUse, ids[0])
	}
	return e.removeVolume(name)
}

// VolumePrune removes every volume no container holds and returns their names.
func (e *Engine) VolumePrune() ([]string, error) {
	l, err := e.volumesLock()
	if err != nil {
		return nil, err
	}
	defer l.Unlock()
	all, err := e.Volumes()
	if err != nil {
		return nil, err
	}
	_, users, err := e.holders()
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, v := range all {
		if len(users[v.Name]) == 0 {
			if err := e.removeVolume(v.Name); err != nil {
				return removed, err
			}
			removed = append(removed, v.Name)
		}
	}
	return removed, nil
}

// removeVolume deletes a volume, under the volumes' lock: renamed away first, so that it is
// gone whole at once; a crash in the middle leaves a .removing- directory the next removal
// finishes.
func (e *Engine) removeVolume(name string) error {
	trash, err := os.MkdirTemp(e.volumesDir(), ".removing-")
	if err != nil {
		return fmt.Errorf("remove volume %s: %w", name, err)
	}
	if err := os.Rename(filepath.Join(e.volumesDir(), name), filepath.Join(trash, name)); err != nil {
		os.Remove(trash)
		return fmt.Errorf("remove volume %s: %w", name, err)
	}
	if err := fsutil.SyncDir(e.volumesDir()); err != nil {
		return err
	}
	e.emit(events.VolumeEventType, events.ActionDestroy, name, map[string]string{"driver": "local"})
	leftovers, _ := filepath.Glob(filepath.Join(e.volumesDir(), ".removing-*"))
	for _, dir := range leftovers {
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("remove volume %s: %w", name, err)
		}
	}
	return nil
}

// discardVolumes removes the volumes a failed create of container id made, those that no
// other container holds meanwhile (two runs may both have found a new volume missing: the
// one that made it is not the only one using it).
func (e *Engine) discardVolumes(id string, made []string) {
	for _, name := range made {
		if err := e.VolumeRemove(name); err != nil && !errors.Is(err, ErrVolumeInUse) && !errors.Is(err, ErrNoSuchVolume) {
			logFor(id).WithError(err).Warn("could not remove a volume made for a container that did not start")
		}
	}
}

// API is the volume in the Engine API's type, as both fronts show it (volume inspect, the
// API's volume list).
func (v Volume) API() volume.Volume {
	labels := v.Labels
	if labels == nil {
		labels = map[string]string{}
	}
	return volume.Volume{Name: v.Name, Driver: v.Driver, Mountpoint: v.Mountpoint, CreatedAt: v.CreatedAt.Format(time.RFC3339),
		Labels: labels, Scope: "local", Options: map[string]string{}}
}
