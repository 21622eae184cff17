package workspace

import (
	"archive/tar"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/mydocker/mydocker/internal/testutil"
)

// capNetRaw is what `setcap cap_net_raw+ep` writes: a revision 2 vfs_cap_data (magic with
// the effective flag, then permitted and inheritable, low and high words) granting
// CAP_NET_RAW (13).
func capNetRaw() string {
	b := make([]byte, 20)
	binary.LittleEndian.PutUint32(b[0:], 0x02000000|0x1)
	binary.LittleEndian.PutUint32(b[4:], 1<<unix.CAP_NET_RAW)
	return string(b)
}

// capNetRawV3 is the same capability as a user namespace whose root is host uid rootid sets it.
func capNetRawV3(rootid uint32) string {
	b := []byte(capNetRaw())
	b[3] = 3
	return string(binary.LittleEndian.AppendUint32(b, rootid))
}

func xattrOf(t *testing.T, path, name string) (string, bool) {
	t.Helper()
	v, err := getXattr(path, name)
	if errors.Is(err, unix.ENODATA) || errors.Is(err, unix.ENOTSUP) { // ENOTSUP: a namespace the kernel does not know
		return "", false
	}
	require.NoError(t, err, "%s of %s", name, path)
	return string(v), true
}

// tarXattrs maps each entry of a tar to its xattrs.
func tarXattrs(t *testing.T, r io.Reader) map[string]map[string]string {
	t.Helper()
	out := map[string]map[string]string{}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		require.NoError(t, err)
		for k, v := range hdr.PAXRecords {
			if name, ok := strings.CutPrefix(k, paxXattr); ok {
				if out[hdr.Name] == nil {
					out[hdr.Name] = map[string]string{}
				}
				out[hdr.Name][name] = v
			}
		}
	}
}

// A container's files keep their xattrs through commit (its upper directory as a layer tar),
// unpack, and export (the merged view as a tar): a capability set with setcap, user.* and
// trusted.* attributes; overlay's own marks stay out of the tars.
func TestXattrsKeptThroughCommitUnpackExport(t *testing.T) {
	testutil.RequiresRoot(t) // security.capability needs CAP_SETFCAP, trusted.* CAP_SYS_ADMIN
	upper := t.TempDir()
	write := func(name string) string {
		p := filepath.Join(upper, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(name), 0o755))
		return p
	}
	ping := write("bin/ping")
	require.NoError(t, unix.Lsetxattr(ping, capabilityXattr, []byte(capNetRaw()), 0))
	nsPing := write("bin/ping-ns")
	require.NoError(t, unix.Lsetxattr(nsPing, capabilityXattr, []byte(capNetRawV3(100000)), 0))
	note := write("etc/note")
	require.NoError(t, unix.Lsetxattr(note, "user.x", []byte("1"), 0))
	require.NoError(t, unix.Lsetxattr(note, "trusted.mine", []byte("t"), 0))
	require.NoError(t, unix.Lsetxattr(filepath.Join(upper, "etc"), "user.dir", []byte("d"), 0))
	write("var/kept")
	require.NoError(t, markOpaque(filepath.Join(upper, "var")))
	require.NoError(t, unix.Lsetxattr(filepath.Join(upper, "var/kept"), "trusted.overlay.origin", []byte("x"), 0))

	var layer bytes.Buffer
	require.NoError(t, writeDiff(&layer, upper))
	want := map[string]map[string]string{
		"bin/ping":    {capabilityXattr: capNetRaw()},
		"bin/ping-ns": {capabilityXattr: capNetRaw()}, // revision 3 written as 2, as Docker does
		"etc/":        {"user.dir": "d"},
		"etc/note":    {"user.x": "1", "trusted.mine": "t"},
	}
	require.Equal(t, want, tarXattrs(t, bytes.NewReader(layer.Bytes())), "the layer's xattrs, and no overlay mark among them")

	dest := filepath.Join(t.TempDir(), "layer")
	_, err := unpackLayer(bytes.NewReader(layer.Bytes()), dest)
	require.NoError(t, err)
	for name, xattrs := range want {
		for k, v := range xattrs {
			got, ok := xattrOf(t, filepath.Join(dest, name), k)
			require.True(t, ok, "%s lost %s", name, k)
			require.Equal(t, v, got, "%s of %s", k, name)
		}
	}
	require.True(t, isOpaqueDir(filepath.Join(dest, "var")), "var's opaque mark came back from its .wh..wh..opq")
	_, ok := xattrOf(t, filepath.Join(dest, "var/kept"), "trusted.overlay.origin")
	require.False(t, ok)

	var export bytes.Buffer
	require.NoError(t, writeUnion(&export, []string{dest}))
	got := tarXattrs(t, &export)
	require.Equal(t, want["bin/ping"], got["bin/ping"], "export keeps the capability")
	require.Equal(t, want["etc/note"], got["etc/note"])

	// The vfs driver's copy keeps them too, and its changes see a capability set in the copy.
	dir := t.TempDir()
	_, err = vfsDriver{}.Prepare(dir, []string{dest})
	require.NoError(t, err)
	got1, ok := xattrOf(t, filepath.Join(dir, "rootfs/bin/ping"), capabilityXattr)
	require.True(t, ok, "the vfs copy lost the capability")
	require.Equal(t, capNetRaw(), got1)
	require.NoError(t, unix.Lsetxattr(filepath.Join(dir, "rootfs/etc/note"), "user.x", []byte("2"), 0))
	changes, err := vfsDriver{}.Changes(dir, []string{dest})
	require.NoError(t, err)
	defer changes.Close()
	require.Equal(t, map[string]map[string]string{"etc/note": {"user.x": "2", "trusted.mine": "t"}}, tarXattrs(t, changes),
		"a changed xattr is a change (setfattr moves no time)")
}

// What a tar may ask of xattrs, hostile or odd: each case is kept, skipped or refused by the
// rules in xattr.go.
func TestUnpackXattrEdges(t *testing.T) {
	testutil.RequiresRoot(t)
	for _, tc := range []struct {
		name    string
		entries []entry
		err     string                       // the error, when the layer is refused
		want    map[string]map[string]string // path -> xattr -> value ("" absent)
	}{
		{
			name: "on a symlink, what the kernel cannot hold there is skipped",
			entries: []entry{{name: "target", body: "x"}, {name: "link", typ: tar.TypeSymlink, link: "target",
				xattrs: map[string]string{"user.x": "1", capabilityXattr: capNetRaw(), "trusted.t": "kept"}}},
			want: map[string]map[string]string{"link": {"user.x": "", capabilityXattr: "", "trusted.t": "kept"}, "target": {"user.x": ""}},
		},
		{
			name:    "a value bigger than the kernel holds",
			entries: []entry{{name: "big", body: "x", xattrs: map[string]string{"user.big": strings.Repeat("v", 70000)}}},
			err:     "xattr user.big: the value is 70000 bytes, the kernel holds at most 65536",
		},
		{
			name:    "a name longer than the kernel takes",
			entries: []entry{{name: "long", body: "x", xattrs: map[string]string{"user." + strings.Repeat("n", 300): "1"}}},
			err:     "the name is 305 bytes, the kernel takes at most 255",
		},
		{
			name: "overlay's own marks and names outside the kept namespaces are ignored",
			entries: []entry{{name: "d/", typ: tar.TypeDir, mode: 0o755, xattrs: map[string]string{
				"trusted.overlay.opaque": "y", "trusted.overlay.redirect": "/etc", "user.overlay.opaque": "y",
				"system.posix_acl_access": "junk", "other.name": "1", "user.kept": "k"}}},
			want: map[string]map[string]string{"d": {"trusted.overlay.opaque": "", "trusted.overlay.redirect": "",
				"user.overlay.opaque": "", "other.name": "", "user.kept": "k"}},
		},
		{
			name: "a capability on a fifo is skipped, on a file set",
			entries: []entry{{name: "fifo", typ: tar.TypeFifo, xattrs: map[string]string{capabilityXattr: capNetRaw()}},
				{name: "ping", body: "elf", mode: 0o755, xattrs: map[string]string{capabilityXattr: capNetRaw()}}},
			want: map[string]map[string]string{"fifo": {capabilityXattr: ""}, "ping": {capabilityXattr: capNetRaw()}},
		},
		{
			name:    "a hard link takes its target's, not its own",
			entries: []entry{{name: "a", body: "x", xattrs: map[string]string{"user.a": "1"}}, {name: "b", typ: tar.TypeLink, link: "a", xattrs: map[string]string{"user.b": "2"}}},
			want:    map[string]map[string]string{"b": {"user.a": "1", "user.b": ""}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dest := filepath.Join(t.TempDir(), "layer")
			_, err := unpackLayer(buildTar(t, tc.entries...), dest)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			for path, xattrs := range tc.want {
				for name, value := range xattrs {
					got, ok := xattrOf(t, filepath.Join(dest, path), name)
					if value == "" {
						require.False(t, ok, "%s has %s", path, name)
						continue
					}
					require.True(t, ok, "%s lacks %s", path, name)
					require.Equal(t, value, got, "%s of %s", name, path)
				}
			}
		})
	}
}
