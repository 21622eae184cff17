package workspace

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/require"
)

// child records, under lease l, an image on parent with one more layer (body as a file).
func child(t *testing.T, s *Store, l *Lease, parent *Image, key, body string) *Image {
	t.Helper()
	d, err := l.AddLayer(buildTar(t, entry{name: key, body: body}))
	require.NoError(t, err)
	c := parent.Config
	now := time.Now().UTC()
	c.Created = &now
	c.RootFS.DiffIDs = append(append([]digest.Digest{}, c.RootFS.DiffIDs...), d)
	img, err := s.AddChild(l, parent.ID, c, dockerspec.DockerOCIImageConfigExt{}, key)
	require.NoError(t, err)
	return img
}

func TestBuildChainAndCache(t *testing.T) {
	s, err := Open(t.TempDir())
	require.NoError(t, err)
	base, err := s.Import(buildTar(t, entry{name: "bin/sh", body: "sh"}), "base", nil)
	require.NoError(t, err)
	l, err := s.NewLease()
	require.NoError(t, err)
	a := child(t, s, l, base, "step-a", "a")
	b := child(t, s, l, a, "step-b", "b")
	require.Equal(t, base.ID, s.Parent(a.ID))
	require.Equal(t, a.ID, s.Parent(b.ID))

	hit, err := s.Cached(l, a.ID, "step-b")
	require.NoError(t, err)
	require.Equal(t, b.ID, hit.ID, "the same parent and key: a hit")
	for _, miss := range []struct {
		parent digest.Digest
		key    string
	}{{base.ID, "step-b"}, {a.ID, "step-c"}, {"", "step-b"}} {
		img, err := s.Cached(l, miss.parent, miss.key)
		require.NoError(t, err)
		require.Nil(t, img, "%v", miss)
	}
	newer := child(t, s, l, a, "step-b", "b2")
	hit, err = s.Cached(l, a.ID, "step-b")
	require.NoError(t, err)
	require.Equal(t, newer.ID, hit.ID, "of two, the newest")
	require.NoError(t, l.Release())

	parents, err := s.WithChildren()
	require.NoError(t, err)
	require.Equal(t, map[digest.Digest]bool{base.ID: true, a.ID: true}, parents)

	_, _, err = s.Remove(a.ID.String(), true, notInUse)
	require.ErrorContains(t, err, "image has dependent child images", "an image others were built on is not deleted by id, even forced")
	require.NoError(t, s.Tag(b.ID, "app"))
	require.NoError(t, s.Tag(a.ID, "mid"))
	untagged, deleted, err := s.Remove("mid", false, notInUse)
	require.NoError(t, err)
	require.Equal(t, []string{"mid:latest"}, untagged)
	require.Empty(t, deleted, "its last tag only untags it: it stays under its children")

	_, deleted, err = s.Remove(newer.ID.String(), false, notInUse)
	require.NoError(t, err)
	require.Equal(t, []digest.Digest{newer.ID}, deleted, "its parent has another child: it stays")
	_, deleted, err = s.Remove("app", false, notInUse)
	require.NoError(t, err)
	require.Equal(t, []digest.Digest{b.ID, a.ID}, deleted, "the untagged parents nothing else keeps go with it")
	_, err = s.Get("base")
	require.NoError(t, err, "a tagged parent stays")
	layers, err := os.ReadDir(filepath.Join(s.dir, "layers", "sha256"))
	require.NoError(t, err)
	require.Len(t, layers, 1, "their layers went with them")
	metas, err := os.ReadDir(filepath.Join(s.dir, "meta", "sha256"))
	require.NoError(t, err)
	require.Empty(t, metas)
}

func TestPickCached(t *testing.T) {
	entries := []CacheEntry{
		{ID: "sha256:old", Parent: "sha256:p", Key: "k", Created: 1},
		{ID: "sha256:new", Parent: "sha256:p", Key: "k", Created: 2},
		{ID: "sha256:other", Parent: "sha256:q", Key: "k", Created: 3},
		{ID: "sha256:scratch", Parent: "", Key: "k", Created: 4},
	}
	require.Equal(t, digest.Digest("sha256:new"), PickCached(entries, "sha256:p", "k"))
	require.Equal(t, digest.Digest("sha256:scratch"), PickCached(entries, "", "k"), "FROM scratch is a parent too")
	require.Equal(t, digest.Digest(""), PickCached(entries, "sha256:p", "other"))
}

func TestLeaseHoldsImages(t *testing.T) {
	s, err := Open(t.TempDir())
	require.NoError(t, err)
	_, err = s.Import(buildTar(t, entry{name: "f", body: "x"}), "held", nil)
	require.NoError(t, err)
	l, err := s.NewLease()
	require.NoError(t, err)
	img, err := l.HoldImage("held")
	require.NoError(t, err)
	_, _, err = s.Remove("held", false, notInUse)
	require.ErrorIs(t, err, ErrImageInUse)
	require.ErrorContains(t, err, "a build is using it")
	untagged, deleted, err := s.Remove("held", true, notInUse)
	require.NoError(t, err)
	require.Equal(t, []string{"held:latest"}, untagged)
	require.Empty(t, deleted, "forced, an image a build holds is only untagged")
	require.NoError(t, l.Release())
	_, deleted, err = s.Remove(img.ID.String(), false, notInUse)
	require.NoError(t, err)
	require.Equal(t, []digest.Digest{img.ID}, deleted, "once the lease ends, it can go")
}

func TestDockerConfigAdditionsKept(t *testing.T) {
	s, err := Open(t.TempDir())
	require.NoError(t, err)
	base, err := s.Import(buildTar(t, entry{name: "f", body: "x"}), "", nil)
	require.NoError(t, err)
	l, err := s.NewLease()
	require.NoError(t, err)
	ext := dockerspec.DockerOCIImageConfigExt{OnBuild: []string{"RUN true"}, Shell: []string{"/bin/bash", "-c"},
		Healthcheck: &dockerspec.HealthcheckConfig{Test: []string{"CMD", "true"}, Retries: 3}}
	img, err := s.AddChild(l, base.ID, base.Config, ext, "k")
	require.NoError(t, err)
	require.NoError(t, l.Release())
	got, err := s.Get(img.ID.String())
	require.NoError(t, err)
	require.Equal(t, ext, got.Docker)
	require.Equal(t, base.Config.Config, got.Config.Config, "the OCI config is read as before")
	committed, err := s.Commit(got, buildTar(t, entry{name: "g", body: "y"}), "", got.Config.Config, "")
	require.NoError(t, err)
	require.Equal(t, ext, committed.Docker, "commit keeps them")
	raw, err := s.RawConfig(base)
	require.NoError(t, err)
	require.NotContains(t, string(raw), "Healthcheck", "an image without them is stored as before")
}

func TestUnionReadsTheMergedView(t *testing.T) {
	s, err := Open(t.TempDir())
	require.NoError(t, err)
	img, err := s.Import(buildTar(t,
		entry{name: "etc/", typ: tar.TypeDir, mode: 0o755},
		entry{name: "etc/app.conf", body: "lower"},
		entry{name: "etc/gone", body: "gone"},
		entry{name: "etc/link", typ: tar.TypeSymlink, link: "/etc/app.conf"},
		entry{name: "up", typ: tar.TypeSymlink, link: "../../../etc"},
	), "", nil)
	require.NoError(t, err)
	top, err := s.Commit(img, buildTar(t,
		entry{name: "etc/", typ: tar.TypeDir, mode: 0o700},
		entry{name: "etc/app.conf", body: "upper"},
		entry{name: "etc/.wh.gone", body: ""},
		entry{name: "etc/new", body: "new"},
	), "", img.Config.Config, "")
	require.NoError(t, err)
	layers, err := s.LayerDirs(top)
	require.NoError(t, err)
	u := NewUnion(layers)
	names := func(dir string) []string {
		fis, err := u.ReadDir(dir)
		require.NoError(t, err)
		var out []string
		for _, fi := range fis {
			out = append(out, fi.Name())
		}
		return out
	}
	require.Equal(t, []string{"app.conf", "link", "new"}, names("/etc"), "merged, whiteouts applied")
	require.Equal(t, []string{"etc", "up"}, names("/"))
	require.Equal(t, []string{"app.conf", "link", "new"}, names("/up"), "a directory named through a symlink, resolved inside")
	fi, err := u.Lstat("/etc")
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), fi.Mode().Perm(), "the top-most layer's directory")
	p, err := u.Resolve("/up/link")
	require.NoError(t, err)
	require.Equal(t, "/etc/app.conf", p)
	f, err := u.Open("/up/link")
	require.NoError(t, err)
	var buf bytes.Buffer
	buf.ReadFrom(f)
	f.Close()
	require.Equal(t, "upper", buf.String())
	_, err = u.Lstat("/etc/gone")
	require.ErrorIs(t, err, os.ErrNotExist)
	target, err := u.Readlink("/etc/link")
	require.NoError(t, err)
	require.Equal(t, "/etc/app.conf", target)
}
