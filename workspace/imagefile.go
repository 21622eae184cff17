package workspace

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/mydocker/mydocker/internal/fsutil"
)

// maxImageFile bounds what ReadImageFile reads: /etc/passwd and its kind, never megabytes.
const maxImageFile = 1 << 20

// ReadImageFile reads one regular file of the merged view of layers (bottom-most first), such
// as etc/passwd, without mounting anything: the top-most layer that has it wins, unless a
// whiteout or an opaque directory above hides it.
//
// An image is not to be trusted. Every symlink on the way is followed inside the merged view,
// as if it were "/" — an /etc/passwd pointing at /some/host/file reads the image's
// /some/host/file, or nothing, never the host's. A file that is not regular (a FIFO would
// block the reader forever) or is bigger than 1 MiB is refused before it is read.
func ReadImageFile(layers []string, name string) ([]byte, error) {
	layer, resolved, err := resolveInLayers(layers, name)
	if err != nil {
		return nil, err
	}
	data, err := fsutil.ReadFileInRoot(layer, resolved, maxImageFile)
	if err != nil {
		return nil, fmt.Errorf("read %s of the image: %w", "/"+strings.TrimPrefix(name, "/"), err)
	}
	return data, nil
}

// resolveInLayers follows name through the union of layers one component at a time, symlinks
// included, the union being the root; it returns the top-most layer holding the file and the
// file's path in it, free of symlinks.
func resolveInLayers(layers []string, name string) (layer, resolved string, err error) {
	notFound := &os.PathError{Op: "read", Path: "/" + strings.TrimPrefix(name, "/"), Err: os.ErrNotExist}
	current := ""
	rest := strings.Split(path.Clean("/"+name), "/")
	for hops := 0; len(rest) > 0; {
		part := rest[0]
		rest = rest[1:]
		switch part {
		case "", ".":
			continue
		case "..":
			current = path.Dir(current)
			if current == "/" || current == "." {
				current = ""
			}
			continue
		}
		next := current + "/" + part
		fi, top, ok := lookupInLayers(layers, next)
		if !ok {
			return "", "", notFound
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			if hops++; hops > 40 {
				return "", "", fmt.Errorf("read %s of the image: too many symlinks", notFound.Path)
			}
			target, err := os.Readlink(filepath.Join(top, next))
			if err != nil {
				return "", "", err
			}
			if path.IsAbs(target) {
				current = ""
			}
			rest = append(strings.Split(target, "/"), rest...)
			continue
		}
		if len(rest) > 0 && !fi.IsDir() {
			return "", "", notFound
		}
		current, layer = next, top
	}
	if current == "" {
		return "", "", notFound
	}
	return layer, current, nil
}

// lookupInLayers finds the top-most layer where p (absolute, no symlink in the union on the
// way) exists, as overlayfs would: a whiteout, or an opaque or deleted directory on the way,
// hides the layers below; in one layer, a path whose parent is not a directory there is not
// in that layer (never followed on the host).
func lookupInLayers(layers []string, p string) (os.FileInfo, string, bool) {
	for i := len(layers) - 1; i >= 0; i-- {
		fi, err := lstatInLayer(layers[i], p)
		if err == nil {
			if isWhiteoutDevice(fi) {
				return nil, "", false
			}
			return fi, layers[i], true
		}
		if hiddenBelow(layers[i], p) {
			return nil, "", false
		}
	}
	return nil, "", false
}

// lstatInLayer is os.Lstat of layer+p, refusing any parent on the way that is not a plain
// directory in this layer: a symlink there belongs to the layer's own view, and following it
// with the host's filesystem would leave the image.
func lstatInLayer(layer, p string) (os.FileInfo, error) {
	dir := layer
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	for _, part := range parts[:len(parts)-1] {
		dir = filepath.Join(dir, part)
		fi, err := os.Lstat(dir)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			return nil, &os.PathError{Op: "lstat", Path: dir, Err: os.ErrNotExist}
		}
	}
	return os.Lstat(filepath.Join(dir, parts[len(parts)-1]))
}

// hiddenBelow reports whether this layer hides name in the layers below it: a parent
// directory of name is deleted (a whiteout), opaque, or not a directory here.
func hiddenBelow(layer, name string) bool {
	dir := layer
	for _, part := range strings.Split(strings.TrimPrefix(path.Dir(name), "/"), "/") {
		if part == "" {
			break
		}
		dir = filepath.Join(dir, part)
		fi, err := os.Lstat(dir)
		if err != nil {
			return false
		}
		// A whiteout, an opaque directory, or anything but a directory (overlayfs merges
		// directories only) hides what the layers below have under it.
		if !fi.IsDir() || isOpaqueDir(dir) {
			return true
		}
	}
	return false
}
