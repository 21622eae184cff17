package workspace

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/require"
)

// imageConfig is the config of an image made of layers, as a pull would fetch it.
func imageConfig(t *testing.T, layers ...digest.Digest) []byte {
	t.Helper()
	data, err := json.Marshal(ocispec.Image{
		Platform: ocispec.Platform{Architecture: "amd64", OS: "linux"},
		RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: layers},
	})
	require.NoError(t, err)
	return data
}

// A pull (or load) that finds a layer in the store, or stores one, holds it until its image is
// recorded: an rmi of the only image that named it, in between, keeps it. Without the lease,
// rmi took the layer and the pull recorded an image whose layer was missing.
func TestLeaseHoldsLayersUntilTheImageIsRecorded(t *testing.T) {
	for _, tc := range []struct {
		name string
		hold func(l *Lease, raw []byte) (digest.Digest, error)
	}{
		{"found in the store", func(l *Lease, raw []byte) (digest.Digest, error) {
			d := digest.FromBytes(raw)
			has, err := l.HoldLayer(d)
			if !has {
				return "", err
			}
			return d, err
		}},
		{"stored again", func(l *Lease, raw []byte) (digest.Digest, error) { return l.AddLayer(bytes.NewReader(raw)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(t.TempDir())
			require.NoError(t, err)
			raw := buildTar(t, entry{name: "f", body: "the layer"}).Bytes()
			_, err = s.Import(bytes.NewReader(raw), "old", nil)
			require.NoError(t, err)

			l, err := s.NewLease()
			require.NoError(t, err)
			d, err := tc.hold(l, raw)
			require.NoError(t, err)
			_, deleted, err := s.Remove("old", false, notInUse)
			require.NoError(t, err)
			require.Len(t, deleted, 1, "the image goes")
			require.True(t, s.HasLayer(d), "its layer stays: the lease holds it")

			img, err := s.AddImage(imageConfig(t, d), []string{"new:latest"})
			require.NoError(t, err)
			require.NoError(t, l.Release())
			_, err = s.LayerDirs(img)
			require.NoError(t, err, "the image recorded has its layer")
			_, _, err = s.Remove("new", false, notInUse)
			require.NoError(t, err)
			require.False(t, s.HasLayer(d), "the last image takes the layer along once no lease holds it")
		})
	}
}

// Two pulls of the same image: the first stores a layer, the second finds it; the first
// fails and discards what it added, the second records its image with the layer.
func TestDiscardKeepsWhatAnotherLeaseHolds(t *testing.T) {
	s, err := Open(t.TempDir())
	require.NoError(t, err)
	first, err := s.NewLease()
	require.NoError(t, err)
	d, err := first.AddLayer(buildTar(t, entry{name: "f", body: "pulled"}))
	require.NoError(t, err)
	second, err := s.NewLease()
	require.NoError(t, err)
	has, err := second.HoldLayer(d)
	require.NoError(t, err)
	require.True(t, has)

	require.NoError(t, first.Discard())
	require.True(t, s.HasLayer(d), "the other pull holds it")
	_, err = s.AddImage(imageConfig(t, d), []string{"img:latest"})
	require.NoError(t, err)
	require.NoError(t, second.Release())

	// A failed pull alone takes what it added along.
	third, err := s.NewLease()
	require.NoError(t, err)
	lone, err := third.AddLayer(buildTar(t, entry{name: "g", body: "failed"}))
	require.NoError(t, err)
	require.NoError(t, third.Discard())
	require.False(t, s.HasLayer(lone))
	require.True(t, s.HasLayer(d), "and nothing an image names")
	leases, err := os.ReadDir(s.leasesDir())
	require.NoError(t, err)
	require.Empty(t, leases, "every lease ended")
}

// A lease whose process died (its file, unlocked) holds nothing: Sweep removes its file, the
// layers only it held, and what crashed unpacks and removals left in tmp/; it keeps what a
// live lease works on.
func TestSweepRemovesWhatCrashesLeft(t *testing.T) {
	s, err := Open(t.TempDir())
	require.NoError(t, err)
	img, err := s.Import(buildTar(t, entry{name: "f", body: "kept"}), "kept", nil)
	require.NoError(t, err)

	dead, err := s.NewLease()
	require.NoError(t, err)
	orphan, err := dead.AddLayer(buildTar(t, entry{name: "f", body: "orphan"}))
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Join(s.dir, "tmp", dead.name+"-layer-123", "diff"), 0o755))
	dead.lock.Unlock() // its process died: the kernel let go of the lock, the file stays

	live, err := s.NewLease()
	require.NoError(t, err)
	defer live.Release()
	held, err := live.AddLayer(buildTar(t, entry{name: "f", body: "being pulled"}))
	require.NoError(t, err)
	unpacking := filepath.Join(s.dir, "tmp", live.name+"-layer-456")
	require.NoError(t, os.Mkdir(unpacking, 0o755))
	require.NoError(t, os.Mkdir(filepath.Join(s.dir, "tmp", "removing-"+orphan.Encoded()), 0o755))

	removed, err := s.Sweep()
	require.NoError(t, err)
	require.Equal(t, []digest.Digest{orphan}, removed)
	require.False(t, s.HasLayer(orphan))
	require.True(t, s.HasLayer(held), "a live lease's layer stays")
	require.True(t, s.HasLayer(img.Config.RootFS.DiffIDs[0]), "an image's layer stays")
	require.DirExists(t, unpacking, "a live lease's unpack stays")
	tmp, err := os.ReadDir(filepath.Join(s.dir, "tmp"))
	require.NoError(t, err)
	require.Len(t, tmp, 1, "the dead lease's unpack and the half-removed layer go")
	_, err = os.Stat(filepath.Join(s.leasesDir(), dead.name))
	require.ErrorIs(t, err, os.ErrNotExist, "the dead lease's file goes")
}

// An unreadable lease refuses a delete rather than guessing what it holds.
func TestUnreadableLeaseRefusesDeletes(t *testing.T) {
	s, err := Open(t.TempDir())
	require.NoError(t, err)
	_, err = s.Import(buildTar(t, entry{name: "f", body: "x"}), "img", nil)
	require.NoError(t, err)
	l, err := s.NewLease()
	require.NoError(t, err)
	defer l.Release()
	_, err = l.lock.File().WriteString("not a digest\n")
	require.NoError(t, err)
	_, _, err = s.Remove("img", false, notInUse)
	require.ErrorContains(t, err, "read lease")
	img, err := s.Get("img")
	require.NoError(t, err, "the image is kept, tag and all")
	_, err = s.LayerDirs(img)
	require.NoError(t, err)
}
