package workspace

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// overlayDriver stacks the image's layers as overlayfs lowerdirs under the container's upper
// directory: nothing is copied, and a file is copied up only when the container writes it.
//
//	dir/upper   the container's writes (deletions as 0/0 character devices)
//	dir/work    overlayfs's scratch space, on the same filesystem as upper
//	dir/merged  the mount point: the container's /
type overlayDriver struct{}

func (overlayDriver) Name() string { return "overlay" }

// The mount options travel in one page of memory (mount(2)'s data argument).
const maxMountData = 4096

func (overlayDriver) Prepare(dir string, layers []string) (*Rootfs, error) {
	if len(layers) == 0 {
		return nil, fmt.Errorf("overlay needs at least one image layer")
	}
	for _, d := range []string{"upper", "work", "merged"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, fmt.Errorf("prepare overlay: %w", err)
		}
	}
	opts, err := overlayOptions(dir, layers)
	if err != nil {
		return nil, fmt.Errorf("prepare overlay: %w", err)
	}
	if inUserNamespace() {
		// Mounted by the container's init, in this engine's user namespace (rootless): its
		// marks are user.overlay.* there (markOpaque).
		opts = append(opts, "userxattr")
	}
	if n := len(strings.Join(opts, ",")); n >= maxMountData {
		return nil, fmt.Errorf("prepare overlay: %d layers make mount options of %d bytes, over the kernel's %d", len(layers), n, maxMountData)
	}
	return &Rootfs{
		Path:  filepath.Join(dir, "merged"),
		Mount: &specs.Mount{Type: "overlay", Source: "overlay", Options: opts},
	}, nil
}

// OverlayOptions lists the lower directories top-most first, as overlayfs reads them.
func OverlayOptions(dir string, layers []string) []string {
	lower := reversed(layers)
	for i, l := range lower {
		lower[i] = escapeOverlayPath(l)
	}
	return []string{
		"lowerdir=" + strings.Join(lower, ":"),
		"upperdir=" + escapeOverlayPath(filepath.Join(dir, "upper")),
		"workdir=" + escapeOverlayPath(filepath.Join(dir, "work")),
	}
}

// escapeOverlayPath escapes what overlayfs reads as separators in its options: the comma
// between options and the colon between lower directories (a --root of /srv/a,b would
// otherwise not mount).
func escapeOverlayPath(p string) string {
	return strings.NewReplacer(`\`, `\\`, `,`, `\,`, `:`, `\:`).Replace(p)
}

func (overlayDriver) Changes(dir string, layers []string) (io.ReadCloser, error) {
	upper := filepath.Join(dir, "upper")
	if _, err := os.Stat(upper); err != nil {
		return nil, fmt.Errorf("changes: %w", err)
	}
	return pipeTar(func(w io.Writer) error { return writeDiff(w, upper) }), nil
}

func (overlayDriver) Export(dir string, layers []string, w io.Writer) error {
	return writeUnion(w, append([]string{filepath.Join(dir, "upper")}, reversed(layers)...))
}

func (overlayDriver) Remove(dir string) error { return os.RemoveAll(dir) }

// inUserNamespace reports whether this process runs in a user namespace of its own (a
// rootless engine's), not the host's: its uid_map is not the identity of every id.
var inUserNamespace = sync.OnceValue(func() bool {
	data, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return false
	}
	return strings.Join(strings.Fields(string(data)), " ") != "0 0 4294967295"
})
