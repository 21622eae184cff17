package workspace

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/require"
)

// foreignTar is a layer as another tool writes it, in ways mydocker's own tar writer does
// not: GNU and USTAR headers, owner names, times to the nanosecond with access times, entries
// out of name order, a hard link, a PAX global header, and tar's 10 KiB record padding.
// Tarred again from its files it would be other bytes.
func foreignTar(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	when := time.Date(2021, 3, 4, 5, 6, 7, 891011121, time.UTC)
	add := func(h *tar.Header, body string) {
		h.Size = int64(len(body))
		if h.ModTime.IsZero() && h.Typeflag != tar.TypeXGlobalHeader {
			h.ModTime = when
		}
		require.NoError(t, tw.WriteHeader(h))
		_, err := io.WriteString(tw, body)
		require.NoError(t, err)
	}
	add(&tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: "pax_global_header", PAXRecords: map[string]string{"comment": "made elsewhere"}}, "")
	add(&tar.Header{Name: "./", Typeflag: tar.TypeDir, Mode: 0o755, Uname: "root", Gname: "root", Format: tar.FormatGNU}, "")
	add(&tar.Header{Name: "./usr/", Typeflag: tar.TypeDir, Mode: 0o755, Format: tar.FormatUSTAR}, "")
	add(&tar.Header{Name: "./usr/bin/", Typeflag: tar.TypeDir, Mode: 0o755, Format: tar.FormatUSTAR}, "")
	add(&tar.Header{Name: "./usr/bin/zz", Typeflag: tar.TypeReg, Mode: 0o755, Uname: "root", Format: tar.FormatGNU}, "#!/bin/sh\necho zz\n")
	add(&tar.Header{Name: "./usr/bin/aa", Typeflag: tar.TypeLink, Linkname: "./usr/bin/zz", Format: tar.FormatUSTAR}, "")
	add(&tar.Header{Name: "./etc/", Typeflag: tar.TypeDir, Mode: 0o755, Format: tar.FormatPAX, AccessTime: when, ChangeTime: when}, "")
	add(&tar.Header{Name: "./etc/motd", Typeflag: tar.TypeReg, Mode: 0o644, Format: tar.FormatPAX, AccessTime: when,
		PAXRecords: map[string]string{paxXattr + "user.note": "kept"}}, "hello\n")
	add(&tar.Header{Name: "./etc/empty", Typeflag: tar.TypeReg, Mode: 0o600, Format: tar.FormatGNU}, "")
	add(&tar.Header{Name: "./etc/link", Typeflag: tar.TypeSymlink, Linkname: "motd", Format: tar.FormatUSTAR}, "")
	require.NoError(t, tw.Close())
	// tar(1) pads the archive to its 10 KiB record.
	if pad := 10240 - buf.Len()%10240; pad < 10240 {
		buf.Write(make([]byte, pad))
	}
	return buf.Bytes()
}

// filesOf reads a tar archive into name -> content.
func filesOf(t *testing.T, archive []byte) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(archive))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return files
		}
		require.NoError(t, err)
		data, err := io.ReadAll(tr)
		require.NoError(t, err)
		files[hdr.Name] = data
	}
}

// dockerArchive builds a docker-archive holding one image of config over layers.
func dockerArchive(t *testing.T, config []byte, tag string, layers ...[]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(name string, data []byte) {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(data))}))
		_, err := tw.Write(data)
		require.NoError(t, err)
	}
	m := dockerManifest{Config: digest.FromBytes(config).Encoded() + ".json", RepoTags: []string{tag}}
	for _, l := range layers {
		name := digest.FromBytes(l).Encoded() + "/layer.tar"
		add(name, l)
		m.Layers = append(m.Layers, name)
	}
	add(m.Config, config)
	data, err := json.Marshal([]dockerManifest{m})
	require.NoError(t, err)
	add("manifest.json", data)
	require.NoError(t, tw.Close())
	return buf.Bytes()
}

func save(t *testing.T, s *Store, oci bool, refs ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if oci {
		require.NoError(t, s.SaveOCIArchive(&buf, refs...))
	} else {
		require.NoError(t, s.SaveDockerArchive(&buf, refs...))
	}
	return buf.Bytes()
}

// An image keeps its id and every layer its diff id through save and load, in both formats,
// however it was made: imported from another tool's tar, committed, or loaded from an
// archive whose config has fields mydocker does not know; and a loaded layer is saved as the
// very bytes it came as.
func TestSaveLoadKeepsIDs(t *testing.T) {
	foreign := foreignTar(t)
	// A config as Docker writes it: fields beyond the OCI ones, in its own order.
	foreignConfig := []byte(`{"architecture":"amd64","config":{"Env":["PATH=/bin"],"Cmd":["sh"]},"container_config":{"Hostname":"x"},"created":"2021-03-04T05:06:07.891011121Z","docker_version":"20.10.5","os":"linux","rootfs":{"type":"layers","diff_ids":["` + digest.FromBytes(foreign).String() + `"]}}`)
	for _, tc := range []struct {
		name string
		make func(t *testing.T, s *Store) *Image
	}{
		{"import", func(t *testing.T, s *Store) *Image {
			img, err := s.Import(bytes.NewReader(foreign), "img:1", nil)
			require.NoError(t, err)
			return img
		}},
		{"commit", func(t *testing.T, s *Store) *Image {
			base, err := s.Import(bytes.NewReader(foreign), "base", nil)
			require.NoError(t, err)
			upper := t.TempDir()
			require.NoError(t, os.MkdirAll(filepath.Join(upper, "etc"), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(upper, "etc", "made"), []byte("made\n"), 0o644))
			var changes bytes.Buffer
			require.NoError(t, writeDiff(&changes, upper))
			img, err := s.Commit(base, &changes, "img:1", ocispec.ImageConfig{Cmd: []string{"sh"}}, "a file")
			require.NoError(t, err)
			return img
		}},
		{"load", func(t *testing.T, s *Store) *Image {
			loaded, err := s.LoadArchive(bytes.NewReader(dockerArchive(t, foreignConfig, "img:1", foreign)), nil)
			require.NoError(t, err)
			require.Equal(t, digest.FromBytes(foreignConfig), loaded[0].ID, "a loaded image's id is its config's digest")
			img, err := s.Get("img:1")
			require.NoError(t, err)
			return img
		}},
	} {
		for _, oci := range []bool{false, true} {
			format := map[bool]string{false: "docker-archive", true: "oci"}[oci]
			t.Run(tc.name+" then save "+format, func(t *testing.T) {
				s, err := Open(t.TempDir())
				require.NoError(t, err)
				img := tc.make(t, s)
				archive := save(t, s, oci, "img:1")

				other, err := Open(t.TempDir())
				require.NoError(t, err)
				loaded, err := other.LoadArchive(bytes.NewReader(archive), nil)
				require.NoError(t, err)
				require.Equal(t, img.ID, loaded[0].ID, "the image id")
				back, err := other.Get("img:1")
				require.NoError(t, err)
				require.Equal(t, img.Config.RootFS.DiffIDs, back.Config.RootFS.DiffIDs, "every layer's diff id")
				raw, err := s.RawConfig(img)
				require.NoError(t, err)
				rawBack, err := other.RawConfig(back)
				require.NoError(t, err)
				require.Equal(t, string(raw), string(rawBack), "the config's bytes")

				// The first layer is in the archive as the very tar it came as.
				name := foreignName(oci, img.Config.RootFS.DiffIDs[0])
				require.Equal(t, foreign, filesOf(t, archive)[name], "the first layer's bytes")

				// And saved again from the second store: the same archive's layers.
				again := filesOf(t, save(t, other, oci, "img:1"))
				for _, d := range img.Config.RootFS.DiffIDs {
					require.Equal(t, filesOf(t, archive)[foreignName(oci, d)], again[foreignName(oci, d)], "layer %s saved again", d)
				}
			})
		}
	}
}

func foreignName(oci bool, d digest.Digest) string {
	if oci {
		return "blobs/sha256/" + d.Encoded()
	}
	return d.Encoded() + "/layer.tar"
}

// A layer stored without tar-split's record (before mydocker kept them, or one whose tar the
// files cannot give back) is tarred again: the archive is consistent, under other ids.
func TestSaveWithoutRecordTarsAgain(t *testing.T) {
	for _, tc := range []struct {
		name  string
		layer []byte
		strip bool // remove the record, as a store made before it was kept
	}{
		{"a layer stored before records were kept", foreignTar(t), true},
		{"a name held twice", buildTar(t, entry{name: "a", body: "first"}, entry{name: "a", body: "second"}).Bytes(), false},
		{"a file deleted by a whiteout of its own layer", buildTar(t, entry{name: "d/", typ: tar.TypeDir, mode: 0o755}, entry{name: "d/f", body: "gone"}, entry{name: "d/.wh.f"}).Bytes(), false},
		{"content carried by a whiteout", buildTar(t, entry{name: ".wh.x", body: "lost"}).Bytes(), false},
		{"a directory replaced by a file", buildTar(t, entry{name: "d/f", body: "in d"}, entry{name: "d", body: "now a file"}).Bytes(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(t.TempDir())
			require.NoError(t, err)
			img, err := s.Import(bytes.NewReader(tc.layer), "img:1", nil)
			require.NoError(t, err)
			d := img.Config.RootFS.DiffIDs[0]
			record := filepath.Join(s.layerDir(d), tarSplitFile)
			if tc.strip {
				require.NoError(t, os.Remove(record))
			}
			require.NoFileExists(t, record)

			other, err := Open(t.TempDir())
			require.NoError(t, err)
			loaded, err := other.LoadArchive(bytes.NewReader(save(t, s, false, "img:1")), nil)
			require.NoError(t, err, "the archive is consistent")
			require.NotEqual(t, img.ID, loaded[0].ID, "tarred again: another layer, another image")
			back, err := other.Get("img:1")
			require.NoError(t, err)
			require.Equal(t, img.Config.Config, back.Config.Config, "the same config but for its layers")
		})
	}
}

// A layer whose files changed in the store no longer gives its tar back: save fails, naming
// the layer, and writes no other bytes under its name.
func TestSaveRefusesAChangedLayer(t *testing.T) {
	s, err := Open(t.TempDir())
	require.NoError(t, err)
	img, err := s.Import(bytes.NewReader(foreignTar(t)), "img:1", nil)
	require.NoError(t, err)
	d := img.Config.RootFS.DiffIDs[0]
	for _, tc := range []struct {
		name, content, err string
	}{
		{"same size", "HELLO\n", "checksum failed"},
		{"longer", "hello, world\n", "layer " + d.String()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, os.WriteFile(filepath.Join(s.layerDir(d), "diff", "etc", "motd"), []byte(tc.content), 0o644))
			err := s.SaveDockerArchive(io.Discard, "img:1")
			require.ErrorContains(t, err, tc.err)
			require.ErrorContains(t, err, d.String())
		})
	}
}

// A failed import leaves no record, no temporary directory and no goroutine behind.
func TestFailedImportLeavesNothing(t *testing.T) {
	s, err := Open(t.TempDir())
	require.NoError(t, err)
	whole := foreignTar(t)
	before := runtime.NumGoroutine()
	for _, bad := range [][]byte{
		whole[:bytes.Index(whole, []byte("echo zz"))], // cut in a file's content
		buildTar(t, entry{name: "ok", body: "x"}, entry{name: "../escape", body: "x"}).Bytes(),
	} {
		_, err := s.Import(bytes.NewReader(bad), "bad", nil)
		require.Error(t, err)
	}
	require.Equal(t, before, runtime.NumGoroutine(), "the hashing and recording goroutines ended")
	tmp, err := os.ReadDir(filepath.Join(s.dir, "tmp"))
	require.NoError(t, err)
	require.Empty(t, tmp)
}
