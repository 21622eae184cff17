package workspace

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ParseVolume reads a HOST:CONTAINER[:ro|:rw] bind mount. Both paths must be absolute (a
// bare name would be a named volume, which mydocker does not have). It only reads: a missing
// host directory is made when a container is created (MakeVolumeSources).
func ParseVolume(s string) (specs.Mount, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return specs.Mount{}, fmt.Errorf("invalid volume %q: want HOST:CONTAINER[:ro]", s)
	}
	host, ctr := parts[0], parts[1]
	mode := "rw"
	if len(parts) == 3 {
		mode = parts[2]
	}
	switch {
	case !filepath.IsAbs(host):
		return specs.Mount{}, fmt.Errorf("invalid volume %q: the host path %q must be absolute (named volumes are not supported)", s, host)
	case !filepath.IsAbs(ctr):
		return specs.Mount{}, fmt.Errorf("invalid volume %q: the container path %q must be absolute", s, ctr)
	case filepath.Clean(ctr) == "/":
		return specs.Mount{}, fmt.Errorf("invalid volume %q: cannot mount over the container's root", s)
	case mode != "ro" && mode != "rw":
		return specs.Mount{}, fmt.Errorf("invalid volume %q: unknown mode %q, want ro or rw", s, mode)
	}
	return specs.Mount{
		Type:        "bind",
		Source:      filepath.Clean(host),
		Destination: filepath.Clean(ctr),
		Options:     []string{"rbind", "rprivate", mode},
	}, nil
}

// MakeVolumeSources creates the missing host directory of each bind mount, as Docker does for
// -v, and returns the directories it made (top-most first), for the caller to remove if the
// container is not created after all.
func MakeVolumeSources(mounts []specs.Mount) (made []string, err error) {
	for _, m := range mounts {
		if m.Type != "bind" {
			continue
		}
		// Walk up to the first directory that exists: everything below it is ours.
		var missing []string
		for dir := m.Source; ; dir = filepath.Dir(dir) {
			if _, err := os.Lstat(dir); err == nil || !errors.Is(err, os.ErrNotExist) || dir == "/" {
				break
			}
			missing = append(missing, dir)
		}
		if len(missing) == 0 {
			continue
		}
		if err := os.MkdirAll(m.Source, 0o755); err != nil {
			RemoveVolumeSources(made)
			return nil, fmt.Errorf("create volume directory %s: %w", m.Source, err)
		}
		slices.Reverse(missing)
		made = append(made, missing...)
	}
	return made, nil
}

// RemoveVolumeSources removes what MakeVolumeSources made, deepest first, if still empty.
func RemoveVolumeSources(made []string) {
	for i := len(made) - 1; i >= 0; i-- {
		os.Remove(made[i])
	}
}
