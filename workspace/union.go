package workspace

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// Union is the merged view of an image's layers, read without mounting anything, as overlayfs
// would show it: a build reads from it what COPY --from copies and what a COPY's destination
// already holds, and create what an image has where a new volume is mounted. Every path is
// resolved inside the view, symlinks included, as if its root were "/" (an image is not to be
// trusted: a symlink to /etc/shadow is the image's /etc/shadow, never the host's).
type Union struct {
	layers []string // bottom-most first, as LayerDirs gives them
}

// NewUnion is the merged view of layers (bottom-most first).
func NewUnion(layers []string) *Union { return &Union{layers: layers} }

// Resolve follows every symlink of name inside the view, the last component's too, and
// returns the path it leads to ("/..."), free of symlinks. A file that is not there is
// os.ErrNotExist.
func (u *Union) Resolve(name string) (string, error) {
	_, resolved, err := resolveInLayers(u.layers, name)
	if err != nil {
		return "", err
	}
	return resolved, nil
}

// Lstat describes the file at name, its parents resolved inside the view and the last
// component not followed: a symlink is described as one.
func (u *Union) Lstat(name string) (os.FileInfo, error) {
	clean := path.Clean("/" + name)
	if clean == "/" {
		return u.rootInfo()
	}
	dir, base := path.Split(clean)
	parent := "/"
	if dir != "/" {
		var err error
		if parent, err = u.Resolve(dir); err != nil {
			return nil, err
		}
	}
	fi, _, ok := lookupInLayers(u.layers, path.Join(parent, base))
	if !ok {
		return nil, &os.PathError{Op: "lstat", Path: clean, Err: os.ErrNotExist}
	}
	return fi, nil
}

// rootInfo describes the view's root: the top-most layer's.
func (u *Union) rootInfo() (os.FileInfo, error) {
	if len(u.layers) == 0 {
		return nil, &os.PathError{Op: "lstat", Path: "/", Err: os.ErrNotExist}
	}
	return os.Lstat(u.layers[len(u.layers)-1])
}

// ReadDir lists the directory at name (resolved inside the view), merged across the layers,
// names sorted.
func (u *Union) ReadDir(name string) ([]os.FileInfo, error) {
	dir := "/"
	if clean := path.Clean("/" + name); clean != "/" {
		var err error
		if dir, err = u.Resolve(clean); err != nil {
			return nil, err
		}
	}
	var merging []string // top-most first
	for i := len(u.layers) - 1; i >= 0; i-- {
		layer := u.layers[i]
		p := filepath.Join(layer, dir)
		fi, err := lstatInLayer(layer, dir)
		if err != nil {
			if hiddenBelow(layer, dir) {
				break
			}
			continue
		}
		if isWhiteoutDevice(fi) || !fi.IsDir() {
			break
		}
		merging = append(merging, layer)
		if dir != "/" && (isOpaqueDir(p) || exists(filepath.Join(p, whiteoutOpaque))) {
			break
		}
	}
	if len(merging) == 0 {
		return nil, &os.PathError{Op: "readdir", Path: name, Err: unix.ENOTDIR}
	}
	names, byName, err := mergeDir(dir, merging)
	if err != nil {
		return nil, err
	}
	out := make([]os.FileInfo, 0, len(names))
	for _, n := range names {
		out = append(out, byName[n].fi)
	}
	return out, nil
}

// Readlink reads the symlink at name (its parents resolved inside the view).
func (u *Union) Readlink(name string) (string, error) {
	p, err := u.hostPath(name)
	if err != nil {
		return "", err
	}
	return os.Readlink(p)
}

// Open opens the regular file at name for reading, every symlink on the way, the last
// component's too, followed inside the view.
func (u *Union) Open(name string) (*os.File, error) {
	resolved, err := u.Resolve(name)
	if err != nil {
		return nil, err
	}
	p, err := u.hostPath(resolved)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(p, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("open %s of the image: not a regular file", name)
	}
	return f, nil
}

// hostPath is where the file at name (its parents resolved inside the view, the last
// component not followed) is on the host: in the top-most layer that has it.
func (u *Union) hostPath(name string) (string, error) {
	clean := path.Clean("/" + name)
	dir, base := path.Split(clean)
	parent := "/"
	if dir != "/" {
		var err error
		if parent, err = u.Resolve(dir); err != nil {
			return "", err
		}
	}
	p := path.Join(parent, base)
	_, layer, ok := lookupInLayers(u.layers, p)
	if !ok {
		return "", &os.PathError{Op: "open", Path: clean, Err: os.ErrNotExist}
	}
	return filepath.Join(layer, strings.TrimPrefix(p, "/")), nil
}

// Layers are the view's layer directories, bottom-most first.
func (u *Union) Layers() []string { return slices.Clone(u.layers) }
