package engine

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/container/seccomp"
	"github.com/mydocker/mydocker/internal/fsutil"
)

// seccompFilter compiles a container's seccomp profile, or takes the program from the cache
// when this engine compiled the same profile before: <root>/seccomp/<the profile's
// seccomp.Fingerprint>. Compiling Docker's profile costs about a millisecond on every start;
// reading it back, a tenth of that. A cached file holds the sha256 of the program, then the
// program: a file that does not match is compiled again, never loaded.
func (e *Engine) seccompFilter(profile *specs.LinuxSeccomp) (*container.Seccomp, error) {
	if profile == nil {
		return nil, nil
	}
	key := seccomp.Fingerprint(profile)
	path := filepath.Join(e.root, "seccomp", hex.EncodeToString(key[:]))
	if cached, err := os.ReadFile(path); err == nil && len(cached) > sha256.Size {
		sum, prog := cached[:sha256.Size], cached[sha256.Size:]
		if got := sha256.Sum256(prog); bytes.Equal(sum, got[:]) {
			return &container.Seccomp{Program: prog, Flags: profile.Flags}, nil
		}
	}
	filter, err := container.CompileSeccomp(profile)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(filter.Program)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err == nil {
		// A cache that cannot be written costs the next start a compile, nothing more.
		fsutil.WriteFileAtomic(path, append(sum[:], filter.Program...), 0o600)
	}
	return filter, nil
}
