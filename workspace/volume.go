package workspace

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ParseVolume reads a -v HOST:CONTAINER[:ro|:rw] bind mount. Both paths must be absolute (a
// bare name would be a named volume, which mydocker does not have). A missing host directory
// is created, as Docker does.
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
	if _, err := os.Stat(host); os.IsNotExist(err) {
		if err := os.MkdirAll(host, 0o755); err != nil {
			return specs.Mount{}, fmt.Errorf("create volume directory %s: %w", host, err)
		}
	}
	return specs.Mount{
		Type:        "bind",
		Source:      filepath.Clean(host),
		Destination: filepath.Clean(ctr),
		Options:     []string{"rbind", "rprivate", mode},
	}, nil
}
