package workspace

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// layer makes a layer directory from a list of entries: "path" a file holding its own name,
// "path/" a directory, "path -> target" a symlink.
func layer(t *testing.T, entries ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, e := range entries {
		name, target, isLink := strings.Cut(e, " -> ")
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		switch {
		case isLink:
			require.NoError(t, os.Symlink(target, p))
		case strings.HasSuffix(name, "/"):
			require.NoError(t, os.MkdirAll(p, 0o755))
		default:
			require.NoError(t, os.WriteFile(p, []byte(name), 0o644))
		}
	}
	return dir
}

func TestReadImageFileStaysInTheImage(t *testing.T) {
	host := t.TempDir()
	hostFile := filepath.Join(host, "secret")
	require.NoError(t, os.WriteFile(hostFile, []byte("host secret"), 0o600))
	for _, tc := range []struct {
		name   string
		layers [][]string
		want   string // "" for an error
	}{
		{"a plain file", [][]string{{"etc/passwd"}}, "etc/passwd"},
		{"an absolute link to a host path", [][]string{{"etc/passwd -> " + hostFile}}, ""},
		{"an absolute link, resolved in the image", [][]string{{"etc/passwd -> /data/pw", "data/pw"}}, "data/pw"},
		{"a relative link climbing out", [][]string{{"etc/passwd -> ../../../../../../" + hostFile}}, ""},
		{"a directory link to the host", [][]string{{"etc -> " + host}}, ""},
		{"a directory link inside", [][]string{{"etc -> /real", "real/passwd"}}, "real/passwd"},
		{"the upper layer's file", [][]string{{"etc/passwd"}, {"etc/passwd -> /other", "other"}}, "other"},
		{"a link in a lower layer, shadowed by an upper directory", [][]string{{"etc -> " + host}, {"etc/"}}, ""},
		{"a file of a lower layer through an upper link", [][]string{{"lib/passwd"}, {"etc -> lib"}}, "lib/passwd"},
		{"a loop", [][]string{{"etc/passwd -> /etc/passwd"}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var layers []string
			for _, l := range tc.layers {
				layers = append(layers, layer(t, l...))
			}
			data, err := ReadImageFile(layers, "etc/passwd")
			if tc.want == "" {
				require.Error(t, err)
				require.NotContains(t, string(data), "host secret")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, string(data))
		})
	}
}

// A FIFO in place of /etc/passwd is refused at once (Docker 20.10 hangs on it), and so is a
// file too big to be one.
func TestReadImageFileRefusesWhatIsNotAFile(t *testing.T) {
	dir := layer(t, "etc/")
	require.NoError(t, unix.Mkfifo(filepath.Join(dir, "etc/passwd"), 0o644))
	done := make(chan error, 1)
	go func() { _, err := ReadImageFile([]string{dir}, "/etc/passwd"); done <- err }()
	select {
	case err := <-done:
		require.ErrorContains(t, err, "not a regular file")
	case <-time.After(5 * time.Second):
		t.Fatal("reading a FIFO as /etc/passwd blocked")
	}
	big := layer(t, "etc/")
	require.NoError(t, os.WriteFile(filepath.Join(big, "etc/passwd"), make([]byte, maxImageFile+1), 0o644))
	_, err := ReadImageFile([]string{big}, "/etc/passwd")
	require.ErrorContains(t, err, "allowed")
}
