package layers

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/mydocker/mydocker/workspace"
)

// config is an image config as docker save writes one, naming its layers by their diff ids,
// with fields the OCI spec does not know: its bytes, not a re-encoding of them, are the id.
func config(diffIDs ...digest.Digest) []byte {
	ids, _ := json.Marshal(diffIDs)
	return []byte(`{"architecture":"amd64","config":{"Cmd":["sh"]},"container_config":{"Hostname":"x"},"docker_version":"20.10.24","os":"linux","rootfs":{"type":"layers","diff_ids":` + string(ids) + `}}`)
}

// entry is one image of a manifest.json.
type entry struct {
	Config   string
	RepoTags []string
	Layers   []string
}

func manifestOf(entries ...entry) []byte {
	data, _ := json.Marshal(entries)
	return data
}

func TestReadDockerManifest(t *testing.T) {
	a, b := digest.FromString("layer a"), digest.FromString("layer b")
	c1, c2 := config(a, b), config(a)
	id1, id2 := digest.FromBytes(c1), digest.FromBytes(c2)
	manifest := manifestOf(
		entry{Config: id1.Encoded() + ".json", RepoTags: []string{"made:1", "busybox"}, Layers: []string{a.Encoded() + "/layer.tar", "./" + b.Encoded() + "/layer.tar"}},
		entry{Config: "./" + id2.Encoded() + ".json", Layers: []string{a.Encoded() + "/layer.tar"}},
	)
	configs := map[string][]byte{id1.Encoded() + ".json": c1, id2.Encoded() + ".json": c2, "repositories": []byte("{}")}
	got, err := ReadDockerManifest(manifest, configs)
	if err != nil {
		t.Fatalf("ReadDockerManifest: %v", err)
	}
	if len(got) != 2 {
		t.Fatalf("%d images, want 2: the manifest is an array with one object per image (HINTS.md, \"array\")", len(got))
	}
	for i, want := range []workspace.ArchiveImage{
		{ID: id1, Config: c1, Tags: []string{"made:1", "busybox:latest"}, Layers: []workspace.ArchiveLayer{
			{Path: a.Encoded() + "/layer.tar", DiffID: a}, {Path: b.Encoded() + "/layer.tar", DiffID: b}}},
		{ID: id2, Config: c2, Layers: []workspace.ArchiveLayer{{Path: a.Encoded() + "/layer.tar", DiffID: a}}},
	} {
		img := got[i]
		if img.ID != want.ID {
			t.Errorf("image %d: the id is %s, want %s, the sha256 of its config's bytes (HINTS.md, \"id\")", i, img.ID, want.ID)
		}
		if !bytes.Equal(img.Config, want.Config) {
			t.Errorf("image %d: the config is %q, want the archive's bytes as they are, %q (HINTS.md, \"id\")", i, img.Config, want.Config)
		}
		if !slices.Equal(img.Layers, want.Layers) {
			t.Errorf("image %d: the layers are %v,\nwant %v: each path of the manifest, cleaned, with the diff id at the same place in the config (HINTS.md, \"pairs\")", i, img.Layers, want.Layers)
		}
		if len(img.Tags) != len(want.Tags) || len(want.Tags) > 0 && !slices.Equal(img.Tags, want.Tags) {
			t.Errorf("image %d: the tags are %q, want %q (HINTS.md, \"tags\")", i, img.Tags, want.Tags)
		}
	}
}

func TestReadDockerManifestRefuses(t *testing.T) {
	a, b := digest.FromString("layer a"), digest.FromString("layer b")
	good := config(a, b)
	id := digest.FromBytes(good)
	name := id.Encoded() + ".json"
	layers := []string{a.Encoded() + "/layer.tar", b.Encoded() + "/layer.tar"}
	tampered := bytes.Replace(good, []byte(`"sh"`), []byte(`"bash"`), 1)
	badDiffID := []byte(strings.Replace(string(good), a.String(), "sha256:not-hex", 1))
	for _, c := range []struct {
		what     string
		manifest []byte
		configs  map[string][]byte
		quote    string // the error must name it
		hint     string
	}{
		{"a config changed since it was named", manifestOf(entry{Config: name, Layers: layers}), map[string][]byte{name: tampered}, id.Encoded(), "tampered"},
		{"a config the archive lacks", manifestOf(entry{Config: name, Layers: layers}), map[string][]byte{}, id.Encoded(), "lacks"},
		{"fewer layers than the config names", manifestOf(entry{Config: name, Layers: layers[:1]}), map[string][]byte{name: good}, "", "count"},
		{"more layers than the config names", manifestOf(entry{Config: name, Layers: append(layers, "c/layer.tar")}), map[string][]byte{name: good}, "", "count"},
		{"a diff id that is no digest", manifestOf(entry{Config: digest.FromBytes(badDiffID).Encoded() + ".json", Layers: layers}),
			map[string][]byte{digest.FromBytes(badDiffID).Encoded() + ".json": badDiffID}, "", "diff id"},
		{"a tag that is no name", manifestOf(entry{Config: name, Layers: layers, RepoTags: []string{"Bad Name:1"}}), map[string][]byte{name: good}, "", "tags"},
		{"an object, not an array", []byte(`{"Config":"` + name + `"}`), map[string][]byte{name: good}, "", "array"},
	} {
		got, err := ReadDockerManifest(c.manifest, c.configs)
		switch {
		case err == nil:
			t.Errorf("%s: %d image(s), <nil>: it must be an error, or load would record an image that is not what the archive says (HINTS.md, %q)", c.what, len(got), c.hint)
		case strings.Contains(err.Error(), "not implemented"):
			t.Fatalf("%s: %v", c.what, err)
		case c.quote != "" && !strings.Contains(err.Error(), c.quote):
			t.Errorf("%s: the error %q does not name %s (HINTS.md, %q)", c.what, err, c.quote, c.hint)
		}
	}
}

// TestLoadWithYourManifest saves two images of a store and loads the archive into another
// with your ReadDockerManifest in the image store: the same ids, the files there; and an
// archive whose config was changed is refused, leaving nothing.
func TestLoadWithYourManifest(t *testing.T) {
	workspace.Seams.ReadDockerManifest = ReadDockerManifest
	t.Cleanup(func() { workspace.Seams.ReadDockerManifest = nil })
	store := openStore(t)
	base, err := store.Import(layer(t, map[string]string{"bin/sh": "#!", "etc/motd": "hello\n"}), "base:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	img, err := store.Commit(base, layer(t, map[string]string{"made": "made\n"}), "made:1", base.Config.Config, "a file")
	if err != nil {
		t.Fatal(err)
	}
	var archive bytes.Buffer
	if err := store.SaveDockerArchive(&archive, "made:1", "base:1"); err != nil {
		t.Fatal(err)
	}

	other := openStore(t)
	loaded, err := other.LoadArchive(bytes.NewReader(archive.Bytes()), nil)
	if err != nil {
		t.Fatalf("load the archive: %v", err)
	}
	if len(loaded) != 2 || loaded[0].ID != img.ID || loaded[1].ID != base.ID {
		t.Fatalf("loaded %v, want made:1 as %s and base:1 as %s: an image keeps its id (HINTS.md, \"id\")", loaded, img.ID, base.ID)
	}
	got, err := other.Get("made:1")
	if err != nil {
		t.Fatalf("the loaded image's tag: %v (HINTS.md, \"tags\")", err)
	}
	dirs, err := other.LayerDirs(got)
	if err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(filepath.Join(dirs[1], "made")); err != nil || string(data) != "made\n" {
		t.Errorf("the top layer holds %q, %v; want made's file (HINTS.md, \"pairs\")", data, err)
	}

	bad := openStore(t)
	if _, err := bad.LoadArchive(bytes.NewReader(withConfigChanged(t, archive.Bytes())), nil); err == nil {
		t.Errorf("an archive whose config was changed loaded: its id would not be its config's sha256 (HINTS.md, \"tampered\")")
	}
	if images, _ := bad.List(); len(images) > 0 {
		t.Errorf("a refused archive left %d image(s) in the store", len(images))
	}
}

func openStore(t *testing.T) *workspace.Store {
	t.Helper()
	s, err := workspace.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// layer is a layer tar of the files (and the directories above them).
func layer(t *testing.T, files map[string]string) io.Reader {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	names := slices.Sorted(maps.Keys(files))
	dirs := map[string]bool{}
	for _, n := range names {
		if d := filepath.Dir(n); d != "." && !dirs[d] {
			dirs[d] = true
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755}); err != nil {
				t.Fatal(err)
			}
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: n, Mode: 0o755, Size: int64(len(files[n]))}); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, files[n]); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf
}

// withConfigChanged is a docker-archive with one byte of each image config changed, under
// its old name.
func withConfigChanged(t *testing.T, archive []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	tr := tar.NewReader(bytes.NewReader(archive))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(hdr.Name, ".json") && hdr.Name != "manifest.json" {
			var c ocispec.Image
			if err := json.Unmarshal(data, &c); err != nil {
				t.Fatalf("%s: %v", hdr.Name, err)
			}
			data = bytes.Replace(data, []byte(`"os":"linux"`), []byte(`"os":"LINUX"`), 1)
		}
		hdr.Size = int64(len(data))
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}
