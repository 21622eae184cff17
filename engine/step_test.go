package engine

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mydocker/mydocker/workspace"
)

// tarOf is a tar of headers (a regular file's body its name).
func tarOf(t *testing.T, hdrs ...tar.Header) io.Reader {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range hdrs {
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(h.Name))
		}
		require.NoError(t, tw.WriteHeader(&h))
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(h.Name))
		}
	}
	require.NoError(t, tw.Close())
	return &buf
}

func entryNames(t *testing.T, r io.Reader) []string {
	var out []string
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		require.NoError(t, err)
		out = append(out, hdr.Name)
	}
}

func TestStepLayerLeavesOutWhatTheRuntimeMade(t *testing.T) {
	image := t.TempDir()
	for _, d := range []string{"etc", "dev", "var"} {
		require.NoError(t, os.Mkdir(filepath.Join(image, d), 0o755))
	}
	require.NoError(t, os.WriteFile(filepath.Join(image, "etc", "passwd"), []byte("root"), 0o644))
	u := workspace.NewUnion([]string{image})
	mounts := []string{"proc", "dev", "etc/hosts", "etc/hostname", "etc/resolv.conf"}
	dir := func(name string) tar.Header {
		return tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: 0o755}
	}
	file := func(name string) tar.Header { return tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644} }

	// What a RUN true leaves: the mount points, in a copied-up /etc.
	r, empty, err := stepLayer(tarOf(t, dir("etc/"), file("etc/hostname"), file("etc/hosts"), file("etc/resolv.conf"), dir("proc/")), u, mounts)
	require.NoError(t, err)
	require.True(t, empty, "nothing the command wrote: no layer")
	require.Nil(t, r)

	r, empty, err = stepLayer(tarOf(t, dir("etc/"), file("etc/hosts"), file("etc/passwd"), dir("var/"), dir("var/lib/"), file("var/lib/x"), dir("dev/")), u, mounts)
	require.NoError(t, err)
	require.False(t, empty)
	require.Equal(t, []string{"etc/", "etc/passwd", "var/", "var/lib/", "var/lib/x"}, entryNames(t, r),
		"the directories on the way to what the command wrote stay, the mount points go")

	changed := dir("etc/")
	changed.Mode = 0o700
	r, empty, err = stepLayer(tarOf(t, changed, file("etc/hosts")), u, mounts)
	require.NoError(t, err)
	require.False(t, empty)
	require.Equal(t, []string{"etc/"}, entryNames(t, r), "a directory the command changed stays")
}
