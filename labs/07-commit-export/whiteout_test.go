package whiteout

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/mydocker/mydocker/internal/labtest"
	"github.com/mydocker/mydocker/workspace"
)

func TestWhiteoutTarget(t *testing.T) {
	for _, c := range []struct {
		name, target string
		opaque, ok   bool
	}{
		{"etc/.wh.group", "etc/group", false, true},
		{".wh.motd", "motd", false, true},
		{"a/b/.wh..hidden", "a/b/.hidden", false, true}, // a dotfile deleted
		{"var/spool/.wh..wh..opq", "var/spool", true, true},
		{".wh..wh..opq", ".", true, true}, // the layer's root is opaque
		{"etc/passwd", "", false, false},
		{"etc/wh.group", "", false, false},
		{"etc/.whgroup", "", false, false},
		{"etc/.wh.d/file", "", false, false}, // only the last element counts
	} {
		target, opaque, ok, err := WhiteoutTarget(c.name)
		if err != nil {
			t.Fatalf("WhiteoutTarget(%q): %v", c.name, err)
		}
		if target != c.target || opaque != c.opaque || ok != c.ok {
			t.Errorf("WhiteoutTarget(%q) = %q, opaque %v, ok %v; want %q, %v, %v (HINTS.md, %q)",
				c.name, target, opaque, ok, c.target, c.opaque, c.ok, hintFor(c.name))
		}
	}
	for _, bad := range []string{"etc/.wh.", ".wh..", "etc/.wh..."} {
		if target, _, _, err := WhiteoutTarget(bad); err == nil {
			t.Errorf("WhiteoutTarget(%q) = %q, <nil>: a whiteout that names no file must be an error, or a layer could delete its own directory or the one above (HINTS.md, \"names no file\")", bad, target)
		} else if !strings.Contains(err.Error(), bad) {
			t.Errorf("WhiteoutTarget(%q): the error %q does not quote the entry", bad, err)
		}
	}
}

func hintFor(name string) string {
	if strings.Contains(name, ".wh..wh..opq") {
		return "opaque"
	}
	return "prefix"
}

func TestIsWhiteout(t *testing.T) {
	labtest.RequiresRoot(t)
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		make func(path string) error
		want bool
	}{
		{"whiteout", func(p string) error { return unix.Mknod(p, unix.S_IFCHR, 0) }, true},
		{"null", func(p string) error { return unix.Mknod(p, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))) }, false},
		{"block-0-0", func(p string) error { return unix.Mknod(p, unix.S_IFBLK, 0) }, false},
		{"fifo", func(p string) error { return unix.Mkfifo(p, 0o600) }, false},
		{"empty-file", func(p string) error { return os.WriteFile(p, nil, 0) }, false},
		{"dir", func(p string) error { return os.Mkdir(p, 0) }, false},
		{"symlink", func(p string) error { return os.Symlink("/dev/null", p) }, false},
	} {
		path := filepath.Join(dir, c.name)
		if err := c.make(path); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Lstat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := isWhiteout(t, fi); got != c.want {
			t.Errorf("IsWhiteout(%s) = %v, want %v (HINTS.md, \"device number\")", c.name, got, c.want)
		}
	}
}

// TestLayerOnLayer stores a layer that deletes a file and replaces a directory's contents over
// one that has them, with your functions in the image store, and reads the image back.
func TestLayerOnLayer(t *testing.T) {
	labtest.RequiresRoot(t)
	useMine(t)
	store, err := workspace.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	base, err := store.Import(layer(t, "etc/group", "etc/passwd", "var/spool/mail/old", "var/spool/cron"), "base", nil)
	if err != nil {
		t.Fatalf("import the base layer: %v", err)
	}
	img, err := store.Commit(base, layer(t, "etc/.wh.group", "var/spool/.wh..wh..opq", "var/spool/new", "root/note"), "top", base.Config.Config, "")
	if err != nil {
		t.Fatalf("store a layer with whiteouts: %v", err)
	}
	layers, err := store.LayerDirs(img)
	if err != nil {
		t.Fatal(err)
	}
	// The top layer, unpacked as overlayfs stores deletions.
	top := layers[len(layers)-1]
	if fi, err := os.Lstat(filepath.Join(top, "etc/group")); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		t.Errorf("the unpacked layer has no 0/0 device at etc/group (%v): .wh.group was not turned into overlay's whiteout (HINTS.md, \"prefix\")", err)
	}
	if _, err := os.Lstat(filepath.Join(top, "etc/.wh.group")); err == nil {
		t.Errorf("the unpacked layer kept etc/.wh.group as a file: WhiteoutTarget did not see a whiteout")
	}
	files := exported(t, layers)
	want := []string{"etc/passwd", "root/note", "var/spool/new"}
	if !slices.Equal(files, want) {
		t.Errorf("the image's files are %q, want %q: a deleted file must be gone (HINTS.md, \"prefix\"), and an opaque directory shows only its own layer's entries (HINTS.md, \"opaque\")", files, want)
	}
}

// TestDiff writes a container's upper directory, as overlayfs leaves it, as a layer tar.
func TestDiff(t *testing.T) {
	labtest.RequiresRoot(t)
	useMine(t)
	dir := t.TempDir()
	upper := filepath.Join(dir, "upper")
	for _, d := range []string{"etc", "var/spool"} {
		if err := os.MkdirAll(filepath.Join(upper, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := unix.Mknod(filepath.Join(upper, "etc/group"), unix.S_IFCHR, 0); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(upper, "etc/passwd"), []byte("root:x:0:0::/root:/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mknod(filepath.Join(upper, "var/spool/null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
		t.Fatal(err)
	}
	driver, err := workspace.NewDriver("overlay")
	if err != nil {
		t.Fatal(err)
	}
	changes, err := driver.Changes(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer changes.Close()
	names, err := tarNames(changes)
	if err != nil {
		t.Fatalf("write the changes: %v", err)
	}
	want := []string{"etc/", "etc/.wh.group", "etc/passwd", "var/", "var/spool/", "var/spool/null"}
	if !slices.Equal(names, want) {
		t.Errorf("the layer tar has %q, want %q: overlay's 0/0 device becomes a .wh. entry, any other device stays a device (HINTS.md, \"device number\")", names, want)
	}
}

// isWhiteout is your IsWhiteout, its "not implemented" panic turned into a test failure.
func isWhiteout(t *testing.T, fi os.FileInfo) bool {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatal(r)
		}
	}()
	return IsWhiteout(fi)
}

// useMine puts your functions in the image store for the test, once both are written: the
// store calls IsWhiteout where a panic could not be turned into a failure.
func useMine(t *testing.T) {
	t.Helper()
	fi, err := os.Lstat(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	isWhiteout(t, fi)
	workspace.Seams.WhiteoutTarget, workspace.Seams.IsWhiteout = WhiteoutTarget, IsWhiteout
	t.Cleanup(func() { workspace.Seams.WhiteoutTarget, workspace.Seams.IsWhiteout = nil, nil })
}

// layer is a layer tar of the named empty files (and the directories above them).
func layer(t *testing.T, files ...string) io.Reader {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	for _, f := range files {
		for d := filepath.Dir(f); d != "."; d = filepath.Dir(d) {
			dirs[d] = true
		}
	}
	var sorted []string
	for d := range dirs {
		sorted = append(sorted, d)
	}
	slices.Sort(sorted)
	for _, d := range sorted {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755}); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f, Mode: 0o644}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf
}

// exported lists the regular files of the image's merged view, as export writes it (for a
// container that wrote nothing: its directory is empty).
func exported(t *testing.T, layers []string) []string {
	driver, err := workspace.NewDriver("overlay")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := driver.Export(t.TempDir(), layers, &buf); err != nil {
		t.Fatalf("export the image: %v", err)
	}
	names, err := tarNames(&buf)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, n := range names {
		if !strings.HasSuffix(n, "/") {
			files = append(files, n)
		}
	}
	return files
}

func tarNames(r io.Reader) ([]string, error) {
	var names []string
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return names, nil
		}
		if err != nil {
			return names, err
		}
		names = append(names, strings.TrimPrefix(h.Name, "./"))
	}
}
