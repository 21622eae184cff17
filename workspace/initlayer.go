package workspace

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
)

// initMountPoints are where every container gets a mount of its runtime's: /proc, /sys, /dev,
// and the /etc files the engine writes for it (parents first).
var initMountPoints = []struct {
	name string
	dir  bool
}{
	{"proc", true}, {"sys", true}, {"dev", true},
	{"etc", true}, {"etc/hostname", false}, {"etc/hosts", false}, {"etc/resolv.conf", false},
}

// initEntry is one file of an init layer: a mount point the image lacks, or the directory
// above one, with the mode and owner the image gives it.
type initEntry struct {
	name     string
	dir      bool
	mode     fs.FileMode
	uid, gid int
}

// InitLayer is a read-only layer to put above layers (bottom-most first): the mount points of
// initMountPoints the image lacks, each an empty directory or file, as Docker's "init layer"
// holds them. Without it the container's init makes them, and overlayfs writes them in the
// container's own layer: commit would keep empty /etc/hosts and /etc/resolv.conf in the new
// image, diff would list /etc as changed, and each start and removal would pay for a copied-up
// /etc. A directory above a missing file keeps the image's mode and owner, since the layer's
// copy is the one a container sees. The layers are few and tiny, and shared: one per set of
// entries, named by their digest, never removed. "" when the image has every mount point (or
// a symlink on the way, which the init follows inside the container's root) and in a user
// namespace of the engine's own (rootless), whose ownership the layer could not carry.
func (s *Store) InitLayer(layers []string) (string, error) {
	if inUserNamespace() {
		return "", nil
	}
	entries, err := initEntries(NewUnion(layers))
	if err != nil || len(entries) == 0 {
		return "", err
	}
	var desc strings.Builder
	for _, e := range entries {
		fmt.Fprintf(&desc, "%s %t %o %d %d\n", e.name, e.dir, e.mode, e.uid, e.gid)
	}
	sum := sha256.Sum256([]byte(desc.String()))
	dir := filepath.Join(s.dir, "init", hex.EncodeToString(sum[:16]))
	if _, err := os.Stat(dir); err == nil {
		return dir, nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return "", fmt.Errorf("make init layer: %w", err)
	}
	// Made beside, not in tmp/, which Sweep empties of what no lease works on.
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".making-")
	if err != nil {
		return "", fmt.Errorf("make init layer: %w", err)
	}
	defer os.RemoveAll(tmp) // gone once renamed
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", fmt.Errorf("make init layer: %w", err)
	}
	for _, e := range entries {
		if err := makeInitEntry(tmp, e); err != nil {
			return "", fmt.Errorf("make init layer: %w", err)
		}
	}
	// Another start may have made the same layer meanwhile: either copy serves.
	if err := os.Rename(tmp, dir); err != nil && !errors.Is(err, syscall.EEXIST) && !errors.Is(err, syscall.ENOTEMPTY) {
		return "", fmt.Errorf("make init layer: %w", err)
	}
	return dir, nil
}

// initEntries lists what the image's init layer holds: the mount points image lacks, with
// the directories above them.
func initEntries(image *Union) ([]initEntry, error) {
	var entries []initEntry
	made := map[string]bool{}
	for _, m := range initMountPoints {
		parent := path.Dir(m.name)
		if _, err := image.Lstat(m.name); err == nil {
			continue
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		if parent != "." && !made[parent] {
			fi, err := image.Lstat(parent)
			if err != nil || !fi.IsDir() {
				continue // a symlink, or something odd: the init makes it, as without the layer
			}
			st, ok := fi.Sys().(*syscall.Stat_t)
			if !ok {
				continue
			}
			mode := fi.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
			entries = append(entries, initEntry{name: parent, dir: true, mode: mode, uid: int(st.Uid), gid: int(st.Gid)})
			made[parent] = true
		}
		e := initEntry{name: m.name, dir: m.dir, mode: 0o644}
		if m.dir {
			e.mode = 0o755
		}
		entries = append(entries, e)
		made[m.name] = true
	}
	return entries, nil
}

func makeInitEntry(layer string, e initEntry) error {
	p := filepath.Join(layer, e.name)
	if e.dir {
		if err := os.Mkdir(p, e.mode); err != nil {
			return err
		}
	} else if err := os.WriteFile(p, nil, e.mode); err != nil {
		return err
	}
	if err := os.Chmod(p, e.mode); err != nil { // past the umask
		return err
	}
	return os.Lchown(p, e.uid, e.gid)
}
