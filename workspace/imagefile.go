package workspace

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// ReadImageFile reads one file of the merged view of layers (bottom-most first), such as
// etc/passwd, without mounting anything: the top-most layer that has it wins, unless a
// whiteout or an opaque directory above hides it.
func ReadImageFile(layers []string, name string) ([]byte, error) {
	name = filepath.Clean(strings.TrimPrefix(name, "/"))
	for i := len(layers) - 1; i >= 0; i-- {
		path := filepath.Join(layers[i], name)
		fi, err := os.Lstat(path)
		if err == nil {
			if isWhiteoutDevice(fi) {
				break
			}
			return os.ReadFile(path)
		}
		if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		if hiddenBelow(layers[i], name) {
			break
		}
	}
	return nil, &os.PathError{Op: "read", Path: "/" + name, Err: os.ErrNotExist}
}

// hiddenBelow reports whether this layer hides name in the layers below it: a parent
// directory of name is deleted (a whiteout) or opaque here.
func hiddenBelow(layer, name string) bool {
	dir := layer
	for _, part := range strings.Split(filepath.Dir(name), "/") {
		if part == "." {
			break
		}
		dir = filepath.Join(dir, part)
		fi, err := os.Lstat(dir)
		if err != nil {
			return false
		}
		if isWhiteoutDevice(fi) || (fi.IsDir() && isOpaqueDir(dir)) {
			return true
		}
	}
	return false
}
