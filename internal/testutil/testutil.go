// Package testutil gates privileged tests and builds the busybox test image, so every package's
// tests skip for the same clear reasons and use the same image.
package testutil

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/mydocker/mydocker/internal/busybox"
)

// RequiresRoot skips the test unless it runs as root and not under -short.
func RequiresRoot(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("privileged test skipped in -short mode")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
}

// RequiresFilesystem skips the test unless the kernel knows the filesystem type fs
// (as listed in /proc/filesystems), e.g. "overlay".
func RequiresFilesystem(t testing.TB, fs string) {
	t.Helper()
	data, err := os.ReadFile("/proc/filesystems")
	if err != nil {
		t.Skipf("needs %s: %v", fs, err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && f[len(f)-1] == fs {
			return
		}
	}
	t.Skipf("needs the %s filesystem in the kernel", fs)
}

var (
	tarOnce sync.Once
	tarData []byte
	tarErr  error
)

// BusyboxTar returns the path of a busybox rootfs tarball in the test's own temporary
// directory. The tarball is built once per test binary, in memory, from the host's
// busybox-static; the test skips when busybox is not installed.
func BusyboxTar(t testing.TB) string {
	t.Helper()
	tarOnce.Do(func() {
		bin, err := busybox.Find()
		if err != nil {
			tarErr = err
			return
		}
		var buf bytes.Buffer
		tarErr = busybox.WriteTar(&buf, bin)
		tarData = buf.Bytes()
	})
	if tarErr != nil {
		t.Skipf("needs a busybox image: %v", tarErr)
	}
	path := filepath.Join(t.TempDir(), "busybox.tar")
	if err := os.WriteFile(path, tarData, 0o644); err != nil {
		t.Fatalf("write the busybox image: %v", err)
	}
	return path
}

// UniqueName returns prefix followed by random hex, short enough for an interface name
// (15 bytes) when prefix is at most 7 bytes.
func UniqueName(prefix string) string {
	b := make([]byte, 4)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}
