package workspace

import (
	"os"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// listTree lists a directory's entries below it: "name/" for a directory, with its mode when
// not 0755 (directories) or 0644 (files).
func listTree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	require.NoError(t, filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || p == dir {
			return err
		}
		name, _ := filepath.Rel(dir, p)
		switch {
		case fi.IsDir() && fi.Mode().Perm() != 0o755:
			name += "/ " + fi.Mode().Perm().String()
		case fi.IsDir():
			name += "/"
		case fi.Mode().Perm() != 0o644 || fi.Size() != 0:
			name += " " + fi.Mode().String()
		}
		out = append(out, name)
		return nil
	}))
	sort.Strings(out)
	return out
}

// An init layer holds the mount points an image lacks, empty, and nothing else; the images
// that lack the same share one layer, and an image that lacks none needs none.
func TestInitLayerHoldsTheMountPointsTheImageLacks(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the layer's files keep the image's owner")
	}
	s, err := Open(t.TempDir())
	require.NoError(t, err)
	mountDirs := []string{"proc/", "sys/", "dev/"}
	busybox := layer(t, append(mountDirs, "etc/passwd", "bin/sh")...)
	complete := layer(t, append(mountDirs, "etc/hostname", "etc/hosts", "etc/resolv.conf")...)
	scratch := layer(t, "hello")
	linkedEtc := layer(t, append(mountDirs, "etc -> /private/etc", "private/etc/passwd")...)
	privateEtc := layer(t, append(mountDirs, "etc/passwd")...)
	require.NoError(t, os.Chmod(filepath.Join(privateEtc, "etc"), 0o750))
	require.NoError(t, os.Chown(filepath.Join(privateEtc, "etc"), 0, 42))

	for _, tc := range []struct {
		name   string
		layers []string
		want   []string // nil: no init layer
	}{
		{"an image with /etc but not the files the engine mounts", []string{busybox}, []string{"etc/", "etc/hostname", "etc/hosts", "etc/resolv.conf"}},
		{"the same, under a layer that adds one of them", []string{busybox, layer(t, "etc/hosts")}, []string{"etc/", "etc/hostname", "etc/resolv.conf"}},
		{"an image with them all", []string{complete}, nil},
		{"a layer deleting one", []string{complete, whiteoutLayer(t, "etc/hosts")}, []string{"etc/", "etc/hosts"}},
		{"an image of one file", []string{scratch}, []string{"dev/", "etc/", "etc/hostname", "etc/hosts", "etc/resolv.conf", "proc/", "sys/"}},
		{"an /etc that is a symlink: the init follows it", []string{linkedEtc}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, err := s.InitLayer(tc.layers)
			require.NoError(t, err)
			if tc.want == nil {
				require.Empty(t, dir)
				return
			}
			require.Equal(t, tc.want, listTree(t, dir))
			again, err := s.InitLayer(tc.layers)
			require.NoError(t, err)
			require.Equal(t, dir, again)
		})
	}

	t.Run("its /etc is the image's, mode and owner", func(t *testing.T) {
		dir, err := s.InitLayer([]string{privateEtc})
		require.NoError(t, err)
		require.Equal(t, []string{"etc/ -rwxr-x---", "etc/hostname", "etc/hosts", "etc/resolv.conf"}, listTree(t, dir))
		fi, err := os.Stat(filepath.Join(dir, "etc"))
		require.NoError(t, err)
		require.Equal(t, uint32(42), fi.Sys().(*syscall.Stat_t).Gid)
		other, err := s.InitLayer([]string{busybox})
		require.NoError(t, err)
		require.NotEqual(t, dir, other, "a layer per /etc mode and owner")
	})

	t.Run("starts making the same layer at once share it", func(t *testing.T) {
		image := []string{layer(t, "etc/passwd")}
		dirs := make([]string, 8)
		var wg sync.WaitGroup
		for i := range dirs {
			wg.Go(func() {
				dir, err := s.InitLayer(image)
				require.NoError(t, err)
				dirs[i] = dir
			})
		}
		wg.Wait()
		for _, d := range dirs {
			require.Equal(t, dirs[0], d)
		}
		require.Equal(t, []string{"dev/", "etc/", "etc/hostname", "etc/hosts", "etc/resolv.conf", "proc/", "sys/"}, listTree(t, dirs[0]))
		made, err := filepath.Glob(filepath.Join(s.dir, "init", ".making-*"))
		require.NoError(t, err)
		require.Empty(t, made, "no half-made layer is left")
	})
}

// whiteoutLayer is a layer that deletes name (overlayfs's 0/0 character device).
func whiteoutLayer(t *testing.T, name string) string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, name)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, syscall.Mknod(p, syscall.S_IFCHR, 0))
	return dir
}
