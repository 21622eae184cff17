package build

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/patternmatcher"
	"github.com/stretchr/testify/require"
)

func TestHashFileReadsContentNotTimes(t *testing.T) {
	base := FileMeta{Name: "app.conf", Mode: 0o644, Size: 5}
	hash := func(m FileMeta, body string) string {
		h, err := HashFile(m, strings.NewReader(body))
		require.NoError(t, err)
		return h
	}
	h := hash(base, "hello")
	require.Equal(t, h, hash(base, "hello"), "the same file hashes the same (FileMeta holds no times)")
	for name, m := range map[string]FileMeta{
		"another name":  {Name: "other.conf", Mode: 0o644, Size: 5},
		"another mode":  {Name: "app.conf", Mode: 0o600, Size: 5},
		"another owner": {Name: "app.conf", Mode: 0o644, UID: 1000, Size: 5},
		"a symlink":     {Name: "app.conf", Mode: fs.ModeSymlink | 0o777, Linkname: "x"},
	} {
		require.NotEqual(t, h, hash(m, "hello"), name)
	}
	require.NotEqual(t, h, hash(base, "hellO"), "another content")
}

func TestParseErrorsNameFileAndLine(t *testing.T) {
	for _, tc := range []struct{ dockerfile, want string }{
		{"FROM busybox\n\nFOO bar\n", "dockerfile parse error on line 3 of Dockerfile.dev: unknown instruction: FOO"},
		{"FROM busybox\nRUN --mount=type=cache,target=/x true\n", "dockerfile parse error on line 2 of Dockerfile.dev: RUN --mount is not supported"},
		{"RUN true\n", "dockerfile parse error on line 1 of Dockerfile.dev"},
		{"FROM busybox\nCOPY <<EOF /x\nhi\nEOF\n", "dockerfile parse error on line 2 of Dockerfile.dev: here-documents are not supported"},
	} {
		_, err := parseDockerfile([]byte(tc.dockerfile), "Dockerfile.dev", "", nil, io.Discard)
		var pe *ParseError
		require.True(t, errors.As(err, &pe), "%q: %v", tc.dockerfile, err)
		require.Contains(t, err.Error(), tc.want)
	}
}

func TestStepsTargetAndLabels(t *testing.T) {
	df := "ARG V=1\nFROM busybox AS a\nRUN true\nFROM busybox AS b\nRUN true\nRUN true\nFROM a\n"
	d, err := parseDockerfile([]byte(df), "Dockerfile", "", map[string]string{"b": "2", "a": "1"}, io.Discard)
	require.NoError(t, err)
	require.Equal(t, 1+3+3+2, d.steps(), "ARG before FROM, each FROM, each instruction, the --label LABELs")
	last := d.stages[len(d.stages)-1].Commands
	require.Equal(t, "LABEL a=1", last[0].(*instructions.LabelCommand).String(), "labels in key order, on the last stage")

	d, err = parseDockerfile([]byte(df), "Dockerfile", "B", nil, io.Discard)
	require.NoError(t, err)
	require.Len(t, d.stages, 2, "--target stops at the stage named (case-insensitively)")
	_, err = parseDockerfile([]byte(df), "Dockerfile", "nope", nil, io.Discard)
	require.EqualError(t, err, "failed to reach build target nope in Dockerfile")
}

func TestBuildArgsAsDocker(t *testing.T) {
	v := func(s string) *string { return &s }
	a := newBuildArgs(map[string]*string{"GIVEN": v("cli"), "HTTP_PROXY": v("http://proxy"), "UNUSED": v("x"), "NOVALUE": nil})
	a.addMeta("META", v("m"))
	s := a.forStage()
	s.addArg("GIVEN", v("default"))
	s.addArg("DEFAULTED", v("d"))
	s.addArg("META", nil)
	s.addArg("NOVALUE", nil)
	env := []string{"PATH=/bin", "DEFAULTED=from-env"}
	require.Equal(t, []string{"GIVEN=cli", "HTTP_PROXY=http://proxy", "META=m"}, s.filterAllowed(env),
		"--build-arg over a default, the meta value for an ARG without one, ENV over an arg, a proxy without being declared")
	require.Equal(t, []string{"|2", "GIVEN=cli", "META=m", "/bin/sh", "-c", "true"}, s.prependOnCmd(s.filterAllowed(env), []string{"/bin/sh", "-c", "true"}),
		"RUN's history and cache key name the args, sorted, the undeclared proxy left out")
	a.mergeReferenced(s)
	require.Equal(t, []string{"UNUSED"}, a.unused())
}

func TestPortSpecs(t *testing.T) {
	got, err := portSpecs("8080")
	require.NoError(t, err)
	require.Equal(t, []string{"8080/tcp"}, got)
	got, err = portSpecs("53/UDP")
	require.NoError(t, err)
	require.Equal(t, []string{"53/udp"}, got)
	got, err = portSpecs("7000-7002")
	require.NoError(t, err)
	require.Equal(t, []string{"7000/tcp", "7001/tcp", "7002/tcp"}, got)
	for _, bad := range []string{"http", "80/icmp", "90-80", "70000"} {
		_, err := portSpecs(bad)
		require.Error(t, err, bad)
	}
}

// context makes a build context tree of files (a body "-> T" is a symlink to T).
func context(t *testing.T, files map[string]string, ignore string) *contextTree {
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		if target, ok := strings.CutPrefix(body, "-> "); ok {
			require.NoError(t, os.Symlink(target, p))
			continue
		}
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	}
	root, err := os.OpenRoot(dir)
	require.NoError(t, err)
	t.Cleanup(func() { root.Close() })
	c := &contextTree{root: root, keep: map[string]bool{}}
	if ignore != "" {
		pm, err := patternmatcher.New(strings.Split(ignore, "\n"))
		require.NoError(t, err)
		c.ignore = pm
	}
	return c
}

func TestContextSymlinksResolveInside(t *testing.T) {
	outside := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(outside, "secret"), []byte("host"), 0o600))
	c := context(t, map[string]string{
		"etc/passwd": "ctx passwd",
		"abs":        "-> /etc/passwd",
		"up":         "-> ../../../../etc/passwd",
		"out":        "-> " + outside,
		"dir/rel":    "-> ../etc/passwd",
		"loop":       "-> loop",
	}, "")
	for _, name := range []string{"abs", "up", "dir/rel"} {
		p, err := c.Resolve(name)
		require.NoError(t, err, name)
		require.Equal(t, "/etc/passwd", p, "%s leads to the context's /etc/passwd", name)
	}
	_, err := c.Resolve("out/secret")
	require.ErrorIs(t, err, fs.ErrNotExist, "a link to the host's directory leads nowhere in the context")
	_, err = c.Resolve("loop")
	require.Error(t, err)
	_, err = c.Open("abs")
	require.Error(t, err, "Open never follows the last component")
}

func TestFindSources(t *testing.T) {
	c := context(t, map[string]string{"a.txt": "a", "b.txt": "b", "c.log": "c", "dir/x": "x", "dir/secret": "s"}, "*.log\n**/secret")
	srcs, err := findSources(c, "*.txt", copyInstruction{name: "COPY"})
	require.NoError(t, err)
	require.Len(t, srcs, 2)
	require.Equal(t, "a.txt", srcs[0].orig)
	require.True(t, strings.HasPrefix(srcs[0].hash, "file:"))
	_, err = findSources(c, "c.log", copyInstruction{name: "COPY"})
	require.ErrorIs(t, err, errNotFound, ".dockerignore leaves it out")
	dir, err := findSources(c, "dir", copyInstruction{name: "COPY"})
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(dir[0].hash, "dir:"))
	require.NoError(t, os.WriteFile(filepath.Join(c.root.Name(), "dir", "secret"), []byte("changed"), 0o644))
	again, err := findSources(c, "dir", copyInstruction{name: "COPY"})
	require.NoError(t, err)
	require.Equal(t, dir[0].hash, again[0].hash, "what .dockerignore leaves out is not part of the hash")
	_, err = findSources(c, "http://example.com/x", copyInstruction{name: "ADD", add: true})
	require.ErrorContains(t, err, "a build reaches no network")
}

// layerOf runs write on a layer writer over no image and returns the entries it wrote.
func layerOf(t *testing.T, write func(w *layerWriter) error) map[string]*tar.Header {
	var buf bytes.Buffer
	w := newLayerWriter(&buf, nil, func() {})
	require.NoError(t, write(w))
	require.NoError(t, w.close())
	out := map[string]*tar.Header{}
	tr := tar.NewReader(&buf)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		require.NoError(t, err)
		out[hdr.Name] = hdr
	}
}

func TestCopyByDockersRules(t *testing.T) {
	c := context(t, map[string]string{"f.txt": "f", "d/one": "1", "d/sub/two": "2"}, "")
	file, err := findSource(c, "f.txt")
	require.NoError(t, err)
	dir, err := findSource(c, "d")
	require.NoError(t, err)
	own := owner{set: true, uid: 1000, gid: 1000}

	l := layerOf(t, func(w *layerWriter) error { return copyOne(w, c, file, "/opt/app/", own, 0, false) })
	require.Contains(t, l, "opt/app/f.txt", "a destination ending in / is a directory")
	require.Equal(t, 1000, l["opt/app/"].Uid, "a file's new parents are owned as the file")
	require.EqualValues(t, 0o755, l["opt/"].Mode)

	l = layerOf(t, func(w *layerWriter) error { return copyOne(w, c, file, "/opt/renamed", own, 0o700, false) })
	require.Contains(t, l, "opt/renamed")
	require.EqualValues(t, 0o700, l["opt/renamed"].Mode, "--chmod")

	l = layerOf(t, func(w *layerWriter) error { return copyOne(w, c, dir, "/srv/data", own, 0, false) })
	require.Contains(t, l, "srv/data/one", "a directory's contents go into the destination")
	require.Contains(t, l, "srv/data/sub/two")
	require.Equal(t, 0, l["srv/"].Uid, "a directory's new parents are root's")
	require.Equal(t, 1000, l["srv/data/"].Uid, "the directory copied into is the owner's")

	l = layerOf(t, func(w *layerWriter) error { return w.mkdirAll("/a/b", 0, 0) })
	require.Len(t, l, 2)
	require.Empty(t, layerOf(t, func(*layerWriter) error { return nil }), "nothing written: no tar")
}
