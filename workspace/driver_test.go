package workspace

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/mydocker/mydocker/internal/testutil"
)

func TestNewDriver(t *testing.T) {
	d, err := NewDriver("vfs")
	require.NoError(t, err)
	require.Equal(t, "vfs", d.Name())
	_, err = NewDriver("zfs")
	require.ErrorContains(t, err, "overlay, aufs, vfs")
	d, err = NewDriver("")
	require.NoError(t, err)
	if KernelHas("overlay") {
		require.Equal(t, "overlay", d.Name(), "overlay is preferred where the kernel has it")
	}
}

func TestOverlayOptions(t *testing.T) {
	d := overlayDriver{}
	dir := t.TempDir()
	rootfs, err := d.Prepare(dir, []string{"/l/bottom", "/l/top"})
	require.NoError(t, err)
	require.Equal(t, dir+"/merged", rootfs.Path)
	require.Equal(t, "overlay", rootfs.Mount.Type)
	require.Equal(t, []string{"lowerdir=/l/top:/l/bottom", "upperdir=" + dir + "/upper", "workdir=" + dir + "/work"}, rootfs.Mount.Options,
		"overlay lists lower directories top-most first")

	many := make([]string, 100)
	for i := range many {
		many[i] = "/var/lib/mydocker/image/layers/sha256/" + strings.Repeat("a", 64) + "/diff"
	}
	_, err = d.Prepare(t.TempDir(), many)
	require.ErrorContains(t, err, "over the kernel's 4096")
}

func TestAufsOptions(t *testing.T) {
	require.Equal(t, []string{"br:/c/upper=rw:/l/one=ro+wh", "dio", "xino=/dev/shm/aufs.xino"}, aufsOptions("/c", []string{"/l/one"}))
	_, err := aufsDriver{}.Prepare(t.TempDir(), []string{"/a", "/b"})
	require.ErrorContains(t, err, "aufs cannot stack")
}

// importBusybox makes a store holding the busybox image.
func importBusybox(t *testing.T) (*Store, *Image) {
	t.Helper()
	s, err := Open(t.TempDir())
	require.NoError(t, err)
	f, err := os.Open(testutil.BusyboxTar(t))
	require.NoError(t, err)
	defer f.Close()
	img, err := s.Import(f, "busybox", nil)
	require.NoError(t, err)
	return s, img
}

func tarNames(t *testing.T, r io.Reader) []string {
	t.Helper()
	var names []string
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		names = append(names, hdr.Name)
	}
	sort.Strings(names)
	return names
}

// mountRootfs mounts a driver's rootfs on the host for the test (the engine mounts it inside
// the container instead); it is unmounted by the returned function or at cleanup.
func mountRootfs(t *testing.T, r *Rootfs) (unmount func()) {
	t.Helper()
	if r.Mount == nil {
		return func() {}
	}
	require.NoError(t, unix.Mount(r.Mount.Source, r.Path, r.Mount.Type, 0, strings.Join(r.Mount.Options, ",")))
	unmount = func() { unix.Unmount(r.Path, unix.MNT_DETACH) }
	t.Cleanup(unmount)
	return unmount
}

func TestDriversCopyOnWriteCommitExport(t *testing.T) {
	testutil.RequiresRoot(t)
	for _, name := range []string{"overlay", "vfs"} {
		t.Run(name, func(t *testing.T) {
			if name == "overlay" {
				testutil.RequiresFilesystem(t, "overlay")
			}
			s, img := importBusybox(t)
			d, err := NewDriver(name)
			require.NoError(t, err)
			layers, err := s.LayerDirs(img)
			require.NoError(t, err)
			dir := t.TempDir()
			rootfs, err := d.Prepare(dir, layers)
			require.NoError(t, err)
			mountRootfs(t, rootfs)

			require.NoError(t, os.Remove(filepath.Join(rootfs.Path, "bin/ls")))
			require.NoError(t, os.WriteFile(filepath.Join(rootfs.Path, "etc/passwd"), []byte("changed\n"), 0o644))
			require.NoError(t, os.WriteFile(filepath.Join(rootfs.Path, "marker"), []byte("data\n"), 0o644))
			require.FileExists(t, filepath.Join(layers[0], "bin/ls"), "the image layer is untouched")
			orig, err := os.ReadFile(filepath.Join(layers[0], "etc/passwd"))
			require.NoError(t, err)
			require.Contains(t, string(orig), "root:x:0:0")

			changes, err := d.Changes(dir, layers)
			require.NoError(t, err)
			var diff bytes.Buffer
			_, err = io.Copy(&diff, changes)
			require.NoError(t, err)
			require.NoError(t, changes.Close())
			names := tarNames(t, bytes.NewReader(diff.Bytes()))
			require.Contains(t, names, "bin/.wh.ls")
			require.Contains(t, names, "etc/passwd")
			require.Contains(t, names, "marker")
			require.NotContains(t, names, "bin/cat", "unchanged files are not in the diff")

			next, err := s.Commit(img, &diff, "next", img.Config.Config, "")
			require.NoError(t, err)
			nextLayers, err := s.LayerDirs(next)
			require.NoError(t, err)
			require.Len(t, nextLayers, 2)

			var export bytes.Buffer
			require.NoError(t, d.Export(dir, layers, &export))
			exported := tarNames(t, &export)
			require.Contains(t, exported, "marker")
			require.Contains(t, exported, "bin/cat")
			require.NotContains(t, exported, "bin/ls", "a deleted file is not exported")

			// The committed image, seen through a fresh container, has the same view.
			dir2 := t.TempDir()
			rootfs2, err := d.Prepare(dir2, nextLayers)
			require.NoError(t, err)
			unmount := mountRootfs(t, rootfs2)
			require.NoFileExists(t, filepath.Join(rootfs2.Path, "bin/ls"))
			data, err := os.ReadFile(filepath.Join(rootfs2.Path, "marker"))
			require.NoError(t, err)
			require.Equal(t, "data\n", string(data))

			unmount()
			require.NoError(t, d.Remove(dir2))
			require.NoDirExists(t, dir2)
		})
	}
}

func BenchmarkPrepareOverlay(b *testing.B) {
	layers := []string{"/var/lib/mydocker/image/layers/sha256/x/diff"}
	for range b.N {
		if _, err := (overlayDriver{}).Prepare(b.TempDir(), layers); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkImportBusybox(b *testing.B) {
	data, err := os.ReadFile(testutil.BusyboxTar(b))
	if err != nil {
		b.Fatal(err)
	}
	for range b.N {
		s, err := Open(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Import(bytes.NewReader(data), "busybox", nil); err != nil {
			b.Fatal(err)
		}
	}
}
