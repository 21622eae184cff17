package workspace

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/mydocker/mydocker/internal/fsutil"
)

// A Lease holds layers for an import, a load, a pull or a commit while it runs, as containerd's
// leases hold content: from the moment the lease stores a layer, or finds it in the store,
// until the image that names the layer is recorded, no rmi, prune or failed fetch of another
// process deletes it. A build's lease holds images too, for as long as the build runs: its base
// images and each step's image, which the next step builds on. A lease is a file in
// image/leases that its process keeps locked, one diff id a line (an image's id after
// "image "): the kernel drops the lock when the process dies, so a lease nobody holds is over,
// and what only it held is swept (Sweep).
type Lease struct {
	s    *Store
	name string
	lock *fsutil.Lock
	held []digest.Digest
}

// imageLine starts the line of a lease file that holds an image.
const imageLine = "image "

func (s *Store) leasesDir() string { return filepath.Join(s.dir, "leases") }

// NewLease starts a lease. Release (or Discard) ends it.
func (s *Store) NewLease() (*Lease, error) {
	b := make([]byte, 8)
	rand.Read(b)
	name := hex.EncodeToString(b)
	lock, err := fsutil.LockFile(filepath.Join(s.leasesDir(), name))
	if err != nil {
		return nil, fmt.Errorf("start a lease: %w", err)
	}
	return &Lease{s: s, name: name, lock: lock}, nil
}

// hold records that the lease holds layer d. Under the store's lock, as every reader of
// leases is.
func (l *Lease) hold(d digest.Digest) error {
	if _, err := l.lock.File().WriteString(d.String() + "\n"); err != nil {
		return fmt.Errorf("lease %s: hold layer %s: %w", l.name, d, err)
	}
	l.held = append(l.held, d)
	return nil
}

// holdImage records that the lease holds image id. Under the store's lock.
func (l *Lease) holdImage(id digest.Digest) error {
	if _, err := l.lock.File().WriteString(imageLine + id.String() + "\n"); err != nil {
		return fmt.Errorf("lease %s: hold image %s: %w", l.name, id, err)
	}
	return nil
}

// HoldImage finds the image ref names and holds it, under the store's lock: from then until
// the lease ends, no rmi or prune deletes it (rmi -f only untags it).
func (l *Lease) HoldImage(ref string) (*Image, error) {
	return l.s.Use(ref, func(img *Image) error { return l.holdImage(img.ID) })
}

// TempDir makes a directory of the lease's own in the store's tmp/ (a build's context sent on
// stdin): the caller removes it; if its process dies first, Sweep does.
func (l *Lease) TempDir(what string) (string, error) {
	dir, err := os.MkdirTemp(filepath.Join(l.s.dir, "tmp"), l.name+"-"+what+"-")
	if err != nil {
		return "", fmt.Errorf("lease %s: %w", l.name, err)
	}
	return dir, nil
}

// AddLayer unpacks a layer tar into the store, held by the lease, and returns its diff id (a
// layer already there is reused, and held).
func (l *Lease) AddLayer(r io.Reader) (digest.Digest, error) { return l.s.addLayer(l, r) }

// HoldLayer reports whether the store has the layer with diff id d, and if so holds it: a
// pull or load that skips a layer it finds can count on it until its image is recorded.
func (l *Lease) HoldLayer(d digest.Digest) (bool, error) {
	sl, err := l.s.lock()
	if err != nil {
		return false, err
	}
	defer sl.Unlock()
	if !l.s.HasLayer(d) {
		return false, nil
	}
	return true, l.hold(d)
}

// Release ends the lease: what it held stays in the store, named by the images recorded
// meanwhile (or, named by none, for the next Sweep).
func (l *Lease) Release() error {
	sl, err := l.s.lock()
	if err != nil {
		return err
	}
	defer sl.Unlock()
	return l.end()
}

// Discard ends the lease after a failure, removing the layers it held that no image and no
// other lease names (what a failed pull or load added).
func (l *Lease) Discard() error {
	sl, err := l.s.lock()
	if err != nil {
		return err
	}
	defer sl.Unlock()
	if err := l.end(); err != nil {
		return err
	}
	unused, err := l.s.unusedLayers(l.held)
	if err != nil {
		return err
	}
	return l.s.removeLayers(unused)
}

// end removes the lease's file and lets go of its lock. Under the store's lock.
func (l *Lease) end() error {
	err := os.Remove(filepath.Join(l.s.leasesDir(), l.name))
	l.lock.Unlock()
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("end lease %s: %w", l.name, err)
	}
	return nil
}

// leases is what the live leases hold: layers and images, by digest.
type leases struct {
	layers, images map[digest.Digest]bool
	live           map[string]bool // the names of the leases
}

// leasedLayers reads the live leases: the layers they hold, and the names of the leases.
func (s *Store) leasedLayers() (held map[digest.Digest]bool, live map[string]bool, err error) {
	ls, err := s.leases()
	if err != nil {
		return nil, nil, err
	}
	return ls.layers, ls.live, nil
}

// leases reads the live leases. A lease whose lock nobody holds is over (its process died):
// its file goes. Under the store's lock. An error reading a live lease is returned: a delete
// must not guess what it holds.
func (s *Store) leases() (leases, error) {
	ls := leases{layers: map[digest.Digest]bool{}, images: map[digest.Digest]bool{}, live: map[string]bool{}}
	entries, err := os.ReadDir(s.leasesDir())
	if errors.Is(err, os.ErrNotExist) {
		return ls, nil
	}
	if err != nil {
		return ls, fmt.Errorf("read leases: %w", err)
	}
	for _, e := range entries {
		path := filepath.Join(s.leasesDir(), e.Name())
		l, free, err := fsutil.TryLockFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue // ended meanwhile
		}
		if err != nil {
			return ls, fmt.Errorf("read lease %s: %w", e.Name(), err)
		}
		if free {
			err := os.Remove(path)
			l.Unlock()
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return ls, fmt.Errorf("remove the lease %s of a process that died: %w", e.Name(), err)
			}
			continue
		}
		ls.live[e.Name()] = true
		if err := readLease(path, ls); err != nil {
			return ls, err
		}
	}
	return ls, nil
}

// readLease adds what the lease file at path holds to ls.
func readLease(path string, ls leases) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read lease %s: %w", filepath.Base(path), err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		held, line := ls.layers, sc.Text()
		if id, ok := strings.CutPrefix(line, imageLine); ok {
			held, line = ls.images, id
		}
		d, err := digest.Parse(line)
		if err != nil {
			return fmt.Errorf("read lease %s: %w", filepath.Base(path), err)
		}
		held[d] = true
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read lease %s: %w", filepath.Base(path), err)
	}
	return nil
}

// namedLayers are the layers the store's images (but those of except) name. Under the
// store's lock.
func (s *Store) namedLayers(except ...digest.Digest) (map[digest.Digest]bool, error) {
	ids, err := s.ids()
	if err != nil {
		return nil, err
	}
	named := map[digest.Digest]bool{}
	for _, id := range ids {
		if slices.Contains(except, id) {
			continue
		}
		var c ocispec.Image
		if err := fsutil.ReadJSON(s.configPath(id), &c); err != nil {
			return nil, err
		}
		for _, d := range c.RootFS.DiffIDs {
			named[d] = true
		}
	}
	return named, nil
}

// unusedLayers are those of layers that no image but those of except names and no live lease
// holds. Under the store's lock.
func (s *Store) unusedLayers(layers []digest.Digest, except ...digest.Digest) ([]digest.Digest, error) {
	if len(layers) == 0 {
		return nil, nil
	}
	named, err := s.namedLayers(except...)
	if err != nil {
		return nil, err
	}
	leased, _, err := s.leasedLayers()
	if err != nil {
		return nil, err
	}
	var unused []digest.Digest
	for _, d := range layers {
		if !named[d] && !leased[d] {
			unused = append(unused, d)
		}
	}
	return unused, nil
}

// removeLayers deletes layers (unusedLayers). Under the store's lock.
func (s *Store) removeLayers(layers []digest.Digest) error {
	for _, d := range layers {
		if err := s.removeLayer(d); err != nil {
			return err
		}
	}
	return nil
}

// removeLayer deletes a layer: renamed out of layers/ first, so that it is gone whole for
// every reader at once, and a crash in the middle leaves a directory Sweep finishes.
func (s *Store) removeLayer(d digest.Digest) error {
	trash := filepath.Join(s.dir, "tmp", "removing-"+d.Encoded())
	if err := os.Rename(s.layerDir(d), trash); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("remove layer %s: %w", d, err)
	}
	if err := os.RemoveAll(trash); err != nil {
		return fmt.Errorf("remove layer %s: %w", d, err)
	}
	return nil
}

// Sweep removes what crashed processes left in the store: the files of leases nobody holds,
// half-unpacked layers and half-removed ones in tmp/ that no live lease is working on, the
// records of built images whose config is gone, and the layers that no image names and no
// live lease holds. It returns the layers it removed.
func (s *Store) Sweep() ([]digest.Digest, error) {
	l, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer l.Unlock()
	leased, live, err := s.leasedLayers()
	if err != nil {
		return nil, err
	}
	tmp, err := os.ReadDir(filepath.Join(s.dir, "tmp"))
	if err != nil {
		return nil, fmt.Errorf("sweep the image store: %w", err)
	}
	for _, e := range tmp {
		owner, _, _ := strings.Cut(e.Name(), "-")
		if live[owner] {
			continue // a layer being unpacked, or a load's spool
		}
		if err := os.RemoveAll(filepath.Join(s.dir, "tmp", e.Name())); err != nil {
			return nil, fmt.Errorf("sweep the image store: %w", err)
		}
	}
	if err := s.sweepMetas(); err != nil {
		return nil, err
	}
	named, err := s.namedLayers()
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(filepath.Join(s.dir, "layers", "sha256"))
	if err != nil {
		return nil, fmt.Errorf("sweep the image store: %w", err)
	}
	var removed []digest.Digest
	for _, e := range entries {
		d := digest.NewDigestFromEncoded(digest.SHA256, e.Name())
		if d.Validate() != nil || named[d] || leased[d] {
			continue
		}
		if err := s.removeLayer(d); err != nil {
			return removed, err
		}
		removed = append(removed, d)
	}
	return removed, nil
}

// sweepMetas removes the records (chain.go) of images whose config is gone: a crash between
// the removals. Under the store's lock.
func (s *Store) sweepMetas() error {
	parents, err := os.ReadDir(filepath.Join(s.dir, "children"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("sweep the image store: %w", err)
	}
	for _, p := range parents {
		dir := filepath.Join(s.dir, "children", p.Name())
		children, err := os.ReadDir(dir)
		if err != nil {
			return fmt.Errorf("sweep the image store: %w", err)
		}
		for _, c := range children {
			if _, err := os.Stat(s.configPath(digest.NewDigestFromEncoded(digest.SHA256, c.Name()))); errors.Is(err, os.ErrNotExist) {
				os.Remove(filepath.Join(dir, c.Name()))
			}
		}
		os.Remove(dir) // if empty
	}
	dir := filepath.Join(s.dir, "meta", "sha256")
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sweep the image store: %w", err)
	}
	for _, e := range entries {
		hex, _ := strings.CutSuffix(e.Name(), ".json")
		if _, err := os.Stat(s.configPath(digest.NewDigestFromEncoded(digest.SHA256, hex))); errors.Is(err, os.ErrNotExist) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return fmt.Errorf("sweep the image store: %w", err)
			}
		}
	}
	return nil
}
