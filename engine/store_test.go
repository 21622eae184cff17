package engine

import (
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/internal/fsutil"
)

// create does what Engine.create does with the store: reserve, then publish the state.
func create(s *Store, st *State) (*fsutil.Lock, error) {
	owner, err := s.Reserve(st)
	if err != nil {
		return nil, err
	}
	if err := s.Publish(st); err != nil {
		owner.Unlock()
		return nil, err
	}
	return owner, nil
}

func TestStoreCreateFindDelete(t *testing.T) {
	s, err := OpenStore(t.TempDir())
	require.NoError(t, err)
	a := &State{ID: container.NewID(), Name: "web", Created: time.Now(), Status: Created}
	owner, err := create(s, a)
	require.NoError(t, err)
	defer owner.Unlock()

	for _, ref := range []string{"web", "/web", a.ID, a.ID[:5]} {
		got, err := s.Find(ref)
		require.NoError(t, err, ref)
		require.Equal(t, a.ID, got.ID)
	}
	_, err = s.Find("nothing")
	require.ErrorIs(t, err, ErrNotFound)

	_, err = create(s, &State{ID: container.NewID(), Name: "web"})
	require.ErrorIs(t, err, ErrNameInUse)

	b := &State{ID: container.NewID(), Created: time.Now()}
	ownerB, err := create(s, b)
	require.NoError(t, err)
	defer ownerB.Unlock()
	require.Regexp(t, `^[a-z]+_[a-z]+\d*$`, b.Name, "a generated Docker-style name")

	all, err := s.List()
	require.NoError(t, err)
	require.Len(t, all, 2)
	require.Equal(t, b.ID, all[0].ID, "newest first")

	require.NoError(t, s.Delete(a.ID, ""))
	_, err = s.Find("web")
	require.ErrorIs(t, err, ErrNotFound)
}

func TestStoreNamesAreUniqueUnderConcurrency(t *testing.T) {
	root := t.TempDir()
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := OpenStore(root) // one store per "process"
			if err != nil {
				errs <- err
				return
			}
			owner, err := create(s, &State{ID: container.NewID(), Name: "same"})
			if err == nil {
				owner.Unlock()
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	ok := 0
	for err := range errs {
		if err == nil {
			ok++
		} else {
			require.ErrorIs(t, err, ErrNameInUse)
		}
	}
	require.Equal(t, 1, ok)
}

func TestValidateName(t *testing.T) {
	require.NoError(t, ValidateName("web-1.a_b"))
	require.Error(t, ValidateName("q"), "Docker wants two characters at least")
	require.Error(t, ValidateName("-web"))
	require.Error(t, ValidateName("a/b"))
	require.Error(t, ValidateName(""))
}

func TestPruneRemovesUnpublishedDirsOfDeadCreators(t *testing.T) {
	s, err := OpenStore(t.TempDir())
	require.NoError(t, err)
	dead, err := s.Reserve(&State{ID: container.NewID()})
	require.NoError(t, err)
	dead.Unlock() // its creator died before Publish
	busyID := container.NewID()
	busy, err := s.Reserve(&State{ID: busyID})
	require.NoError(t, err)
	defer busy.Unlock()

	require.NoError(t, s.Prune())
	entries, err := os.ReadDir(s.dir)
	require.NoError(t, err)
	var dirs []string
	for _, e := range entries {
		if e.IsDir() && e.Name() != ".names" {
			dirs = append(dirs, e.Name())
		}
	}
	require.Equal(t, []string{busyID}, dirs, "a create in progress is left alone")
}

// The name index: a name is found without reading any other container's state, a stale link
// (its container gone, or never published by a creator that died) is replaced, and a store
// made before the index gets one.
func TestNameIndex(t *testing.T) {
	root := t.TempDir()
	s, err := OpenStore(root)
	require.NoError(t, err)
	a := &State{ID: container.NewID(), Name: "web", Created: time.Now(), Status: Created}
	owner, err := create(s, a)
	require.NoError(t, err)
	owner.Unlock()

	// Another container whose state cannot be read does not stand in the way of a lookup.
	broken := container.NewID()
	require.NoError(t, os.Mkdir(s.Dir(broken), 0o700))
	require.NoError(t, os.WriteFile(s.statePath(broken), []byte("{"), 0o600))
	got, err := s.Find("web")
	require.NoError(t, err)
	require.Equal(t, a.ID, got.ID)

	// A stale link: its container was removed behind the index's back.
	require.NoError(t, os.RemoveAll(s.Dir(a.ID)))
	_, err = s.Find("web")
	require.ErrorIs(t, err, ErrNotFound)
	b := &State{ID: container.NewID(), Name: "web", Created: time.Now(), Status: Created}
	owner, err = create(s, b)
	require.NoError(t, err, "a stale name is taken over")
	owner.Unlock()
	got, err = s.Find("web")
	require.NoError(t, err)
	require.Equal(t, b.ID, got.ID)

	// The name of a container being created (owner lock held, no state yet) is taken.
	creating, err := s.Reserve(&State{ID: container.NewID(), Name: "api"})
	require.NoError(t, err)
	_, err = create(s, &State{ID: container.NewID(), Name: "api", Created: time.Now(), Status: Created})
	require.ErrorIs(t, err, ErrNameInUse)
	creating.Unlock() // its creator dies: the name is free again
	owner, err = create(s, &State{ID: container.NewID(), Name: "api", Created: time.Now(), Status: Created})
	require.NoError(t, err)
	owner.Unlock()

	// Removed with its container; a store without the index gets one on first use.
	require.NoError(t, s.Delete(b.ID, ""))
	_, err = os.Lstat(s.namePath("web"))
	require.ErrorIs(t, err, os.ErrNotExist)
	require.NoError(t, os.RemoveAll(s.indexDir()))
	got, err = s.Find("api")
	require.NoError(t, err)
	require.Equal(t, "api", got.Name)
	require.NoError(t, s.Prune())
	_, err = os.Stat(s.indexDir())
	require.NoError(t, err, "Prune leaves the index alone")
}
