package workspace

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/mydocker/mydocker/internal/testutil"
)

// entry describes one tar entry for the in-memory archives below.
type entry struct {
	name, body, link string
	typ              byte
	mode             int64
	xattrs           map[string]string // name -> value, as SCHILY.xattr PAX records
}

func buildTar(t *testing.T, entries ...entry) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		mode := e.mode
		if mode == 0 {
			mode = 0o644
		}
		hdr := &tar.Header{Name: e.name, Typeflag: typ, Mode: mode, Linkname: e.link, Size: int64(len(e.body))}
		if typ != tar.TypeReg {
			hdr.Size = 0
		}
		for name, value := range e.xattrs {
			if hdr.PAXRecords == nil {
				hdr.PAXRecords, hdr.Format = map[string]string{}, tar.FormatPAX
			}
			hdr.PAXRecords[paxXattr+name] = value
		}
		require.NoError(t, tw.WriteHeader(hdr))
		if typ == tar.TypeReg {
			_, err := io.WriteString(tw, e.body)
			require.NoError(t, err)
		}
	}
	require.NoError(t, tw.Close())
	return &buf
}

func TestUnpackRefusesHostileArchives(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entries []entry
	}{
		{"absolute name", []entry{{name: "/etc/evil", body: "x"}}},
		{"dot-dot name", []entry{{name: "../evil", body: "x"}}},
		{"dot-dot inside", []entry{{name: "a/../../evil", body: "x"}}},
		{"write through a symlink", []entry{{name: "etc", typ: tar.TypeSymlink, link: "/tmp"}, {name: "etc/evil", body: "x"}}},
		{"write through a relative symlink", []entry{{name: "up", typ: tar.TypeSymlink, link: "../.."}, {name: "up/evil", body: "x"}}},
		{"hard link out", []entry{{name: "passwd", typ: tar.TypeLink, link: "../../etc/passwd"}}},
		{"hard link through a symlink", []entry{{name: "etc", typ: tar.TypeSymlink, link: "/etc"}, {name: "pw", typ: tar.TypeLink, link: "etc/passwd"}}},
		{"whiteout through a symlink", []entry{{name: "etc", typ: tar.TypeSymlink, link: "/etc"}, {name: "etc/.wh.passwd"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			outside := t.TempDir()
			dest := filepath.Join(outside, "layer")
			_, err := unpackLayer(buildTar(t, tc.entries...), dest)
			require.ErrorIs(t, err, ErrUnsafeArchive)
			require.NoFileExists(t, filepath.Join(outside, "evil"))
		})
	}
}

func TestUnpackFiles(t *testing.T) {
	dest := filepath.Join(t.TempDir(), "layer")
	u, err := unpackLayer(buildTar(t,
		entry{name: "./", typ: tar.TypeDir, mode: 0o755},
		entry{name: "bin/", typ: tar.TypeDir, mode: 0o755},
		entry{name: "bin/tool", body: "#!/bin/sh\n", mode: 0o755},
		entry{name: "bin/alias", typ: tar.TypeSymlink, link: "tool"},
		entry{name: "bin/hard", typ: tar.TypeLink, link: "bin/tool"},
		entry{name: "deep/er/file", body: "no parent entries"},
		entry{name: "bin/tool", body: "replaced\n", mode: 0o700},
	), dest)
	require.NoError(t, err)
	require.EqualValues(t, len("#!/bin/sh\n")+len("tool")+len("no parent entries")+len("replaced\n"), u.size, "contents and the symlink's target")
	require.True(t, u.rewritten, "bin/tool's first content is not in the layer: the tar cannot be put together again")

	data, err := os.ReadFile(filepath.Join(dest, "bin/tool"))
	require.NoError(t, err)
	require.Equal(t, "replaced\n", string(data), "a later entry replaces an earlier one")
	fi, err := os.Stat(filepath.Join(dest, "bin/tool"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), fi.Mode().Perm())
	link, err := os.Readlink(filepath.Join(dest, "bin/alias"))
	require.NoError(t, err)
	require.Equal(t, "tool", link)
	data, err = os.ReadFile(filepath.Join(dest, "bin/hard"))
	require.NoError(t, err)
	require.Equal(t, "#!/bin/sh\n", string(data), "the hard link was made to the file as it was then")
	require.FileExists(t, filepath.Join(dest, "deep/er/file"))
}

// treeOf lists a directory: "name type" per entry, with whiteouts and opaque marks spelled out.
func treeOf(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.Walk(dir, func(path string, fi os.FileInfo, err error) error {
		require.NoError(t, err)
		if path == dir {
			return nil
		}
		rel, _ := filepath.Rel(dir, path)
		switch {
		case isWhiteoutDevice(fi):
			rel += " whiteout"
		case fi.IsDir() && isOpaqueDir(path):
			rel += "/ opaque"
		case fi.IsDir():
			rel += "/"
		}
		out = append(out, rel)
		return nil
	})
	sort.Strings(out)
	return out
}

func TestWhiteoutsRoundTrip(t *testing.T) {
	testutil.RequiresRoot(t) // whiteouts are device nodes; the opaque mark is a trusted xattr
	dest := filepath.Join(t.TempDir(), "layer")
	_, err := unpackLayer(buildTar(t,
		entry{name: "etc/", typ: tar.TypeDir, mode: 0o755},
		entry{name: "etc/.wh.passwd"},
		entry{name: "var/", typ: tar.TypeDir, mode: 0o755},
		entry{name: "var/.wh..wh..opq"},
		entry{name: "var/new", body: "x"},
	), dest)
	require.NoError(t, err)
	require.Equal(t, []string{"etc/", "etc/passwd whiteout", "var/ opaque", "var/new"}, treeOf(t, dest))

	var buf bytes.Buffer
	require.NoError(t, writeDiff(&buf, dest))
	require.Equal(t, []string{"etc/", "etc/.wh.passwd", "var/", "var/.wh..wh..opq", "var/new"}, tarNames(t, &buf))
}

func TestUnionHonoursWhiteoutsAndOpaqueDirs(t *testing.T) {
	testutil.RequiresRoot(t)
	base := t.TempDir()
	lower, middle, upper := filepath.Join(base, "lower"), filepath.Join(base, "middle"), filepath.Join(base, "upper")
	write := func(path, body string) {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(body), 0o644))
	}
	write(filepath.Join(lower, "etc/passwd"), "root")
	write(filepath.Join(lower, "etc/group"), "root")
	write(filepath.Join(lower, "var/old"), "old")
	write(filepath.Join(lower, "bin/sh"), "lower")
	write(filepath.Join(middle, "bin/sh"), "middle")
	write(filepath.Join(middle, "var/mid"), "mid")
	require.NoError(t, markOpaque(filepath.Join(middle, "var")))
	require.NoError(t, os.MkdirAll(filepath.Join(upper, "etc"), 0o755))
	require.NoError(t, writeWhiteout(filepath.Join(upper, "etc/passwd")))
	write(filepath.Join(upper, "new"), "new")

	got := map[string]string{}
	require.NoError(t, walkUnion([]string{upper, middle, lower}, func(path, name string, fi os.FileInfo) error {
		body := ""
		if fi.Mode().IsRegular() {
			b, _ := os.ReadFile(path)
			body = string(b)
		}
		got[name] = body
		return nil
	}))
	require.Equal(t, map[string]string{
		"bin": "", "bin/sh": "middle",
		"etc": "", "etc/group": "root",
		"var": "", "var/mid": "mid",
		"new": "new",
	}, got)
}

func TestMknodNeedsNoRootForPlainFiles(t *testing.T) {
	// The unpacker must not need root for ordinary archives (unit tests run without it).
	dest := filepath.Join(t.TempDir(), "layer")
	_, err := unpackLayer(buildTar(t, entry{name: "a", body: "b"}), dest)
	require.NoError(t, err)
	var st unix.Stat_t
	require.NoError(t, unix.Stat(filepath.Join(dest, "a"), &st))
}

// A layer is the same bytes each time the same files are written, though reading them
// changed their access times: the same changes, the same diff ID.
func TestDiffIsReproducible(t *testing.T) {
	upper := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(upper, "note"), []byte("hello\n"), 0o644))
	old := time.Now().Add(-time.Hour)
	require.NoError(t, os.Chtimes(filepath.Join(upper, "note"), old, old))
	var first, second bytes.Buffer
	require.NoError(t, writeDiff(&first, upper))
	later := time.Now()
	require.NoError(t, os.Chtimes(filepath.Join(upper, "note"), later, old)) // read since
	require.NoError(t, writeDiff(&second, upper))
	require.Equal(t, first.Bytes(), second.Bytes())
}
