package workspace

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/mydocker/mydocker/internal/faults"
	"github.com/mydocker/mydocker/internal/fsutil"
)

var (
	// ErrImageNotFound is returned when no image matches a reference.
	ErrImageNotFound = errors.New("image not found")
	// ErrImageInUse is returned when rmi meets an image a container was created from.
	ErrImageInUse = errors.New("image is being used by a container")
)

// defaultPath is the PATH an imported image gets (Docker's).
const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Image is one image of the store.
type Image struct {
	ID     digest.Digest // sha256 of the config JSON as stored
	Config ocispec.Image
	// Docker is what Docker's image configs hold beyond the OCI's (HEALTHCHECK, ONBUILD,
	// SHELL): kept with the image, and handed on to the images made from it.
	Docker   dockerspec.DockerOCIImageConfigExt
	RepoTags []string // "busybox:latest"
	Size     int64    // bytes of file content in its layers
}

// Store is the layered, content-addressed image store under <root>/image.
type Store struct {
	dir string
}

// Open opens (and creates) the image store of the mydocker root.
func Open(root string) (*Store, error) {
	s := &Store{dir: filepath.Join(root, "image")}
	for _, d := range []string{"layers/sha256", "configs/sha256", "tmp"} {
		if err := os.MkdirAll(filepath.Join(s.dir, d), 0o700); err != nil {
			return nil, fmt.Errorf("open image store: %w", err)
		}
	}
	return s, nil
}

func (s *Store) lock() (*fsutil.Lock, error) { return fsutil.LockFile(filepath.Join(s.dir, "lock")) }

func (s *Store) layerDir(d digest.Digest) string {
	return filepath.Join(s.dir, "layers", d.Algorithm().String(), d.Encoded())
}

func (s *Store) configPath(id digest.Digest) string {
	return filepath.Join(s.dir, "configs", id.Algorithm().String(), id.Encoded()+".json")
}

func (s *Store) reposPath() string { return filepath.Join(s.dir, "repositories.json") }

// Import makes a one-layer image from a rootfs tarball (plain or gzip-compressed) and tags it
// ref (none when empty). changes are Docker's --change lines.
func (s *Store) Import(r io.Reader, ref string, changes []string) (*Image, error) {
	if ref != "" {
		var err error
		if ref, err = normalizeRef(ref); err != nil {
			return nil, err
		}
	}
	config, err := ApplyChanges(ocispec.ImageConfig{Env: []string{defaultPath}}, changes)
	if err != nil {
		return nil, err
	}
	r, err = decompress(r)
	if err != nil {
		return nil, err
	}
	return s.withLease(func(l *Lease) (*Image, error) {
		diffID, err := l.AddLayer(r)
		if err != nil {
			return nil, err
		}
		faults.Point("import:stored")
		now := time.Now().UTC()
		img := ocispec.Image{
			Created:  &now,
			Platform: ocispec.Platform{Architecture: runtime.GOARCH, OS: "linux"},
			Config:   config,
			RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{diffID}},
			History:  []ocispec.History{{Created: &now, CreatedBy: "mydocker import", Comment: "Imported from tarball"}},
		}
		return s.addImage(img, dockerspec.DockerOCIImageConfigExt{}, ref)
	})
}

// Commit adds a layer (an OCI layer tar) on top of parent's and records the result, with
// config as its config, tagged ref (none when empty).
func (s *Store) Commit(parent *Image, changes io.Reader, ref string, config ocispec.ImageConfig, comment string) (*Image, error) {
	return s.CommitBy(parent, changes, ref, config, comment, "")
}

// CommitBy is Commit with the image's author (commit -a).
func (s *Store) CommitBy(parent *Image, changes io.Reader, ref string, config ocispec.ImageConfig, comment, author string) (*Image, error) {
	if ref != "" {
		var err error
		if ref, err = normalizeRef(ref); err != nil {
			return nil, err
		}
	}
	changes, empty, err := emptyTar(changes)
	if err != nil {
		return nil, fmt.Errorf("read the changes: %w", err)
	}
	return s.withLease(func(l *Lease) (*Image, error) {
		img := parent.Config
		img.RootFS.DiffIDs = slices.Clone(parent.Config.RootFS.DiffIDs)
		if !empty { // no change, no layer: only the history says a commit was made, as Docker's
			diffID, err := l.AddLayer(changes)
			if err != nil {
				return nil, err
			}
			img.RootFS.DiffIDs = append(img.RootFS.DiffIDs, diffID)
		}
		faults.Point("commit:stored")
		now := time.Now().UTC()
		img.Created = &now
		img.Config = config
		img.Author = author
		img.History = append(slices.Clone(parent.Config.History),
			ocispec.History{Created: &now, CreatedBy: "mydocker commit", Comment: comment, Author: author, EmptyLayer: empty})
		return s.addImage(img, parent.Docker, ref)
	})
}

// emptyTar reports whether the tar r holds no entry (its first block is the end's zeros),
// and returns a reader of the whole of it.
func emptyTar(r io.Reader) (io.Reader, bool, error) {
	br := bufio.NewReaderSize(r, tarBlock)
	first, err := br.Peek(tarBlock)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, false, err
	}
	return br, !slices.ContainsFunc(first, func(b byte) bool { return b != 0 }), nil
}

const tarBlock = 512

// withLease runs fn under a new lease, which it then ends: released when fn recorded its
// image, discarded (with the layers only it held) when fn failed.
func (s *Store) withLease(fn func(*Lease) (*Image, error)) (*Image, error) {
	l, err := s.NewLease()
	if err != nil {
		return nil, err
	}
	img, err := fn(l)
	if err != nil {
		if derr := l.Discard(); derr != nil {
			return nil, errors.Join(err, derr)
		}
		return nil, err
	}
	return img, l.Release()
}

// decompress undoes gzip when the stream starts with its magic number.
func decompress(r io.Reader) (io.Reader, error) {
	br := bufio.NewReader(r)
	magic, err := br.Peek(2)
	if err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("read gzip: %w", err)
		}
		return zr, nil
	}
	return br, nil
}

// addLayer unpacks a layer tar into a temporary directory while hashing it, then moves it to
// its place, named by that hash (its diff id), held by lease l. A layer already there is
// reused. The layer's files reach the disk before its name does: after a power cut, a layer
// under its content address is whole, never a directory of empty files. Beside them goes
// tar-split's record of the tar, from which save puts the same bytes together again.
func (s *Store) addLayer(l *Lease, r io.Reader) (digest.Digest, error) {
	tmp, err := os.MkdirTemp(filepath.Join(s.dir, "tmp"), l.name+"-layer-")
	if err != nil {
		return "", fmt.Errorf("create layer: %w", err)
	}
	defer os.RemoveAll(tmp)
	split, err := recordTarSplit(filepath.Join(tmp, tarSplitFile))
	if err != nil {
		return "", err
	}
	defer split.abort()
	hr := newHashingReader(io.TeeReader(r, split))
	unpacked, err := unpackLayer(hr, filepath.Join(tmp, "diff"))
	if err == nil {
		// The digest covers the whole stream, the tar's end padding included.
		_, err = io.Copy(io.Discard, hr)
	}
	diffID := hr.Digest()
	if err == nil {
		err = split.finish(!unpacked.rewritten)
	}
	if err != nil {
		return "", fmt.Errorf("unpack layer: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(tmp, "diff"), 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(tmp, "size"), []byte(strconv.FormatInt(unpacked.size, 10)), 0o644); err != nil {
		return "", fmt.Errorf("create layer: %w", err)
	}
	faults.Point("layer:unpacked")
	if s.HasLayer(diffID) { // no need to sync what will not be kept
		return diffID, s.placeLayer(l, diffID, tmp)
	}
	if err := fsutil.SyncFilesystem(tmp); err != nil {
		return "", err
	}
	return diffID, s.placeLayer(l, diffID, tmp)
}

// placeLayer puts the unpacked layer at tmp in its place unless the store has it already, and
// holds it by lease l: both under the store's lock, so that no delete comes in between.
func (s *Store) placeLayer(l *Lease, diffID digest.Digest, tmp string) error {
	sl, err := s.lock()
	if err != nil {
		return err
	}
	defer sl.Unlock()
	if !s.HasLayer(diffID) {
		if err := os.Rename(tmp, s.layerDir(diffID)); err != nil {
			return fmt.Errorf("store layer %s: %w", diffID, err)
		}
		if err := fsutil.SyncDir(filepath.Dir(s.layerDir(diffID))); err != nil {
			return err
		}
	}
	return l.hold(diffID)
}

// addImage stores an image config under its digest and points ref at it.
func (s *Store) addImage(config ocispec.Image, ext dockerspec.DockerOCIImageConfigExt, ref string) (*Image, error) {
	data, err := encodeConfig(config, ext)
	if err != nil {
		return nil, err
	}
	id := digest.FromBytes(data)
	l, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer l.Unlock()
	if err := s.writeConfig(id, data); err != nil {
		return nil, err
	}
	if ref != "" {
		repos, err := s.readRepos()
		if err != nil {
			return nil, err
		}
		repos[ref] = id
		if err := fsutil.WriteJSON(s.reposPath(), repos); err != nil {
			return nil, err
		}
	}
	return s.load(id)
}

// encodeConfig is an image's config as stored: the OCI's, with Docker's additions when there
// are any (an image without them keeps the OCI's form, byte for byte).
func encodeConfig(config ocispec.Image, ext dockerspec.DockerOCIImageConfigExt) ([]byte, error) {
	var v any = config
	if ext.Healthcheck != nil || len(ext.OnBuild) > 0 || len(ext.Shell) > 0 {
		v = dockerspec.DockerOCIImage{Image: config, Config: dockerspec.DockerOCIImageConfig{ImageConfig: config.Config, DockerOCIImageConfigExt: ext}}
	}
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode image config: %w", err)
	}
	return data, nil
}

// writeConfig stores the config data of image id, unless the store has it. Under the store's lock.
func (s *Store) writeConfig(id digest.Digest, data []byte) error {
	if _, err := os.Stat(s.configPath(id)); err == nil {
		return nil
	}
	return fsutil.WriteFileAtomic(s.configPath(id), data, 0o644)
}

// Tag points ref at the image id.
func (s *Store) Tag(id digest.Digest, ref string) error {
	ref, err := normalizeRef(ref)
	if err != nil {
		return err
	}
	l, err := s.lock()
	if err != nil {
		return err
	}
	defer l.Unlock()
	if _, err := os.Stat(s.configPath(id)); err != nil {
		return fmt.Errorf("image %s: %w", id, ErrImageNotFound)
	}
	repos, err := s.readRepos()
	if err != nil {
		return err
	}
	repos[ref] = id
	return fsutil.WriteJSON(s.reposPath(), repos)
}

func (s *Store) readRepos() (map[string]digest.Digest, error) {
	repos := map[string]digest.Digest{}
	err := fsutil.ReadJSON(s.reposPath(), &repos)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	return repos, nil
}

// load reads the image with this id, with its tags and size.
func (s *Store) load(id digest.Digest) (*Image, error) {
	data, err := os.ReadFile(s.configPath(id))
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", id, ErrImageNotFound)
	}
	var c dockerspec.DockerOCIImage
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("decode image config %s: %w", id, err)
	}
	img := &Image{ID: id, Config: c.Image, Docker: c.Config.DockerOCIImageConfigExt}
	img.Config.Config = c.Config.ImageConfig
	repos, err := s.readRepos()
	if err != nil {
		return nil, err
	}
	for ref, target := range repos {
		if target == id {
			img.RepoTags = append(img.RepoTags, ref)
		}
	}
	sort.Strings(img.RepoTags)
	for _, d := range img.Config.RootFS.DiffIDs {
		if b, err := os.ReadFile(filepath.Join(s.layerDir(d), "size")); err == nil {
			n, _ := strconv.ParseInt(string(b), 10, 64)
			img.Size += n
		}
	}
	return img, nil
}

// Get finds an image by name[:tag], by id ("sha256:..." or its hex) or by a unique prefix
// of its id.
func (s *Store) Get(ref string) (*Image, error) {
	repos, err := s.readRepos()
	if err != nil {
		return nil, err
	}
	// No validation on the way: an invalid name simply matches nothing.
	if id, ok := repos[withTag(ref)]; ok {
		return s.load(id)
	}
	if strings.Contains(ref, "@sha256:") { // NAME@DIGEST: what a pull or push recorded
		if id, ok := s.RepoDigests()[ref]; ok {
			return s.load(id)
		}
	}
	hex := strings.TrimPrefix(ref, "sha256:")
	if isHex(hex) {
		ids, err := s.ids()
		if err != nil {
			return nil, err
		}
		var match []digest.Digest
		for _, id := range ids {
			if strings.HasPrefix(id.Encoded(), hex) {
				match = append(match, id)
			}
		}
		if len(match) == 1 {
			return s.load(match[0])
		}
		if len(match) > 1 {
			return nil, fmt.Errorf("image id prefix %q is ambiguous: use more of it", ref)
		}
	}
	return nil, &ImageNotFoundError{Ref: ref}
}

// ImageNotFoundError is Get's error for a reference no image answers to; it is
// ErrImageNotFound.
type ImageNotFoundError struct{ Ref string }

func (e *ImageNotFoundError) Error() string {
	return fmt.Sprintf("unable to find image %q: %v", e.Ref, ErrImageNotFound)
}

func (e *ImageNotFoundError) Is(target error) bool { return target == ErrImageNotFound }

// Name is the reference as Docker names it in "No such image: NAME": with its tag, unless it
// is an id.
func (e *ImageNotFoundError) Name() string {
	if isHex(strings.TrimPrefix(e.Ref, "sha256:")) || strings.Contains(e.Ref, "@") {
		return e.Ref
	}
	return withTag(e.Ref)
}

func (s *Store) ids() ([]digest.Digest, error) {
	entries, err := os.ReadDir(filepath.Join(s.dir, "configs", "sha256"))
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	var ids []digest.Digest
	for _, e := range entries {
		if hex, ok := strings.CutSuffix(e.Name(), ".json"); ok {
			ids = append(ids, digest.NewDigestFromEncoded(digest.SHA256, hex))
		}
	}
	return ids, nil
}

// List returns every image, newest first.
func (s *Store) List() ([]*Image, error) {
	ids, err := s.ids()
	if err != nil {
		return nil, err
	}
	var out []*Image
	for _, id := range ids {
		img, err := s.load(id)
		if err != nil {
			return nil, err
		}
		out = append(out, img)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Config.Created, out[j].Config.Created
		return a != nil && b != nil && a.After(*b)
	})
	return out, nil
}

// LayerDirs returns the directories of the image's layers, bottom-most first.
func (s *Store) LayerDirs(img *Image) ([]string, error) {
	dirs := make([]string, 0, len(img.Config.RootFS.DiffIDs))
	for _, d := range img.Config.RootFS.DiffIDs {
		dir := filepath.Join(s.layerDir(d), "diff")
		if _, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("layer %s of image %s is missing: %w", d, img.ID, err)
		}
		dirs = append(dirs, dir)
	}
	return dirs, nil
}

// Remove untags ref and, when no tag is left and nothing uses the image (inUse names a
// container that does, or ""; a build's lease may hold it too), deletes it with the layers no
// other image or lease holds, and then its parents that a build left (Parent) as Docker's rmi
// does: those with no tag, no other child and no user. Removing one of several tags only
// untags. An image others were built on is only untagged by its last tag, and not deleted by
// its id. force untags an image in use; it is deleted once nothing uses it and rmi is run
// again. inUse is asked under the store's lock: whoever records a use under that lock (Use) is
// seen, and an error from it refuses the removal.
func (s *Store) Remove(ref string, force bool, inUse func(id digest.Digest) (string, error)) (untagged []string, deleted []digest.Digest, err error) {
	img, err := s.Get(ref)
	if err != nil {
		return nil, nil, err
	}
	l, err := s.lock()
	if err != nil {
		return nil, nil, err
	}
	defer l.Unlock()
	if _, err := os.Stat(s.configPath(img.ID)); err != nil {
		return nil, nil, fmt.Errorf("image %s: %w", ref, ErrImageNotFound) // removed meanwhile
	}
	repos, err := s.readRepos()
	if err != nil {
		return nil, nil, err
	}
	img.RepoTags = tagsOf(repos, img.ID)
	norm, _ := normalizeRef(ref)
	byTag := repos[norm] == img.ID
	if byTag && len(img.RepoTags) > 1 {
		delete(repos, norm)
		return []string{norm}, nil, fsutil.WriteJSON(s.reposPath(), repos)
	}
	metas, err := s.metas()
	if err != nil {
		return nil, nil, fmt.Errorf("unable to remove %s: %w", ref, err)
	}
	if parentsIn(metas)[img.ID] {
		if !byTag {
			return nil, nil, fmt.Errorf("conflict: unable to delete %s (cannot be forced) - image has dependent child images: %w", ref, ErrImageInUse)
		}
		delete(repos, norm) // it stays, untagged, under the images built on it
		return []string{norm}, nil, fsutil.WriteJSON(s.reposPath(), repos)
	}
	user, err := s.user(img.ID, inUse)
	if err != nil {
		return nil, nil, fmt.Errorf("unable to remove %s: cannot tell what uses it: %w", ref, err)
	}
	if user != "" && !force {
		return nil, nil, fmt.Errorf("unable to remove %s (must be forced) - %s is using it: %w", ref, user, ErrImageInUse)
	}
	if user == "" {
		if deleted, err = s.withUnusedParents(img.ID, metas, repos, inUse); err != nil {
			return nil, nil, fmt.Errorf("unable to remove %s: %w", ref, err)
		}
	}
	var layers []digest.Digest
	for _, id := range deleted {
		c, err := s.load(id)
		if err != nil {
			return nil, nil, err
		}
		layers = append(layers, c.Config.RootFS.DiffIDs...)
	}
	unused, err := s.unusedLayers(layers, deleted...)
	if err != nil {
		return nil, nil, fmt.Errorf("unable to remove %s: %w", ref, err)
	}
	for _, t := range img.RepoTags {
		delete(repos, t)
		untagged = append(untagged, t)
	}
	sort.Strings(untagged)
	if err := fsutil.WriteJSON(s.reposPath(), repos); err != nil {
		return nil, nil, err
	}
	for i, id := range deleted {
		if err := s.removeConfig(id); err != nil {
			return untagged, deleted[:i], err
		}
	}
	return untagged, deleted, s.removeLayers(unused)
}

// user names what uses image id: a container (inUse), or a build whose lease holds it; ""
// when nothing does. Under the store's lock.
func (s *Store) user(id digest.Digest, inUse func(id digest.Digest) (string, error)) (string, error) {
	user, err := inUse(id)
	if err != nil || user != "" {
		return "container " + user, err
	}
	ls, err := s.leases()
	if err != nil {
		return "", err
	}
	if ls.images[id] {
		return "a build", nil
	}
	return "", nil
}

// withUnusedParents is image id, which is to be deleted, and after it each parent up its
// chain that then has no tag, no other child and no user. Under the store's lock.
func (s *Store) withUnusedParents(id digest.Digest, metas map[digest.Digest]imageMeta, repos map[string]digest.Digest, inUse func(id digest.Digest) (string, error)) ([]digest.Digest, error) {
	out := []digest.Digest{id}
	for {
		parent := metas[id].Parent
		delete(metas, id)
		if parent == "" || len(tagsOf(repos, parent)) > 0 || parentsIn(metas)[parent] {
			return out, nil
		}
		if _, err := os.Stat(s.configPath(parent)); err != nil {
			return out, nil
		}
		if user, err := s.user(parent, inUse); err != nil || user != "" {
			return out, err
		}
		out = append(out, parent)
		id = parent
	}
}

// tagsOf are the tags repos gives image id.
func tagsOf(repos map[string]digest.Digest, id digest.Digest) []string {
	var tags []string
	for t, target := range repos {
		if target == id {
			tags = append(tags, t)
		}
	}
	return tags
}

// Use finds the image ref names and, under the store's lock, hands it to record, which records
// that it is in use where the inUse of Remove will look (a container's holds): between being
// found and being recorded, the image cannot be deleted, and once recorded it is not.
func (s *Store) Use(ref string, record func(*Image) error) (*Image, error) {
	l, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer l.Unlock()
	img, err := s.Get(ref)
	if err != nil {
		return nil, err
	}
	if _, err := s.LayerDirs(img); err != nil {
		return nil, err
	}
	return img, record(img)
}

// RawConfig is the image's config as stored (its sha256 is the image's id).
func (s *Store) RawConfig(img *Image) ([]byte, error) {
	data, err := os.ReadFile(s.configPath(img.ID))
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", img.ID, err)
	}
	return data, nil
}

// LayerSizes are the bytes of each of the image's layers, in its order (0 when unknown).
func (s *Store) LayerSizes(img *Image) []int64 {
	sizes := make([]int64, len(img.Config.RootFS.DiffIDs))
	for i, d := range img.Config.RootFS.DiffIDs {
		if b, err := os.ReadFile(filepath.Join(s.layerDir(d), "size")); err == nil {
			sizes[i], _ = strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		}
	}
	return sizes
}

// RepoDigests are the manifest digests pulls and pushes recorded: NAME@sha256:... -> image id.
func (s *Store) RepoDigests() map[string]digest.Digest {
	digests := map[string]digest.Digest{}
	fsutil.ReadJSON(filepath.Join(s.dir, "repodigests.json"), &digests)
	return digests
}
