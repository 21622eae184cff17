package workspace

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tarOf builds a seed archive.
func tarOf(entries ...tar.Header) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range entries {
		h := h
		body := []byte(nil)
		if h.Typeflag == tar.TypeReg {
			body = []byte("content")
			h.Size = int64(len(body))
		}
		tw.WriteHeader(&h)
		tw.Write(body)
	}
	tw.Close()
	return buf.Bytes()
}

// FuzzUnpackLayer feeds the unpacker any archive: whatever it holds, nothing is written
// outside the layer's directory, and it never panics.
func FuzzUnpackLayer(f *testing.F) {
	for _, seed := range [][]tar.Header{
		{{Name: "etc/passwd", Typeflag: tar.TypeReg, Mode: 0o644}},
		{{Name: "../escape", Typeflag: tar.TypeReg, Mode: 0o644}},
		{{Name: "/abs", Typeflag: tar.TypeReg, Mode: 0o644}},
		{{Name: "evil", Typeflag: tar.TypeSymlink, Linkname: "/"}, {Name: "evil/x", Typeflag: tar.TypeReg, Mode: 0o644}},
		{{Name: "up", Typeflag: tar.TypeSymlink, Linkname: "../.."}, {Name: "up/x", Typeflag: tar.TypeReg, Mode: 0o644}},
		{{Name: "link", Typeflag: tar.TypeLink, Linkname: "../../outside"}},
		{{Name: "dir/", Typeflag: tar.TypeDir, Mode: 0o755}, {Name: "dir/.wh.file", Typeflag: tar.TypeReg}, {Name: "dir/.wh..wh..opq", Typeflag: tar.TypeReg}},
		{{Name: ".wh.../../x", Typeflag: tar.TypeReg}},
	} {
		f.Add(tarOf(seed...))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		base := t.TempDir()
		dest := filepath.Join(base, "layer")
		sentinel := filepath.Join(base, "sentinel")
		if err := os.Mkdir(sentinel, 0o755); err != nil {
			t.Fatal(err)
		}
		unpackLayer(bytes.NewReader(data), dest)
		entries, err := os.ReadDir(base)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.Name() != "layer" && e.Name() != "sentinel" {
				t.Fatalf("the archive wrote %s beside the layer", e.Name())
			}
		}
		if left, _ := os.ReadDir(sentinel); len(left) > 0 {
			t.Fatalf("the archive wrote into a sibling of the layer: %v", left)
		}
	})
}

// FuzzWhiteoutTarget: a whiteout names a file of its own directory, never a path out of it.
func FuzzWhiteoutTarget(f *testing.F) {
	for _, s := range []string{"a/.wh.b", ".wh..wh..opq", "x/.wh..wh..opq", ".wh.", ".wh.../x", "a/b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		target, opaque, ok, err := whiteoutTarget(name)
		if err != nil || !ok || opaque {
			return
		}
		if filepath.Dir(target) != filepath.Dir(name) || strings.Contains(filepath.Base(target), "/") || filepath.Base(target) == ".." {
			t.Fatalf("whiteout %q deletes %q, outside its directory", name, target)
		}
	})
}

// FuzzParseVolume: an accepted volume has absolute, clean paths and never targets "/".
func FuzzParseVolume(f *testing.F) {
	for _, s := range []string{"/a:/b", "/a:/b:ro", "a:/b", "/a:/", "/a:/b:rx", "/a/../b:/c/./d", ":::"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseVolume(s)
		if err != nil {
			return
		}
		if !filepath.IsAbs(m.Source) || !filepath.IsAbs(m.Destination) || m.Destination == "/" ||
			filepath.Clean(m.Destination) != m.Destination || filepath.Clean(m.Source) != m.Source {
			t.Fatalf("ParseVolume(%q) accepted %+v", s, m)
		}
	})
}

// FuzzNormalizeRef: an accepted reference has one name and one tag, and normalizing it again
// changes nothing.
func FuzzNormalizeRef(f *testing.F) {
	for _, s := range []string{"busybox", "busybox:1.36", "localhost:5000/app:v1", "UPPER", "a/../b", "x:y:z", "registry.example/a/b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ref, err := normalizeRef(s)
		if err != nil {
			return
		}
		again, err := normalizeRef(ref)
		if err != nil || again != ref {
			t.Fatalf("normalizeRef(%q) = %q, which normalizes to %q, %v", s, ref, again, err)
		}
		name := ref[:strings.LastIndex(ref, ":")] // the tag follows the last colon
		if strings.Contains(name, "..") || strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") {
			t.Fatalf("normalizeRef(%q) = %q: a path, not a name", s, ref)
		}
	})
}
