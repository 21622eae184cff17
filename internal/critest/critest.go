// Package critest gives the tests that drive containerd's CRI what they need beside
// containerd: crictl, built from the version internal/crictl pins, and an image archive
// holding busybox and a pause image, for a containerd with no network to pull them from.
package critest

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mydocker/mydocker/internal/testutil"
	"github.com/mydocker/mydocker/workspace"
)

// PauseImage is the pods' sandbox image in the archive Images writes: the pause program
// (internal/pause) alone, its entrypoint.
const PauseImage = "mydocker.test/pause:1"

// internalDir is the repository's internal directory, found from this file: the tests that
// call this package run in their own package's directory, at any depth.
func internalDir(t testing.TB) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot find the critest package's source")
	}
	return filepath.Dir(filepath.Dir(file))
}

// Crictl is crictl (cri-tools, pinned in internal/crictl), built once into the user's cache
// directory under a name that holds the pin's go.sum, so that a new pin builds anew.
// MYDOCKER_CRICTL names one built already.
func Crictl(t testing.TB) string {
	if prebuilt := os.Getenv("MYDOCKER_CRICTL"); prebuilt != "" {
		return prebuilt
	}
	module := filepath.Join(internalDir(t), "crictl")
	sum, err := os.ReadFile(filepath.Join(module, "go.sum"))
	require.NoError(t, err)
	digest := sha256.Sum256(sum)
	cache, err := os.UserCacheDir()
	require.NoError(t, err)
	path := filepath.Join(cache, "mydocker", "crictl-"+hex.EncodeToString(digest[:6]), "crictl")
	if _, err := os.Stat(path); err == nil {
		return path
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatal("needs the go command to build crictl (or MYDOCKER_CRICTL naming one)")
	}
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	// Built beside it and renamed: another test binary may be building it too.
	tmp := fmt.Sprintf("%s.%d", path, os.Getpid())
	build := exec.Command("go", "build", "-o", tmp, "-ldflags", "-X sigs.k8s.io/cri-tools/pkg/version.Version="+crictlVersion(t, module), "sigs.k8s.io/cri-tools/cmd/crictl")
	build.Dir = module
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "build crictl: %s", out)
	require.NoError(t, os.Rename(tmp, path))
	return path
}

// crictlVersion is the version of cri-tools the module pins.
func crictlVersion(t testing.TB, module string) string {
	c := exec.Command("go", "list", "-m", "-f", "{{.Version}}", "sigs.k8s.io/cri-tools")
	c.Dir = module
	out, err := c.Output()
	require.NoError(t, err, "go list the pinned cri-tools")
	return strings.TrimSpace(string(out))
}

// pauseBinary is internal/pause, the pods' sandbox process, built static; MYDOCKER_PAUSE names
// one built already.
func pauseBinary(t testing.TB) string {
	if prebuilt := os.Getenv("MYDOCKER_PAUSE"); prebuilt != "" {
		return prebuilt
	}
	path := filepath.Join(t.TempDir(), "pause")
	build := exec.Command("go", "build", "-o", path, filepath.Join(internalDir(t), "pause"))
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "build the pause program: %s", out)
	return path
}

// Images writes a docker-archive holding busybox (docker.io/library/busybox:latest) and the
// pause image (PauseImage), made by the engine's own image store, for ctr images import, and
// returns its path.
func Images(t testing.TB) string {
	program, err := os.ReadFile(pauseBinary(t))
	require.NoError(t, err)
	dir := t.TempDir()
	store, err := workspace.Open(filepath.Join(dir, "store"))
	require.NoError(t, err)
	bb, err := os.Open(testutil.BusyboxTar(t))
	require.NoError(t, err)
	defer bb.Close()
	_, err = store.Import(bb, "busybox", []string{`CMD ["sh"]`})
	require.NoError(t, err)
	var rootfs bytes.Buffer
	tw := tar.NewWriter(&rootfs)
	require.NoError(t, tw.WriteHeader(&tar.Header{Name: "pause", Mode: 0o755, Size: int64(len(program)), Typeflag: tar.TypeReg}))
	_, err = tw.Write(program)
	require.NoError(t, err)
	require.NoError(t, tw.Close())
	_, err = store.Import(&rootfs, PauseImage, []string{`ENTRYPOINT ["/pause"]`})
	require.NoError(t, err)
	archive := filepath.Join(dir, "images.tar")
	f, err := os.Create(archive)
	require.NoError(t, err)
	require.NoError(t, store.SaveDockerArchive(f, "busybox", PauseImage))
	require.NoError(t, f.Close())
	return archive
}
