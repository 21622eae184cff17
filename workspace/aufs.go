package workspace

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// aufsDriver is the union filesystem Docker started with: branches listed in br: options, the
// writable one first. It is out of the mainline kernel, so it is used only where the kernel
// has it. aufs marks deletions with .wh. files, not overlay's devices, so it can stack only
// layers without deletions: in practice, one-layer (imported) images.
type aufsDriver struct{}

func (aufsDriver) Name() string { return "aufs" }

func (aufsDriver) Prepare(dir string, layers []string) (*Rootfs, error) {
	if len(layers) > 1 {
		return nil, fmt.Errorf("aufs cannot stack the %d layers of this image (their deletions are in overlay's form): use the overlay or vfs driver", len(layers))
	}
	for _, d := range []string{"upper", "merged"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, fmt.Errorf("prepare aufs: %w", err)
		}
	}
	return &Rootfs{
		Path:  filepath.Join(dir, "merged"),
		Mount: &specs.Mount{Type: "aufs", Source: "none", Options: aufsOptions(dir, layers)},
	}, nil
}

// aufsOptions: the container's branch read-write, then the layers read-only with whiteouts
// honoured, top-most first.
func aufsOptions(dir string, layers []string) []string {
	branches := []string{filepath.Join(dir, "upper") + "=rw"}
	for _, l := range reversed(layers) {
		branches = append(branches, l+"=ro+wh")
	}
	return []string{"br:" + strings.Join(branches, ":"), "dio", "xino=/dev/shm/aufs.xino"}
}

func (aufsDriver) Changes(dir string, layers []string) (io.ReadCloser, error) {
	upper := filepath.Join(dir, "upper")
	return pipeTar(func(w io.Writer) error { return writeDiff(w, upper) }), nil
}

func (aufsDriver) Export(dir string, layers []string, w io.Writer) error {
	return writeUnion(w, append([]string{filepath.Join(dir, "upper")}, reversed(layers)...))
}

func (aufsDriver) Remove(dir string) error { return os.RemoveAll(dir) }
