package cache

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/mydocker/mydocker/engine"
	"github.com/mydocker/mydocker/engine/build"
	"github.com/mydocker/mydocker/internal/labtest"
	"github.com/mydocker/mydocker/workspace"
)

// hash is your HashFile of meta and body (no content when body is nil).
func hash(t *testing.T, meta build.FileMeta, body *string) string {
	t.Helper()
	var content io.Reader
	if body != nil {
		content = strings.NewReader(*body)
	}
	h, err := HashFile(meta, content)
	if err != nil {
		t.Fatalf("HashFile(%+v): %v", meta, err)
	}
	return h
}

func TestHashFile(t *testing.T) {
	s := func(v string) *string { return &v }
	base := build.FileMeta{Name: "app.conf", Mode: 0o644, Size: 5}
	h := hash(t, base, s("hello"))
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(h) {
		t.Fatalf("HashFile = %q: want the sha256 in hex, 64 characters (HINTS.md, \"hex\")", h)
	}
	if again := hash(t, base, s("hello")); again != h {
		t.Fatalf("the same file hashed %s, then %s: the hash must depend on the file alone (HINTS.md, \"same\")", h, again)
	}
	for _, c := range []struct {
		what, hint string
		meta       build.FileMeta
		body       *string
	}{
		{"another content", "content", base, s("hellO")},
		{"another name", "fields", build.FileMeta{Name: "app.cfg", Mode: 0o644, Size: 5}, s("hello")},
		{"another mode", "fields", build.FileMeta{Name: "app.conf", Mode: 0o600, Size: 5}, s("hello")},
		{"another owner", "fields", build.FileMeta{Name: "app.conf", Mode: 0o644, UID: 1000, GID: 1000, Size: 5}, s("hello")},
		{"another group", "fields", build.FileMeta{Name: "app.conf", Mode: 0o644, GID: 1000, Size: 5}, s("hello")},
		{"a directory of that name", "fields", build.FileMeta{Name: "app.conf", Mode: fs.ModeDir | 0o644}, nil},
		{"a symlink", "fields", build.FileMeta{Name: "app.conf", Mode: fs.ModeSymlink | 0o644, Linkname: "hello"}, nil},
	} {
		if got := hash(t, c.meta, c.body); got == h {
			t.Errorf("%s hashes as the file does: a COPY of it would reuse the wrong layer (HINTS.md, %q)", c.what, c.hint)
		}
	}
	links := []string{
		hash(t, build.FileMeta{Name: "l", Mode: fs.ModeSymlink | 0o777, Linkname: "a"}, nil),
		hash(t, build.FileMeta{Name: "l", Mode: fs.ModeSymlink | 0o777, Linkname: "b"}, nil),
	}
	if links[0] == links[1] {
		t.Errorf("two symlinks to different targets hash the same (HINTS.md, \"fields\")")
	}
	// Fields run together: the name "ab" and the content "c", the name "a" and the content "bc".
	glued := []string{
		hash(t, build.FileMeta{Name: "ab", Mode: 0o644, Size: 1}, s("c")),
		hash(t, build.FileMeta{Name: "a", Mode: 0o644, Size: 1}, s("bc")),
		hash(t, build.FileMeta{Name: "a", Mode: 0o644, UID: 11, Size: 1}, s("c")),
		hash(t, build.FileMeta{Name: "a", Mode: 0o644, UID: 1, GID: 1, Size: 1}, s("c")),
	}
	for i := range glued {
		for j := i + 1; j < len(glued); j++ {
			if glued[i] == glued[j] {
				t.Errorf("two different files (cases %d and %d) hash the same: their fields run together (HINTS.md, \"separate\")", i, j)
			}
		}
	}
}

// pick is your PickCached, its "not implemented" panic turned into a test failure.
func pick(t *testing.T, entries []workspace.CacheEntry, parent digest.Digest, key string) digest.Digest {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatal(r)
		}
	}()
	return PickCached(entries, parent, key)
}

func TestPickCached(t *testing.T) {
	p, q := digest.FromString("parent"), digest.FromString("other parent")
	img := func(s string) digest.Digest { return digest.FromString(s) }
	entries := []workspace.CacheEntry{
		{ID: img("old"), Parent: p, Key: "COPY", Created: 100},
		{ID: img("new"), Parent: p, Key: "COPY", Created: 200},
		{ID: img("mid"), Parent: p, Key: "COPY", Created: 150},
		{ID: img("run"), Parent: p, Key: "RUN", Created: 300},
		{ID: img("elsewhere"), Parent: q, Key: "ENV", Created: 400},
		{ID: img("scratch"), Parent: "", Key: "COPY", Created: 500},
	}
	for _, c := range []struct {
		parent     digest.Digest
		key        string
		want, hint string
	}{
		{p, "COPY", "new", "newest"},
		{p, "RUN", "run", "key"},
		{p, "ENV", "", "parent"},
		{q, "COPY", "", "key"},
		{"", "COPY", "scratch", "parent"},
		{"", "RUN", "", "parent"},
	} {
		want := digest.Digest("")
		if c.want != "" {
			want = img(c.want)
		}
		if got := pick(t, entries, c.parent, c.key); got != want {
			t.Errorf("PickCached(parent %.19s, key %q) = %.19s, want %.19s (%s) (HINTS.md, %q)", c.parent, c.key, got, want, c.want, c.hint)
		}
	}
	if got := pick(t, nil, p, "COPY"); got != "" {
		t.Errorf("PickCached of no images = %s, want \"\"", got)
	}
}

// TestCacheOfABuild builds, with your functions in the builder and the image store, a
// Dockerfile of COPYs four times: from nothing, again, with a file touched, with one changed.
func TestCacheOfABuild(t *testing.T) {
	labtest.RequiresRoot(t)
	hash(t, build.FileMeta{Name: "x"}, nil)
	pick(t, nil, "", "")
	build.Seams.HashFile, workspace.Seams.PickCached = HashFile, PickCached
	t.Cleanup(func() { build.Seams.HashFile, workspace.Seams.PickCached = nil, nil })

	ctx := t.TempDir()
	for name, body := range map[string]string{
		"Dockerfile": "FROM scratch\nCOPY a.txt /a.txt\nCOPY b.txt /b.txt\nCMD [\"/b.txt\"]\n",
		"a.txt":      "a\n", "b.txt": "b\n",
	} {
		if err := os.WriteFile(filepath.Join(ctx, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e, err := engine.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	run := func() (id digest.Digest, cached []bool) {
		t.Helper()
		out, err := os.CreateTemp(t.TempDir(), "build")
		if err != nil {
			t.Fatal(err)
		}
		defer out.Close()
		img, err := build.Build(e, build.Options{Context: ctx, Network: "none", Remove: true, Out: out})
		printed, _ := os.ReadFile(out.Name())
		if err != nil {
			t.Fatalf("the build failed: %v\n%s", err, printed)
		}
		for _, line := range strings.Split(string(printed), "\n") {
			switch {
			case strings.HasPrefix(line, "Step "):
				cached = append(cached, false)
			case line == " ---> Using cache":
				cached[len(cached)-1] = true
			}
		}
		return img.ID, cached
	}
	first, cached := run()
	if want := []bool{false, false, false, false}; !equal(cached, want) {
		t.Fatalf("the first build's steps came from the cache %v, want %v: nothing was built before (HINTS.md, \"parent\")", cached, want)
	}
	again, cached := run()
	if want := []bool{false, true, true, true}; !equal(cached, want) || again != first {
		t.Fatalf("a second build: steps from the cache %v, want %v; image %.19s, want %.19s (HINTS.md, \"same\", \"key\")", cached, want, again, first)
	}
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(filepath.Join(ctx, "a.txt"), later, later); err != nil {
		t.Fatal(err)
	}
	touched, cached := run()
	if want := []bool{false, true, true, true}; !equal(cached, want) || touched != first {
		t.Fatalf("after touch a.txt: steps from the cache %v, want %v; image %.19s, want %.19s: a file touched is the same file (HINTS.md, \"same\")", cached, want, touched, first)
	}
	if err := os.WriteFile(filepath.Join(ctx, "b.txt"), []byte("B\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	changed, cached := run()
	if want := []bool{false, true, false, false}; !equal(cached, want) || changed == first {
		t.Fatalf("after b.txt changed: steps from the cache %v, want %v: its COPY and every step after it must run again (HINTS.md, \"content\")", cached, want)
	}
}

func equal(a, b []bool) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
