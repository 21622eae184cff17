package workspace

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"os"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/stretchr/testify/require"
)

func notInUse(digest.Digest) (string, error) { return "", nil }

func TestImportGetListRemove(t *testing.T) {
	s, err := Open(t.TempDir())
	require.NoError(t, err)
	tarball := buildTar(t, entry{name: "bin/", typ: tar.TypeDir, mode: 0o755}, entry{name: "bin/sh", body: "shell", mode: 0o755})
	raw := tarball.Bytes()

	img, err := s.Import(bytes.NewReader(raw), "busybox", []string{`CMD ["sh"]`, "ENV A=1", "WORKDIR /srv"})
	require.NoError(t, err)
	require.Equal(t, []string{"busybox:latest"}, img.RepoTags)
	require.Equal(t, digest.FromBytes(raw), img.Config.RootFS.DiffIDs[0], "the diff id is the sha256 of the uncompressed tar")
	require.Equal(t, []string{"sh"}, img.Config.Config.Cmd)
	require.Equal(t, []string{defaultPath, "A=1"}, img.Config.Config.Env)
	require.Equal(t, "/srv", img.Config.Config.WorkingDir)
	require.EqualValues(t, len("shell"), img.Size)

	for _, ref := range []string{"busybox", "busybox:latest", img.ID.String(), img.ID.Encoded(), img.ID.Encoded()[:6]} {
		got, err := s.Get(ref)
		require.NoError(t, err, ref)
		require.Equal(t, img.ID, got.ID, ref)
	}
	_, err = s.Get("nothere")
	require.ErrorIs(t, err, ErrImageNotFound)
	require.ErrorContains(t, err, `"nothere"`, "the error names the image (the command line adds how to import one)")

	// The same content compressed is the same layer, stored once.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	img2, err := s.Import(&gz, "other:v1", nil)
	require.NoError(t, err)
	require.Equal(t, img.Config.RootFS.DiffIDs, img2.Config.RootFS.DiffIDs)
	layers, err := os.ReadDir(s.dir + "/layers/sha256")
	require.NoError(t, err)
	require.Len(t, layers, 1)

	dirs, err := s.LayerDirs(img)
	require.NoError(t, err)
	require.FileExists(t, dirs[0]+"/bin/sh")

	all, err := s.List()
	require.NoError(t, err)
	require.Len(t, all, 2)
	require.Equal(t, img2.ID, all[0].ID, "newest first")

	require.NoError(t, s.Tag(img.ID, "busybox:v2"))
	untagged, deleted, err := s.Remove("busybox:v2", false, notInUse)
	require.NoError(t, err)
	require.Equal(t, []string{"busybox:v2"}, untagged)
	require.Empty(t, deleted, "removing one of several tags only untags")

	_, _, err = s.Remove("busybox", false, func(digest.Digest) (string, error) { return "3f2a", nil })
	require.ErrorIs(t, err, ErrImageInUse)
	require.ErrorContains(t, err, "container 3f2a is using it", "the error names who uses it")
	_, _, err = s.Remove("busybox", false, func(digest.Digest) (string, error) { return "", errors.New("unreadable holds") })
	require.ErrorContains(t, err, "unreadable holds", "an error reading who uses it refuses")
	_, err = s.Get("busybox")
	require.NoError(t, err, "and keeps the image")

	untagged, deleted, err = s.Remove("busybox", false, notInUse)
	require.NoError(t, err)
	require.Equal(t, []string{"busybox:latest"}, untagged)
	require.Equal(t, []digest.Digest{img.ID}, deleted)
	require.DirExists(t, dirs[0], "the layer stays while other:v1 uses it")
	_, _, err = s.Remove("other:v1", false, notInUse)
	require.NoError(t, err)
	require.NoDirExists(t, dirs[0], "the last image using a layer takes it along")
}

func TestImportRejectsBadInput(t *testing.T) {
	s, err := Open(t.TempDir())
	require.NoError(t, err)
	_, err = s.Import(buildTar(t, entry{name: "a", body: "b"}), "Bad Name", nil)
	require.ErrorContains(t, err, "invalid reference format")
	_, err = s.Import(buildTar(t, entry{name: "a", body: "b"}), "ok", []string{"RUN rm -rf /"})
	require.ErrorContains(t, err, "only CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL, EXPOSE, STOPSIGNAL and VOLUME are supported")
	_, err = s.Import(buildTar(t, entry{name: "../a", body: "b"}), "ok", nil)
	require.ErrorIs(t, err, ErrUnsafeArchive)
	tmp, err := os.ReadDir(s.dir + "/tmp")
	require.NoError(t, err)
	require.Empty(t, tmp, "a failed import leaves nothing behind")
	_, err = s.Get("ok")
	require.ErrorIs(t, err, ErrImageNotFound)
}

func TestParallelImports(t *testing.T) {
	root := t.TempDir()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Open(root)
			if err == nil {
				_, err = s.Import(buildTar(t, entry{name: "f", body: string(rune('a' + i))}), "img:"+string(rune('a'+i)), nil)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	s, _ := Open(root)
	all, err := s.List()
	require.NoError(t, err)
	require.Len(t, all, 8)
	tags := 0
	for _, img := range all {
		tags += len(img.RepoTags)
	}
	require.Equal(t, 8, tags, "no tag lost to a concurrent write of repositories.json")
}

func TestCommitStacksALayer(t *testing.T) {
	s, err := Open(t.TempDir())
	require.NoError(t, err)
	base, err := s.Import(buildTar(t, entry{name: "a", body: "1"}), "base", []string{`CMD ["sh"]`})
	require.NoError(t, err)
	img, err := s.Commit(base, buildTar(t, entry{name: "b", body: "2"}), "next:v1", ocispec.ImageConfig{Cmd: []string{"true"}}, "msg")
	require.NoError(t, err)
	require.Len(t, img.Config.RootFS.DiffIDs, 2)
	require.Equal(t, base.Config.RootFS.DiffIDs[0], img.Config.RootFS.DiffIDs[0])
	require.Len(t, img.Config.History, 2)
	require.Equal(t, "msg", img.Config.History[1].Comment)
	require.Equal(t, []string{"true"}, img.Config.Config.Cmd)
	dirs, err := s.LayerDirs(img)
	require.NoError(t, err)
	require.FileExists(t, dirs[0]+"/a")
	require.FileExists(t, dirs[1]+"/b")
}

// A commit of a container that changed nothing adds no layer, only its history entry, marked
// empty as Docker marks it.
func TestCommitOfNoChangeAddsNoLayer(t *testing.T) {
	s, err := Open(t.TempDir())
	require.NoError(t, err)
	base, err := s.Import(buildTar(t, entry{name: "a", body: "1"}), "base", nil)
	require.NoError(t, err)
	img, err := s.Commit(base, buildTar(t), "same", base.Config.Config, "nothing")
	require.NoError(t, err)
	require.Equal(t, base.Config.RootFS.DiffIDs, img.Config.RootFS.DiffIDs)
	require.Len(t, img.Config.History, 2)
	require.True(t, img.Config.History[1].EmptyLayer)
	require.NotEqual(t, base.ID, img.ID)
}

func TestNormalizeRef(t *testing.T) {
	for in, want := range map[string]string{
		"busybox":                 "busybox:latest",
		"busybox:1.36":            "busybox:1.36",
		"library/busybox":         "library/busybox:latest",
		"localhost:5000/app":      "localhost:5000/app:latest",
		"localhost:5000/app:v2":   "localhost:5000/app:v2",
		"registry.example/a/b:c1": "registry.example/a/b:c1",
		"docker.io/library/sk:1":  "sk:1",
		"docker.io/someone/app":   "someone/app:latest",
	} {
		got, err := normalizeRef(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "UPPER", "a b", "x:", "x:-bad", "a//b"} {
		_, err := normalizeRef(bad)
		require.Error(t, err, bad)
	}
}

func TestApplyChanges(t *testing.T) {
	c, err := ApplyChanges(ocispec.ImageConfig{Env: []string{"PATH=/bin"}}, []string{
		`CMD echo hi`, `ENTRYPOINT ["/bin/tini", "--"]`, `ENV PATH=/usr/bin`, `ENV NAME value`, `workdir /app`,
	})
	require.NoError(t, err)
	require.Equal(t, []string{"/bin/sh", "-c", "echo hi"}, c.Cmd, "the shell form runs under sh -c")
	require.Equal(t, []string{"/bin/tini", "--"}, c.Entrypoint)
	require.Equal(t, []string{"PATH=/usr/bin", "NAME=value"}, c.Env)
	require.Equal(t, "/app", c.WorkingDir)
	_, err = ApplyChanges(ocispec.ImageConfig{}, []string{"WORKDIR relative"})
	require.ErrorContains(t, err, "absolute")
	_, err = ApplyChanges(ocispec.ImageConfig{}, []string{"ENV"})
	require.ErrorContains(t, err, "KEY=VALUE")

	base := ocispec.ImageConfig{Labels: map[string]string{"a": "1"}}
	c, err = ApplyChanges(base, []string{`USER daemon`, `LABEL tier="web"`, `EXPOSE 80 53/udp`, `STOPSIGNAL SIGINT`, `VOLUME ["/data"]`})
	require.NoError(t, err)
	require.Equal(t, "daemon", c.User)
	require.Equal(t, map[string]string{"a": "1", "tier": "web"}, c.Labels)
	require.Equal(t, map[string]string{"a": "1"}, base.Labels, "the base config is not changed")
	require.Equal(t, map[string]struct{}{"80/tcp": {}, "53/udp": {}}, c.ExposedPorts)
	require.Equal(t, "SIGINT", c.StopSignal)
	require.Equal(t, map[string]struct{}{"/data": {}}, c.Volumes)
}

func TestParseVolume(t *testing.T) {
	host := t.TempDir()
	m, err := ParseVolume(host + ":/data:ro")
	require.NoError(t, err)
	require.Equal(t, "bind", m.Type)
	require.Equal(t, host, m.Source)
	require.Equal(t, "/data", m.Destination)
	require.Equal(t, []string{"rbind", "rprivate", "ro"}, m.Options)

	created := host + "/new/dir"
	m, err = ParseVolume(created + ":/x")
	require.NoError(t, err)
	require.Contains(t, m.Options, "rw")
	require.NoDirExists(t, created, "parsing only reads")

	made, err := MakeVolumeSources([]specs.Mount{m})
	require.NoError(t, err)
	require.Equal(t, []string{host + "/new", created}, made)
	require.DirExists(t, created, "a missing host directory is created, as Docker does")
	RemoveVolumeSources(made)
	require.NoDirExists(t, host+"/new", "what was made for a container that was not created is removed")

	for _, bad := range []string{"/a", "relative:/data", host + ":relative", host + ":/data:rx", host + ":/", "a:b:c:d"} {
		_, err := ParseVolume(bad)
		require.Error(t, err, bad)
	}
}

func TestSaveDockerArchive(t *testing.T) {
	s, err := Open(t.TempDir())
	require.NoError(t, err)
	base, err := s.Import(buildTar(t, entry{name: "a", body: "1"}), "base", []string{`CMD ["sh"]`})
	require.NoError(t, err)
	_, err = s.Commit(base, buildTar(t, entry{name: "b", body: "2"}), "next", base.Config.Config, "")
	require.NoError(t, err)

	var buf bytes.Buffer
	require.NoError(t, s.SaveDockerArchive(&buf, "base", "next"))
	files := map[string][]byte{}
	tr := tar.NewReader(&buf)
	for {
		hdr, err := tr.Next()
		if err != nil {
			break
		}
		data := new(bytes.Buffer)
		data.ReadFrom(tr)
		files[hdr.Name] = data.Bytes()
	}
	var manifest []dockerManifest
	require.NoError(t, json.Unmarshal(files["manifest.json"], &manifest))
	require.Len(t, manifest, 2)
	require.Equal(t, []string{"next:latest"}, manifest[1].RepoTags)
	require.Len(t, manifest[1].Layers, 2)
	require.Equal(t, manifest[0].Layers[0], manifest[1].Layers[0], "a shared layer is saved once")
	for _, m := range manifest {
		var config ocispec.Image
		require.NoError(t, json.Unmarshal(files[m.Config], &config))
		require.Equal(t, digest.FromBytes(files[m.Config]).Encoded()+".json", m.Config)
		for i, layer := range m.Layers {
			require.Equal(t, digest.FromBytes(files[layer]), config.RootFS.DiffIDs[i], "each diff id is the sha256 of its layer.tar")
		}
	}
}
